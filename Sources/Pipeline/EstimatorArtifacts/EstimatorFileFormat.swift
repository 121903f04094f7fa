public import SteeringCore

/// A file format a fitted effect model can be read from. Add a conformer to ``EstimatorFiles/formats``
/// to support another one (a PyTorch `.pt` reader is planned).
public protocol EstimatorFileFormat: Sendable {
    /// Short name used in messages and import provenance (`safetensors`).
    var name: String { get }
    /// Whether this format handles `path` (by extension; the file is not opened).
    func handles(path: String) -> Bool
    /// Reads `M` `[d_model, d_sae]` and `b` `[d_sae]` from the file.
    /// - Throws: An error naming the file and tensor when the contents are not an effect model.
    func read(path: String) throws -> LinearEffectModel
}

/// The known estimator file formats.
public enum EstimatorFiles {
    /// Every supported format, tried in order.
    public static let formats: [any EstimatorFileFormat] = [SafetensorsEstimatorFormat()]

    /// The format that handles `path`.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` listing the supported formats.
    public static func format(for path: String, among formats: [any EstimatorFileFormat] = formats)
        throws(PipelineError) -> any EstimatorFileFormat
    {
        guard let format = formats.first(where: { $0.handles(path: path) }) else {
            throw .invalidInput(
                what: "estimator file \(path)",
                problem: "no reader handles it; supported formats: \(formats.map(\.name).joined(separator: ", "))")
        }
        return format
    }

    /// Reads the effect model in `path` with the first format that handles it.
    public static func load(_ path: String, among formats: [any EstimatorFileFormat] = formats) throws
        -> LinearEffectModel
    {
        try format(for: path, among: formats).read(path: path)
    }
}
