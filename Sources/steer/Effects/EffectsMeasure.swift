import ArgumentParser
import Foundation
import Pipeline
import SteeringCore
import SteeringPlugins
import TensorFormats

struct EffectsMeasure: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Measure the SAE-feature effect of many steering vectors, resumably and shardably.",
        discussion: """
            --vectors is decoder-rows:SAE_PATH[:START-END] (unit decoder rows of any SAE at the same site, like the \
            method's 65k-SAE probes) or a .npy file of vectors [N, d_model]. Each finished effect is committed at \
            once; a rerun skips what is stored. --shard i/N (or SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or \
            JOB_COMPLETION_INDEX with STEER_SHARD_COUNT) takes every N-th vector; `steer store merge` unions shards.
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var sae: SAEOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var measurement: MeasurementOptions

    @Option(help: "decoder-rows:SAE_PATH[:START-END] or FILE.npy.")
    var vectors: String

    @Option(help: "Part of the job to run, i/N.")
    var shard: String?

    @Flag(help: "Print one line per finished effect (label, scale, key) on standard output.")
    var printKeys = false

    func run() async throws {
        let backend = try model.load()
        let dictionary = try sae.load()
        guard let site = dictionary.descriptor.site else {
            throw ValidationError("The SAE's layer is unknown; pass --sae-layer.")
        }
        let probes = try loadVectors(width: backend.descriptor.hiddenSize, site: site)
        let store = try storeOptions.open(readOnly: false, create: true)
        let measurer = try EffectMeasurer(
            model: backend, dictionary: dictionary, store: store,
            measurement: try measurement.measurementProtocol(layer: site.layer),
            scaling: try measurement.scaling(model: backend))
        let shard =
            try shard.map { try Shard(parsing: $0) } ?? Shard.fromEnvironment(ProcessInfo.processInfo.environment)
            ?? .all
        let job = EffectJob(measurer: measurer, vectors: probes, shard: shard)
        let assigned = probes.indices.filter { shard.contains($0) }.count
        let progress = ProgressReporter(label: "effects (shard \(shard))", total: assigned, unit: "vectors")
        let report = try job.run(progress: progress) { vector, effect in
            if printKeys {
                // Written unbuffered so a supervising process sees each line as soon as the effect is committed.
                FileHandle.standardOutput.write(
                    Data("\(vector.label)\tscale=\(effect.scale)\t\(effect.effectKey.hex)\n".utf8))
            }
        }
        let perHour = report.measured > 0 ? Double(report.measured) / report.seconds * 3600 : 0
        printError(
            "shard \(shard): \(report.assigned) vectors, \(report.measured) measured, \(report.skipped) already stored, "
                + "\(report.failures.count) failed, "
                + String(format: "%.1f s (%.1f vectors/hour)", report.seconds, perHour))
        for failure in report.failures { printError("failed: \(failure.label): \(failure.reason)") }
        if !report.failures.isEmpty { throw ExitCode(2) }
    }

    private func loadVectors(width: Int, site: ActivationSite) throws -> [ProbeVector] {
        if vectors.hasPrefix("decoder-rows:") {
            var spec = String(vectors.dropFirst("decoder-rows:".count))
            var range: Range<Int>?
            if let colon = spec.lastIndex(of: ":"), spec[spec.index(after: colon)...].contains("-") {
                let bounds = spec[spec.index(after: colon)...].split(separator: "-")
                guard bounds.count == 2, let start = Int(bounds[0]), let end = Int(bounds[1]), start < end else {
                    throw ValidationError("--vectors: range must be START-END with START < END, e.g. 0-1000.")
                }
                range = start..<end
                spec = String(spec[..<colon])
            }
            let probes = try PluginRegistry.standard.dictionary("jumprelu", PluginOptions(path: spec))
            if let probeSite = probes.descriptor.site, probeSite != site {
                throw ValidationError(
                    "--vectors: \(spec) is an SAE of \(probeSite), but effects are measured at \(site); "
                        + "probe directions must come from an SAE at the same site.")
            }
            guard probes.descriptor.inputWidth == width else {
                throw ValidationError(
                    "--vectors: \(spec) has d_model \(probes.descriptor.inputWidth) but the model's is \(width).")
            }
            return try ProbeVector.decoderRows(of: probes, range: range ?? 0..<probes.descriptor.featureCount)
        }
        let array = try NPY.read(path: vectors)
        let values = try array.floats()
        let matrix: Matrix
        switch array.shape.count {
        case 1: matrix = Matrix(rows: 1, columns: array.shape[0], values: values)
        case 2: matrix = Matrix(rows: array.shape[0], columns: array.shape[1], values: values)
        default: throw ValidationError("--vectors \(vectors): expected [N, d_model], got shape \(array.shape).")
        }
        guard matrix.columns == width else {
            throw ValidationError(
                "--vectors \(vectors): vectors have \(matrix.columns) values but d_model is \(width).")
        }
        let digest = try FileFingerprint.digest(ofFile: vectors)
        return try ProbeVector.rows(of: matrix, source: digest, label: (vectors as NSString).lastPathComponent)
    }
}
