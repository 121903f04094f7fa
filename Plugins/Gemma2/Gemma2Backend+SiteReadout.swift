import SteeringCore
import TransformerRuntime

/// Effect measurement's shortcuts (capture during generation, calibration from cached site residuals),
/// forwarded to the shared runtime.
extension Gemma2Backend: SiteReadoutBackend {
    public func generate(
        prompts: [[Int32]], sampling: SamplingConfig, interventions: [Intervention], rowInterventions: [[Intervention]],
        streams: [Int], readingSite site: ActivationSite, groups: [Int], sink: (Int, Matrix) throws -> Void
    ) throws -> [[Int32]] {
        try runtime.generate(
            prompts: prompts, sampling: sampling, interventions: interventions, rowInterventions: rowInterventions,
            streams: streams, readLayer: site.layer, groups: groups, sink: sink)
    }

    public func siteResiduals(sequences: [[Int32]], site: ActivationSite) throws -> SiteResiduals {
        try runtime.siteResiduals(sequences: sequences, layer: site.layer)
    }

    public func nextTokenLoss(from residuals: SiteResiduals, interventions: [Intervention]) throws -> [Double] {
        try runtime.nextTokenLoss(from: residuals, interventions: interventions)
    }
}
