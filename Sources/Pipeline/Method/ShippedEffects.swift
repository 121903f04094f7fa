import ArtifactStore
import Foundation
import SteeringCore
import TensorFormats

/// An effect dataset exported by `steer effects export` and shipped with a demo: the probes' decoder rows,
/// their scales and the baseline key of the measurement, next to the `features`/`effects` pairs. A demo
/// trusts it only after measuring some of its probes again (``recheck(_:rows:)``).
public struct ShippedEffects: Sendable {
    /// The file.
    public let path: String
    /// Each row's probe: its decoder row in the measuring dictionary.
    public let rows: [Int]
    /// Each row's scale.
    public let scales: [Float]
    /// Key of the baseline the effects are relative to (it names model, dictionary and protocol).
    public let baselineKey: String

    /// Reads the file's `rows`, `scales` and metadata.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` naming the file and what is missing.
    public init(path: String) throws {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: path) } catch {
            throw PipelineError.invalidInput(
                what: "effect dataset \(path)", problem: "cannot be read (\(error)); restore it with `git checkout`")
        }
        for name in ["rows", "scales", "features", "effects"] where !file.contains(name) {
            throw PipelineError.invalidInput(
                what: "effect dataset \(path)",
                problem:
                    "has no tensor '\(name)'; export it with `steer effects export`, which writes the probe rows and scales"
            )
        }
        guard let baseline = file.metadata["baseline"] else {
            throw PipelineError.invalidInput(
                what: "effect dataset \(path)",
                problem: "its metadata names no baseline; export it with `steer effects export`")
        }
        let rows = try file.int32s("rows").map(Int.init), scales = try file.floats("scales")
        guard rows.count == scales.count, rows.allSatisfy({ $0 >= 0 }) else {
            throw PipelineError.invalidInput(
                what: "effect dataset \(path)",
                problem:
                    "needs one decoder row ≥ 0 and one scale per effect (rows \(rows.count), scales \(scales.count))")
        }
        self.path = path
        self.rows = rows
        self.scales = scales
        self.baselineKey = baseline
    }

    /// The number of effects.
    public var count: Int { rows.count }

    /// `count` dataset rows drawn without replacement with a fixed seed, ascending.
    public func sample(_ count: Int, seed: UInt64) -> [Int] {
        var random = SplitMix64(seed: seed)
        return Array(random.permutation(rows.count).prefix(min(count, rows.count))).sorted()
    }

    /// The probe vectors of dataset rows `selected`: their decoder rows in `dictionary`, unit length.
    public func probes(_ selected: [Int], of dictionary: any FeatureDictionary) throws -> [ProbeVector] {
        try selected.map { try ProbeVector.decoderRows(of: dictionary, range: rows[$0]..<(rows[$0] + 1))[0] }
    }

    /// One re-measured probe against its shipped effect.
    public struct Recheck: Sendable, Codable, Equatable {
        /// Dataset row and decoder row.
        public var row: Int
        public var probe: Int
        /// Largest |live − shipped| over features, and the largest shipped |effect|.
        public var maxDifference: Double
        public var maxEffect: Double
        /// Features whose difference exceeds rounding (``tolerance(for:)``) but equals one or two JumpReLU
        /// threshold crossings at single positions, and the crossings that account for them.
        public var crossingFeatures: [Int]
        public var crossings: Int
        /// Whether every feature is within rounding, or within rounding of at most two crossings.
        public var agrees: Bool
    }

    /// The rounding part of the agreement rule: `2⁻¹⁰·|shipped| + 10⁻³` per feature. The shipped values
    /// are f16 (relative rounding ≤ 2⁻¹¹); 10⁻³ covers the live arithmetic's own rounding.
    public static func tolerance(for shipped: Float) -> Double { Double(abs(shipped)) / 1024 + 1e-3 }

    /// How many threshold crossings (1 or 2) explain `difference` for a feature with jump `theta` averaged
    /// over `positions`: one crossing at one position moves the mean by θ/positions (the activation there
    /// lies between θ and 1.1 θ); `nil` when none does.
    static func crossings(explaining difference: Double, theta: Float, positions: Int, rounding: Double) -> Int? {
        let step = Double(theta) / Double(positions)
        guard step > 0 else { return nil }
        for k in 1...2
        where difference >= Double(k) * step - rounding && difference <= Double(k) * step * 1.1 + rounding {
            return k
        }
        return nil
    }

    /// Measures `rows` of the dataset again with `measurer` (same protocol and seeds; its store decides
    /// whether this is a fresh measurement) and compares them with the shipped effects.
    /// - Throws: ``PipelineError`` when the measurer's baseline is not the one the dataset was measured
    ///   against (another model, dictionary or protocol), and errors of the measurement.
    public func recheck(_ measurer: EffectMeasurer, rows selected: [Int]) throws -> [Recheck] {
        guard measurer.baselineRecipe.key.hex == baselineKey else {
            throw PipelineError.invalidInput(
                what: "effect dataset \(path)",
                problem: "was measured against baseline \(baselineKey.prefix(12)), but this model, dictionary and "
                    + "protocol give \(measurer.baselineRecipe.key.hex.prefix(12)); it belongs to another setup")
        }
        let source = try TensorFileEffectDataset.open(path: path)
        let (_, shipped) = try source.read(rows: selected)
        let vectors = try probes(selected, of: measurer.dictionary)
        let positions = measurer.measurement.averagedPositions
        let jumps = measurer.dictionary.activationJumps
        var out = [Recheck]()
        for (i, outcome) in try measurer.measure(batch: vectors).enumerated() {
            let live = try outcome.get().effect, reference = shipped.row(i)
            var maxDifference = 0.0, maxEffect = 0.0, agrees = true
            var crossingFeatures = [Int](), crossings = 0
            for (j, (a, b)) in zip(live, reference).enumerated() {
                let difference = Double(abs(a - b)), rounding = Self.tolerance(for: b)
                maxDifference = max(maxDifference, difference)
                maxEffect = max(maxEffect, Double(abs(b)))
                guard difference > rounding else { continue }
                if let jumps,
                    let k = Self.crossings(
                        explaining: difference, theta: jumps[j], positions: positions, rounding: rounding)
                {
                    crossingFeatures.append(j)
                    crossings += k
                } else {
                    agrees = false
                }
            }
            out.append(
                Recheck(
                    row: selected[i], probe: rows[selected[i]], maxDifference: maxDifference, maxEffect: maxEffect,
                    crossingFeatures: crossingFeatures, crossings: crossings, agrees: agrees && crossings <= 2))
        }
        return out
    }
}
