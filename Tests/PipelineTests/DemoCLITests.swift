import ArtifactStore
import Foundation
import SteeringTestSupport
import Testing

/// `steer demo` on a demo directory assembled from the tiny fixtures (the real embedded model is
/// checked by its own parity test): the whole method runs, the report is written, and a second run
/// reads everything from the store.
@Suite("steer demo, shortened")
struct DemoCLITests {
    func makeDemoDirectory() throws -> String {
        let dir = try makeTemporaryDirectory("demo-assets")
        let fm = FileManager.default
        try fm.copyItem(atPath: PipelineFixtures.modelPath, toPath: dir + "/model")
        for width in ["width_2k", "width_8k"] {
            let target = "\(dir)/sae/layer_1/\(width)/average_l0_20"
            try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
            try fm.copyItem(atPath: PipelineFixtures.saePath + "/params.npz", toPath: target + "/params.npz")
        }
        try fm.copyItem(atPath: try PipelineFixtures.calibrationFile(), toPath: dir + "/calibration.txt")
        try fm.createDirectory(atPath: dir + "/tasks", withIntermediateDirectories: true)
        let task: [String: Any] = [
            "name": "cats", "description": "cats", "layer": 1, "dictionary": "sae/layer_1/width_2k/average_l0_20",
            "targets": [["feature": 42, "weight": 1]], "saeDirectFeatures": [["feature": 42, "weight": 1]],
            "positivePrompts": ["the cat sat", "a cat ran", "cats and cats"],
            "negativePrompts": ["the house is big", "people live here", "then it ran"],
            "behaviourCriterion": "mentions cats", "coherenceCriterion": "The text is coherent and grammatical.",
            "lexicon": ["cat", "cats", "mat"], "featureEvidence": ["score": 0.5],
        ]
        try JSONSerialization.data(withJSONObject: task).write(to: URL(fileURLWithPath: dir + "/tasks/cats.json"))
        return dir
    }

    @Test("the shortened demo runs end to end on the embedded model, and a second run computes nothing")
    func embeddedDemo() throws {
        try run(assets: repositoryRoot.appendingPathComponent("Demo").path, probes: 16, cleanUp: false)
    }

    @Test("the demo command on assets assembled from the tiny fixtures (a task file in the recipe's layout)")
    func fixtureDemo() throws {
        try run(assets: try makeDemoDirectory(), probes: 40, cleanUp: true)
    }

    func run(assets: String, probes: Int, cleanUp: Bool) throws {
        guard let steer = BuiltProduct.steer() else { return }
        let work = try makeTemporaryDirectory("demo-run")
        defer {
            if cleanUp { try? FileManager.default.removeItem(atPath: assets) }
            try? FileManager.default.removeItem(atPath: work)
        }
        let arguments = [
            "demo", "--toy", "--demo-directory", assets, "--store", work + "/store", "--report", work + "/report", "--probes",
            "40",
            "--samples", "2", "--rollouts", "1",
        ]
        let first = try Subprocess.run(steer, arguments, timeout: 600)
        #expect(first.status == 0, "\(first.stderr)")
        let html = try String(contentsOfFile: work + "/report/index.html", encoding: .utf8)
        #expect(html.contains("Does SAE-TS beat SAE-direct and CAA?"))
        #expect(html.contains("data-strategy=\"sae-ts\"") && html.contains("data-strategy=\"caa\""))
        try expectSecondRunComputesNothing(steer, arguments, store: work + "/store", first: first, says: "0 measured")
    }
}

/// Runs `steer arguments` again after `first` and checks that it measured and computed nothing: its log says
/// `says` and "0 computed now", the store gained no artifact, and the results printed are the same.
func expectSecondRunComputesNothing(
    _ steer: String, _ arguments: [String], store: String, first: SubprocessResult, says: String
) throws {
    let count = try ArtifactStore(path: store, readOnly: true).count
    let second = try Subprocess.run(steer, arguments, timeout: 600)
    #expect(second.status == 0, "\(second.stderr)")
    #expect(second.stderr.contains(says), "\(second.stderr)")
    #expect(second.stderr.contains("0 computed now"), "\(second.stderr)")
    #expect(try ArtifactStore(path: store, readOnly: true).count == count, "no new artifact")
    #expect(second.stdout == first.stdout, "identical results from the cache")
}
