/// The residual at one site for every position of some sequences, before that site's interventions,
/// computed once (blocks `0…layer`) and reused, e.g. by every scale of a calibration.
public struct SiteResiduals: Sendable {
    /// Where the rows were read.
    public let site: ActivationSite
    /// The sequences, in order.
    public let sequences: [[Int32]]
    /// Every position's row, sequence after sequence (`Σ lengths × width` values).
    public let rows: [Float]
    /// Values per row (the model's hidden size).
    public let width: Int

    public init(site: ActivationSite, sequences: [[Int32]], rows: [Float], width: Int) {
        self.site = site
        self.sequences = sequences
        self.rows = rows
        self.width = width
    }
}

/// A ``ModelBackend`` that can read the residual at a site while generating and resume a pass above
/// a site from stored residuals, so work below the site is done once (method.md §2: steering is added
/// *after* block L, so blocks `0…L` compute the same residual steered or not).
public protocol SiteReadoutBackend: ModelBackend {
    /// Generates as ``ModelBackend/generate(prompts:sampling:interventions:)`` and hands the residual
    /// at `site` (before that site's interventions) of every position of every returned sequence to
    /// `sink(groups[row], rows)`, in pieces, rows of one group together (order within unspecified).
    /// Row `i` gets `rowInterventions[i]` besides `interventions` and samples from stream `streams[i]`
    /// (``SplitMix64/init(seed:row:)``), so rows of several calls can share one batch and keep their
    /// tokens.
    func generate(
        prompts: [[Int32]], sampling: SamplingConfig, interventions: [Intervention], rowInterventions: [[Intervention]],
        streams: [Int], readingSite site: ActivationSite, groups: [Int], sink: (Int, Matrix) throws -> Void
    ) throws -> [[Int32]]

    /// The unsteered residual at `site` of every position of `sequences` (blocks `0…site.layer` run once).
    func siteResiduals(sequences: [[Int32]], site: ActivationSite) throws -> SiteResiduals

    /// ``ModelBackend/nextTokenLoss(sequences:interventions:)`` of `residuals.sequences`, running only
    /// the blocks above the stored site (its interventions are added to the stored rows); interventions
    /// below the site are refused.
    func nextTokenLoss(from residuals: SiteResiduals, interventions: [Intervention]) throws -> [Double]
}
