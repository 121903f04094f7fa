import ArgumentParser
import ArtifactStore
import Foundation
import Pipeline
import SteeringCore
import SteeringPlugins

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole SAE-TS method on the embedded demo model and write an HTML report.",
        discussion: """
            Measures the effects of probe vectors (decoder rows of the wider demo SAE) with per-vector scale \
            calibration, fits the ridge and linear-adam estimators and compares them, builds CAA, SAE-direct and \
            SAE-TS vectors for the demo tasks, sweeps scales scored by the offline judges (task lexicon for \
            behaviour, the unsteered model's log-likelihood for coherence), and writes the report. Protocol sizes \
            are reduced to fit in minutes on two cores (the report states them); --full uses the method's sizes. \
            Everything is cached in the store, so a second run only reads.
            """)

    @Option(help: "The demo assets (model, SAEs, tasks, calibration text).")
    var demoDirectory = "Demo"

    @Option(help: "Artifact store of the demo.")
    var store = ".steer-demo/store"

    @Option(help: "Where the report is written.")
    var report = ".steer-demo/report"

    @Option(help: "Probe vectors (rows of the wider SAE) to measure.")
    var probes = 128

    @Option(help: "Completions per evaluation cell (default 32; 256 with --full).")
    var samples: Int?

    @Option(help: "Steered rollouts per prompt when measuring effects (default 8; 64 with --full).")
    var rollouts: Int?

    @Flag(
        help:
            "Use the method's own protocol sizes (14 prompts × 64 rollouts, baseline ×10, 2 × 64 calibration sequences, 256 samples per cell)."
    )
    var full = false

    func validate() throws {
        guard probes >= 16 else {
            throw ValidationError("--probes must be at least 16 (the estimators need training rows).")
        }
    }

    func run() async throws {
        let started = ProgressReporter.now()
        let assets = try DemoAssets(directory: demoDirectory)
        try FileManager.default.createDirectory(
            atPath: (store as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var configuration = MethodDemo.Configuration.embedded(assets: assets, reportDirectory: report, full: full)
        configuration.probes = probes
        if let samples { configuration.samples = samples }
        if let rollouts { configuration.rolloutsPerPrompt = rollouts }
        let demo = MethodDemo(
            registry: Steer.registry, store: try ArtifactStore(path: store), log: { printError($0) },
            progress: { ProgressReporter(label: $0, total: $1, unit: $2) })
        let output = try await demo.run(configuration)
        print(output.estimatorTable)
        print(output.evaluationTable)
        printError(
            String(format: "demo finished in %.0f s; report: %@", ProgressReporter.now() - started, output.report.html))
        print(output.report.html)
    }
}
