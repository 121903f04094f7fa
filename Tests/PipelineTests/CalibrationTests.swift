import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import Testing

@Suite("Scale calibration")
struct CalibrationTests {
    @Test("a synthetic curve: stops at the first scale above the target and interpolates linearly")
    func syntheticCrossing() throws {
        var visited = [Float]()
        let result = try ScaleCalibration.calibrate(settings: CalibrationSettings(target: .absolute(4.0))) { scale in
            visited.append(scale)
            return 3.5 + Double(scale * scale) / 4000  // 3.5 at 0; 4.0 at √2000 ≈ 44.72
        }
        #expect(visited == [0, 20, 40, 60], "the walk stops at the first scale above the target")
        // Linear interpolation between (40, 3.9) and (60, 4.4): 40 + 0.1·20/0.5 = 44.
        #expect(abs(result.scale - 44) < 1e-4)
        #expect(!result.extrapolated)
        #expect(result.losses.count == 4)
    }

    @Test("the target can be relative to the unsteered loss")
    func relativeTarget() throws {
        let result = try ScaleCalibration.calibrate(settings: CalibrationSettings(target: .aboveBaseline(0.5))) {
            scale in
            2.0 + Double(scale) / 100
        }
        #expect(result.targetLoss == 2.5)
        #expect(abs(result.scale - 50) < 1e-4)
    }

    @Test("a target never reached is extrapolated from the last two points")
    func extrapolation() throws {
        let result = try ScaleCalibration.calibrate(settings: CalibrationSettings(target: .absolute(10))) { scale in
            Double(scale) / 100
        }
        #expect(result.extrapolated)
        #expect(abs(result.scale - 1000) < 1e-2)
    }

    @Test("a flat curve or a bad grid is a clear error")
    func failures() {
        #expect(throws: PipelineError.self) {
            try ScaleCalibration.calibrate(settings: CalibrationSettings(target: .aboveBaseline(0.5))) { _ in 3 }
        }
        #expect(throws: PipelineError.self) {
            try ScaleCalibration.calibrate(settings: CalibrationSettings(grid: [0], target: .absolute(1))) { _ in 3 }
        }
        #expect(throws: PipelineError.self) {
            try ScaleCalibration.calibrate(settings: CalibrationSettings(target: .absolute(1))) { _ in .nan }
        }
    }

    @Test("on a real tiny model the calibrated scale lands on the measured loss curve's crossing")
    func realModel() throws {
        let model = try PipelineFixtures.model()
        let set = try CalibrationSet(
            path: try PipelineFixtures.calibrationFile(), model: model,
            spec: CalibrationSetSpec(sequenceLength: 32, batchSize: 4, batchCount: 2, seed: 1))
        #expect(set.batches.count == 2 && set.batches.allSatisfy { $0.count == 4 && $0.allSatisfy { $0.count == 32 } })
        #expect(set.batches.allSatisfy { $0.allSatisfy { $0[0] == model.descriptor.bosToken } })
        let sae = try PipelineFixtures.sae()
        let vector = try PipelineFixtures.probes(sae, 5..<6)[0]
        func loss(_ scale: Float) throws -> Double {
            let interventions = [Intervention(site: ActivationSite(layer: 1), vector: vector.values, scale: scale)]
            return try set.batches.map { try model.nextTokenLoss(sequences: $0, interventions: interventions) }
                .map { $0.reduce(0, +) / Double($0.count) }.reduce(0, +) / 2
        }
        let grid: [Float] = [0, 1, 2, 3, 4, 5, 6]
        let curve = try grid.map(loss)
        // A target between the loss at scales 2 and 3 (where the curve rises) must be found there.
        guard let i = (1..<grid.count).first(where: { curve[$0] > curve[$0 - 1] + 1e-3 }) else {
            Issue.record("the loss does not rise with the scale on this model: \(curve)")
            return
        }
        let target = (curve[i - 1] + curve[i]) / 2
        let result = try ScaleCalibration.calibrate(
            settings: CalibrationSettings(grid: grid, target: .absolute(target)), loss: loss)
        #expect(result.scale > grid[i - 1] && result.scale < grid[i])
        let expected =
            grid[i - 1] + Float((target - curve[i - 1]) / (curve[i] - curve[i - 1])) * (grid[i] - grid[i - 1])
        #expect(abs(result.scale - expected) < 1e-4)
    }

    @Test("calibration files: JSONL, empty file, too little text")
    func calibrationFiles() throws {
        let model = try PipelineFixtures.model()
        let dir = try makeTemporaryDirectory("calib-files")
        let jsonl = dir + "/c.jsonl"
        let docs = (0..<30).map { "{\"text\": \"the cat sat on the mat number \($0) and the dog ran away fast\"}" }
        try docs.joined(separator: "\n").write(toFile: jsonl, atomically: true, encoding: .utf8)
        let set = try CalibrationSet(path: jsonl, model: model, spec: CalibrationSetSpec(batchSize: 2, batchCount: 2))
        #expect(set.batches.count == 2)
        try "".write(toFile: dir + "/empty.txt", atomically: true, encoding: .utf8)
        #expect(throws: PipelineError.self) { try CalibrationSet(path: dir + "/empty.txt", model: model) }
        #expect(throws: PipelineError.self) { try CalibrationSet(path: jsonl, model: model) }
        try "{\"no\": 1}".write(toFile: dir + "/bad.jsonl", atomically: true, encoding: .utf8)
        #expect(throws: PipelineError.self) { try CalibrationSet(path: dir + "/bad.jsonl", model: model) }
    }
}
