import ArgumentParser
import ArtifactStore
import Foundation
import Pipeline
import SteeringCore
import SteeringPlugins

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run the whole SAE-TS method on google/gemma-3-270m (or the embedded toy model) and write an HTML report.",
        discussion: """
            By default it works on google/gemma-3-270m (fetch it once with Scripts/fetch-gemma3-270m.sh) with the \
            dictionary, tasks and probe-effect dataset of Demo/gemma3-270m (Docs/Gemma3Demo.md): it measures 8 \
            shipped probes again and compares them with the shipped values, fits ridge, linear-adam and the \
            b-only floor and compares them on held-out effects, builds CAA, SAE-direct and SAE-TS vectors for \
            every task, sweeps scales scored by offline judges (the target features on the re-encoded \
            completion for behaviour, the task lexicon as a second opinion, the unsteered model's \
            log-likelihood for coherence), measures each final \
            vector's effect on its targets against the rest, and writes the report. With --toy it runs the \
            embedded 6.8 M model instead, measuring its probe effects with per-vector calibration (--full: the \
            method's sizes). Everything is cached in the store, so a second run only reads.
            """)

    @Flag(help: "Run on the embedded 6.8 M-parameter demo model (Demo/) instead of google/gemma-3-270m.")
    var toy = false

    @Option(help: "The google/gemma-3-270m GGUF (default: where Scripts/fetch-gemma3-270m.sh puts it).")
    var model: String?

    @Option(help: "The demo assets (default: Demo/gemma3-270m, or Demo with --toy).")
    var demoDirectory: String?

    @Option(help: "Artifact store of the demo.")
    var store = ".steer-demo/store"

    @Option(help: "Where the report is written.")
    var report = ".steer-demo/report"

    @Option(help: "Shipped probes measured again and compared with the shipped effects (Gemma-3).")
    var recheck = 8

    @Option(help: "Only these tasks (comma-separated names; default: every task file of the demo).")
    var tasks: String?

    @Option(
        help: "Scales of the sweep, comma-separated (default: 0, 80, 160, 240; --toy: relative to the residual norm).")
    var scales: String?

    @Option(
        name: .customLong("estimator-option"),
        help: ArgumentHelp(
            "An estimator's option as NAME.KEY=VALUE (repeatable), e.g. linear-adam.epochs=50.",
            discussion: "Replaces that key of the demo's own settings; `steer plugins` lists every option."))
    var estimatorOptions: [String] = []

    @Option(help: "--toy: probe vectors (rows of the wider SAE) to measure.")
    var probes = 128

    @Option(help: "Completions per evaluation cell (default 48; --toy: 32, 256 with --full).")
    var samples: Int?

    @Option(help: "--toy: steered rollouts per prompt when measuring effects (default 8; 64 with --full).")
    var rollouts: Int?

    @Flag(
        help:
            "--toy: use the method's own protocol sizes (14 prompts × 64 rollouts, baseline ×10, 2 × 64 calibration sequences, 256 samples per cell)."
    )
    var full = false

    func validate() throws {
        guard probes >= 16 else {
            throw ValidationError("--probes must be at least 16 (the estimators need training rows).")
        }
        if !toy, full || rollouts != nil {
            throw ValidationError(
                "--full and --rollouts apply to --toy; the Gemma-3 demo uses the protocol its shipped effects were measured with."
            )
        }
        guard recheck >= 0 else { throw ValidationError("--recheck must be ≥ 0.") }
    }

    func run() async throws {
        let started = ProgressReporter.now()
        try FileManager.default.createDirectory(
            atPath: (store as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var configuration: MethodDemo.Configuration
        if toy {
            let assets = try DemoAssets(directory: demoDirectory ?? "Demo")
            configuration = MethodDemo.Configuration.embedded(assets: assets, reportDirectory: report, full: full)
            configuration.probes = probes
            if let samples { configuration.samples = samples }
            if let rollouts { configuration.rolloutsPerPrompt = rollouts }
        } else {
            let cache = ProcessInfo.processInfo.environment["STEER_CACHE"] ?? ".cache"
            let assets = try DemoAssets(
                gemma3Directory: demoDirectory ?? "Demo/gemma3-270m",
                model: model ?? cache + "/gemma-3-270m/gemma-3-270m-q4_k_m.gguf")
            configuration = MethodDemo.Configuration.gemma3(
                assets: assets, effects: assets.effects!, reportDirectory: report, samples: samples ?? 48,
                recheck: recheck)
        }
        if let tasks {
            let wanted = tasks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let names = configuration.assets.taskNames
            for name in wanted where !names.contains(name) {
                throw ValidationError(
                    "--tasks: no task '\(name)' in the demo (\(names.joined(separator: ", "))).")
            }
            configuration.assets = configuration.assets.restricted(toTasks: wanted)
        }
        if let scales {
            let values = scales.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0?.isFinite == true }) else {
                throw ValidationError(
                    "--scales '\(scales)': expected finite numbers separated by commas, e.g. 0,40,80.")
            }
            configuration.sweepScales = values.compactMap { $0 }
        }
        let extra = try pluginOptionValues(estimatorOptions, kind: .estimator, flag: "--estimator-option")
        try checkPluginOptionsApply(extra, to: configuration.estimators, flag: "--estimator-option")
        for (name, values) in extra {
            configuration.estimatorOptions[name, default: [:]].merge(values) { _, new in new }
        }
        let demo = MethodDemo(
            registry: Steer.registry, store: try ArtifactStore(path: store), log: { printError($0) },
            progress: { ProgressReporter(label: $0, total: $1, unit: $2) })
        let output = try await demo.run(configuration)
        print(output.estimatorTable)
        print(output.evaluationTable)
        for opinion in output.secondOpinions {
            print("behaviour by \(opinion.judge) (second opinion, same completions):")
            print(EvaluationTable.text(opinion.result))
        }
        printError(
            String(format: "demo finished in %.0f s; report: %@", ProgressReporter.now() - started, output.report.html))
        print(output.report.html)
    }
}
