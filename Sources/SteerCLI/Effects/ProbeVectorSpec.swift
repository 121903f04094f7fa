import ArgumentParser
import Foundation
import Pipeline
import SteeringCore
import SteeringPlugins
import TensorFormats

/// The `--vectors` argument of `steer effects measure` and `steer effects status`:
/// `decoder-rows:SAE_PATH[:START-END]` or a `.npy` file of vectors `[N, d_model]`.
struct ProbeVectorSpec {
    /// The argument as given.
    let text: String

    init(_ text: String) { self.text = text }

    /// The probe vectors, in job order. `width` (the model's d_model) and `site` (the measuring SAE's)
    /// are checked when given; `steer effects status` loads no model and passes neither.
    func load(width: Int?, site: ActivationSite?) throws -> [ProbeVector] {
        if text.hasPrefix("decoder-rows:") {
            var spec = String(text.dropFirst("decoder-rows:".count))
            var range: Range<Int>?
            if let colon = spec.lastIndex(of: ":"), spec[spec.index(after: colon)...].contains("-") {
                let bounds = spec[spec.index(after: colon)...].split(separator: "-")
                guard bounds.count == 2, let start = Int(bounds[0]), let end = Int(bounds[1]), start < end else {
                    throw ValidationError("--vectors: range must be START-END with START < END, e.g. 0-1000.")
                }
                range = start..<end
                spec = String(spec[..<colon])
            }
            let probes = try Steer.registry.dictionary("jumprelu", PluginOptions(path: spec))
            if let site, let probeSite = probes.descriptor.site, probeSite != site {
                throw ValidationError(
                    "--vectors: \(spec) is an SAE of \(probeSite), but effects are measured at \(site); "
                        + "probe directions must come from an SAE at the same site.")
            }
            if let width, probes.descriptor.inputWidth != width {
                throw ValidationError(
                    "--vectors: \(spec) has d_model \(probes.descriptor.inputWidth) but the model's is \(width).")
            }
            return try ProbeVector.decoderRows(of: probes, range: range ?? 0..<probes.descriptor.featureCount)
        }
        let array = try NPY.read(path: text)
        let values = try array.floats()
        let matrix: Matrix
        switch array.shape.count {
        case 1: matrix = Matrix(rows: 1, columns: array.shape[0], values: values)
        case 2: matrix = Matrix(rows: array.shape[0], columns: array.shape[1], values: values)
        default: throw ValidationError("--vectors \(text): expected [N, d_model], got shape \(array.shape).")
        }
        if let width, matrix.columns != width {
            throw ValidationError("--vectors \(text): vectors have \(matrix.columns) values but d_model is \(width).")
        }
        let digest = try FileFingerprint.digest(ofFile: text)
        return try ProbeVector.rows(of: matrix, source: digest, label: (text as NSString).lastPathComponent)
    }
}
