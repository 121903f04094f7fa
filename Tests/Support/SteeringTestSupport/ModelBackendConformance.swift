import Foundation
import SteeringCore
import Testing

/// Checks the ``ModelBackend`` contract every model plugin must satisfy, on the prompts given (token
/// ids valid for the model, of different lengths; at least two):
/// - interventions at every layer and under every position policy add exactly `scale × v` to the
///   residual rows the policy selects, and nothing elsewhere;
/// - captures do not depend on whether logits are computed (the pass may stop early);
/// - KV-cached greedy generation, steered, equals recomputing the whole sequence at each step;
/// - a batch of sequences of different lengths gives what each gives alone (forward and generate);
/// - ``ModelBackend/nextTokenLoss(sequences:interventions:)`` is the cross-entropy of the forward logits;
/// - ``ModelBackend/tokenLogLikelihoods(sequences:positions:)`` is their log-softmax at the scored
///   positions, batched or alone, and refuses ranges outside a sequence;
/// - bad input is rejected: empty or too long sequences, unknown tokens, layers out of range, vectors of
///   the wrong width or with NaN, infinite scales, a prompt-length list of the wrong size.
/// `tolerance` bounds differences relative to the largest magnitude compared.
public func checkModelBackend(
    _ model: any ModelBackend, prompts: [[Int32]], seed: UInt64 = 3, steps: Int = 6, tolerance: Float = 1e-4,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    precondition(prompts.count >= 2, "checkModelBackend needs at least two prompts")
    let d = model.descriptor.hiddenSize, layers = model.descriptor.layerCount
    var rng = SeededGenerator(seed: seed)
    let vector = Vector.normalized((0..<d).map { _ in rng.normal() })
    let probe = prompts.max { $0.count < $1.count }!
    let promptLength = max(1, probe.count / 2)
    // The residual after every layer, unsteered.
    let sites = (0..<layers).map { ActivationSite(layer: $0) }
    let plain = try model.forward(
        ForwardRequest(sequences: [probe], promptLengths: [promptLength], captureSites: sites, logits: .none))
    for layer in 0..<layers {
        let withLogits = try model.forward(
            ForwardRequest(sequences: [probe], captureSites: [sites[layer]], logits: .last))
        let difference = maxRelativeDifference(
            withLogits.activations[sites[layer]]![0].values, plain.activations[sites[layer]]![0].values)
        #expect(
            difference <= tolerance, "capture at layer \(layer) depends on logits (\(difference))",
            sourceLocation: sourceLocation)
        for scope in PositionPolicy.Scope.allCases {
            for includeBOS in [true, false] {
                let policy = PositionPolicy(scope: scope, includeBOS: includeBOS)
                let scale: Float = 3
                let steering = Intervention(site: sites[layer], vector: vector, scale: scale, positions: policy)
                let steered = try model.forward(
                    ForwardRequest(
                        sequences: [probe], interventions: [steering], promptLengths: [promptLength],
                        captureSites: [sites[layer]], logits: .none))
                let got = steered.activations[sites[layer]]![0], base = plain.activations[sites[layer]]![0]
                let magnitude = base.values.reduce(Float(1)) { max($0, abs($1)) }
                var worst: Float = 0
                for t in 0..<probe.count {
                    let selected = policy.applies(position: t, promptLength: promptLength)
                    for c in 0..<d {
                        let expected = base[t, c] + (selected ? scale * vector[c] : 0)
                        worst = max(worst, abs(got[t, c] - expected))
                    }
                }
                #expect(
                    worst <= tolerance * magnitude,
                    "layer \(layer), policy \(policy): the edit differs from scale × v by \(worst)",
                    sourceLocation: sourceLocation)
            }
        }
    }

    // KV-cached generation equals recomputation, steered in the middle layer.
    let steering = Intervention(site: ActivationSite(layer: layers / 2), vector: vector, scale: 4)
    for prompt in prompts.prefix(2) {
        let cached = try model.generate(
            prompts: [prompt], sampling: .greedy(maxNewTokens: steps, stopAtEOS: false), interventions: [steering])[0]
        var sequence = prompt
        for _ in 0..<steps {
            let logits = try model.forward(
                ForwardRequest(
                    sequences: [sequence], interventions: [steering], promptLengths: [prompt.count], logits: .last)
            ).logits[0]
            sequence.append(Int32(logits.values.withUnsafeBufferPointer { TokenSampler.argmax($0) }))
        }
        #expect(cached == sequence, "cached generation differs from recomputation", sourceLocation: sourceLocation)
    }

    // A batch equals its sequences one by one.
    let capture = ActivationSite(layer: layers - 1)
    let batch = try model.forward(
        ForwardRequest(sequences: prompts, interventions: [steering], captureSites: [capture], logits: .all))
    for (i, prompt) in prompts.enumerated() {
        let alone = try model.forward(
            ForwardRequest(sequences: [prompt], interventions: [steering], captureSites: [capture], logits: .all))
        #expect(
            maxRelativeDifference(batch.logits[i].values, alone.logits[0].values) <= tolerance,
            "logits of sequence \(i) differ in a batch", sourceLocation: sourceLocation)
        #expect(
            maxRelativeDifference(batch.activations[capture]![i].values, alone.activations[capture]![0].values)
                <= tolerance, "captures of sequence \(i) differ in a batch", sourceLocation: sourceLocation)
    }
    let sampling = SamplingConfig.greedy(maxNewTokens: steps, stopAtEOS: false)
    let together = try model.generate(prompts: prompts, sampling: sampling, interventions: [steering])
    for (i, prompt) in prompts.enumerated() {
        let alone = try model.generate(prompts: [prompt], sampling: sampling, interventions: [steering])[0]
        #expect(together[i] == alone, "generation of prompt \(i) differs in a batch", sourceLocation: sourceLocation)
    }

    // The loss is the cross-entropy of the forward logits.
    let losses = try model.nextTokenLoss(sequences: prompts, interventions: [steering])
    for (i, prompt) in prompts.enumerated() where prompt.count > 1 {
        let logits = batch.logits[i]
        var total = 0.0
        for t in 0..<(prompt.count - 1) {
            let row = logits.row(t).map(Double.init)
            let maximum = row.max()!
            total +=
                Foundation.log(row.map { Foundation.exp($0 - maximum) }.reduce(0, +)) + maximum
                - row[Int(prompt[t + 1])]
        }
        let expected = total / Double(prompt.count - 1)
        #expect(
            abs(losses[i] - expected) <= 1e-3 * max(1, abs(expected)),
            "loss of sequence \(i): \(losses[i]) vs \(expected) from the logits", sourceLocation: sourceLocation)
    }

    // Token log-likelihoods: the unsteered forward logits' log-softmax at the scored positions, the same
    // for a sequence alone as in a batch; ranges outside a sequence are refused.
    let unsteered = try model.forward(ForwardRequest(sequences: prompts, logits: .all))
    let scored = prompts.map { $0.count > 1 ? (($0.count + 1) / 2)..<$0.count : 0..<0 }
    let likelihoods = try model.tokenLogLikelihoods(sequences: prompts, positions: scored)
    for (i, prompt) in prompts.enumerated() {
        #expect(likelihoods[i].count == scored[i].count, sourceLocation: sourceLocation)
        for (k, t) in scored[i].enumerated() {
            let row = unsteered.logits[i].row(t - 1).map(Double.init)
            let maximum = row.max()!
            let expected =
                row[Int(prompt[t])] - maximum - Foundation.log(row.map { Foundation.exp($0 - maximum) }.reduce(0, +))
            #expect(
                abs(likelihoods[i][k] - expected) <= 1e-3 * max(1, abs(expected)),
                "log-likelihood of token \(t) of sequence \(i): \(likelihoods[i][k]) vs \(expected) from the logits",
                sourceLocation: sourceLocation)
        }
        let alone = try model.tokenLogLikelihoods(sequences: [prompt], positions: [scored[i]])[0]
        #expect(
            zip(alone, likelihoods[i]).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) },
            "log-likelihoods of sequence \(i) differ in a batch: \(alone) vs \(likelihoods[i])",
            sourceLocation: sourceLocation)
    }
    #expect(throws: SteeringError.self, sourceLocation: sourceLocation) {
        _ = try model.tokenLogLikelihoods(sequences: [probe], positions: [0..<probe.count])
    }
    #expect(throws: SteeringError.self, sourceLocation: sourceLocation) {
        _ = try model.tokenLogLikelihoods(sequences: [probe], positions: [1..<(probe.count + 1)])
    }
    #expect(throws: SteeringError.self, sourceLocation: sourceLocation) {
        _ = try model.tokenLogLikelihoods(sequences: [probe, probe], positions: [1..<2])
    }

    // Bad input.
    let vocab = Int32(model.descriptor.vocabularySize)
    let bad: [(String, () throws -> Void)] = [
        ("an empty sequence", { _ = try model.forward(ForwardRequest(sequences: [[]])) }),
        ("a token outside the vocabulary", { _ = try model.forward(ForwardRequest(sequences: [[probe[0], vocab]])) }),
        ("a negative token", { _ = try model.forward(ForwardRequest(sequences: [[-1]])) }),
        (
            "a sequence longer than the context",
            {
                _ = try model.generate(
                    prompts: [probe], sampling: .greedy(maxNewTokens: model.descriptor.maxPositions), interventions: [])
            }
        ),
        (
            "a steering layer out of range",
            {
                _ = try model.forward(
                    ForwardRequest(
                        sequences: [probe],
                        interventions: [Intervention(site: ActivationSite(layer: layers), vector: vector, scale: 1)]))
            }
        ),
        (
            "a capture layer out of range",
            { _ = try model.forward(ForwardRequest(sequences: [probe], captureSites: [ActivationSite(layer: -1)])) }
        ),
        (
            "a vector of the wrong width",
            {
                _ = try model.forward(
                    ForwardRequest(
                        sequences: [probe],
                        interventions: [Intervention(site: sites[0], vector: vector + [0], scale: 1)]))
            }
        ),
        (
            "a vector with NaN",
            {
                var broken = vector
                broken[d / 2] = .nan
                _ = try model.forward(
                    ForwardRequest(
                        sequences: [probe], interventions: [Intervention(site: sites[0], vector: broken, scale: 1)]))
            }
        ),
        (
            "an infinite scale",
            {
                _ = try model.forward(
                    ForwardRequest(
                        sequences: [probe],
                        interventions: [Intervention(site: sites[0], vector: vector, scale: .infinity)]))
            }
        ),
        (
            "prompt lengths of the wrong count",
            { _ = try model.forward(ForwardRequest(sequences: [probe], promptLengths: [1, 2])) }
        ),
    ]
    for (what, call) in bad {
        #expect(throws: (any Error).self, "\(what) must be rejected", sourceLocation: sourceLocation) { try call() }
    }
}
