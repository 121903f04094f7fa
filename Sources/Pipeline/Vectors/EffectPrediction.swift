import Foundation
import SteeringCore

/// The estimator's predicted effect of a vector, and a readable listing of it.
public enum EffectPrediction {
    /// ŷ = x̂·M + b with x̂ = x/‖x‖.
    public static func predict(_ vector: [Float], with model: LinearEffectModel) -> [Float] {
        let unit = Vector.normalized(vector)
        var out = model.bias
        let d = model.inputWidth, s = model.outputWidth
        model.weight.values.withUnsafeBufferPointer { w in
            for i in 0..<d where unit[i] != 0 {
                let xi = unit[i]
                let row = i * s
                for j in 0..<s { out[j] += xi * w[row + j] }
            }
        }
        return out
    }

    /// On-target changes, then the largest off-target increases and decreases.
    public static func describe(_ effect: [Float], targets: [Int], top: Int) -> String {
        var lines = [String]()
        if !targets.isEmpty {
            lines.append("  on target:")
            for j in targets where effect.indices.contains(j) {
                lines.append(String(format: "    feature %6d  %+10.4f", j, effect[j]))
            }
        }
        let off = effect.indices.filter { !targets.contains($0) }
        lines.append("  off target, increased most:")
        for j in off.sorted(by: { effect[$0] > effect[$1] }).prefix(top) {
            lines.append(String(format: "    feature %6d  %+10.4f", j, effect[j]))
        }
        lines.append("  off target, decreased most:")
        for j in off.sorted(by: { effect[$0] < effect[$1] }).prefix(top) {
            lines.append(String(format: "    feature %6d  %+10.4f", j, effect[j]))
        }
        return lines.joined(separator: "\n")
    }
}
