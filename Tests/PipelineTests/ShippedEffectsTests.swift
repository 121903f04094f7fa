import Foundation
import SteeringTestSupport
import TensorFormats
import Testing

@testable import Pipeline

/// The shipped-dataset reader and the recheck's agreement rule (the live recheck itself runs in the
/// Gemma-3 demo test on the real model).
@Suite("Shipped effect datasets")
struct ShippedEffectsTests {
    @Test("one JumpReLU threshold crossing explains a difference of θ/positions, two explain 2θ/positions")
    func crossings() {
        // Measured on the Gemma-3 demo: feature 1778 (θ = 31.75) differed by 0.01772 over 1,792 positions.
        let rounding = ShippedEffects.tolerance(for: -2.68)
        #expect(ShippedEffects.crossings(explaining: 0.01772, theta: 31.75, positions: 1792, rounding: rounding) == 1)
        #expect(ShippedEffects.crossings(explaining: 0.0355, theta: 31.75, positions: 1792, rounding: rounding) == 2)
        #expect(ShippedEffects.crossings(explaining: 0.0100, theta: 31.75, positions: 1792, rounding: rounding) == nil)
        #expect(ShippedEffects.crossings(explaining: 0.0600, theta: 31.75, positions: 1792, rounding: rounding) == nil)
        #expect(ShippedEffects.tolerance(for: 64) == 64.0 / 1024 + 1e-3)
    }

    @Test("a dataset is read with its rows, scales and baseline; a file without them is refused by name")
    func reading() throws {
        let dir = try makeTemporaryDirectory("shipped")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func write(_ name: String, rows: Bool, baseline: Bool) throws -> String {
            var writer = SafetensorsWriter(metadata: baseline ? ["baseline": String(repeating: "ab", count: 32)] : [:])
            try writer.add("features", floats: [Float](repeating: 1, count: 12), shape: [3, 4])
            try writer.add("effects", floats: [Float](repeating: 0.5, count: 6), shape: [3, 2], as: .f16)
            try writer.add("scales", floats: [140, 140, 140], shape: [3])
            if rows { try writer.add("rows", int32s: [7, 3, 9], shape: [3]) }
            let path = "\(dir)/\(name).safetensors"
            try writer.write(to: path)
            return path
        }
        let good = try ShippedEffects(path: try write("good", rows: true, baseline: true))
        #expect(good.rows == [7, 3, 9] && good.scales == [140, 140, 140] && good.count == 3)
        #expect(good.sample(2, seed: 0).count == 2 && good.sample(2, seed: 0) == good.sample(2, seed: 0))
        #expect(good.sample(10, seed: 0) == [0, 1, 2])
        for (name, rows, baseline, fragment) in [
            ("norows", false, true, "no tensor 'rows'"), ("nobaseline", true, false, "names no baseline"),
        ] {
            let path = try write(name, rows: rows, baseline: baseline)
            #expect {
                _ = try ShippedEffects(path: path)
            } throws: { "\($0)".contains(fragment) && "\($0)".contains(path) }
        }
        #expect { _ = try ShippedEffects(path: dir + "/missing.safetensors") } throws: { "\($0)".contains("missing") }
    }
}
