import ArgumentParser
import Foundation
import Pipeline
import SteeringCore

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
        let site = try SAEOptions.site(of: dictionary)
        let probes = try ProbeVectorSpec(vectors).load(width: backend.descriptor.hiddenSize, site: site)
        let store = try storeOptions.open(readOnly: false, create: true)
        let measurer = try EffectMeasurer(
            model: backend, dictionary: dictionary, store: store,
            measurement: try measurement.measurementProtocol(layer: site.layer),
            scaling: try measurement.scaling(model: backend), execution: try measurement.measurementExecution(),
            batchRows: measurement.batchRows)
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
}
