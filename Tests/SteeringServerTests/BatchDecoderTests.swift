import Foundation
import Gemma2
import SteeringCore
import SteeringServer
import SteeringTestSupport
import Testing

/// The demo model (Demo/model), loaded once.
let demoBackend: Gemma2Backend = try! Gemma2Backend(directory: repositoryRoot.appendingPathComponent("Demo/model").path)

/// A seeded direction of the model's width.
func seededVector(_ seed: UInt64, width: Int = 256) -> [Float] {
    var generator = SplitMix64(seed: seed)
    return (0..<width).map { _ in Float(generator.nextUnit() * 2 - 1) }
}

/// Sixteen different rows: prompts, steering (vector, scale, layer, positions) and lengths.
struct DemoRow {
    var prompt: [Int32]
    var interventions: [Intervention]
    var maxNewTokens: Int
}

func demoRows() -> [DemoRow] {
    let texts = [
        "The weather in London", "Once upon a time", "I love", "My favourite food is", "The capital of France",
        "He said that", "We went to the", "Science is", "The cat sat", "In the morning", "She wrote a letter",
        "Music makes", "The river", "Tomorrow we will", "Dogs are", "The best way to",
    ]
    return texts.enumerated().map { i, text in
        let interventions =
            i % 4 == 3
            ? []
            : [
                Intervention(
                    site: ActivationSite(layer: i % 6), vector: seededVector(UInt64(100 + i)), scale: Float(i % 5) * 2,
                    positions: PositionPolicy(scope: i % 3 == 0 ? .all : .generatedOnly, includeBOS: i % 2 == 0))
            ]
        return DemoRow(
            prompt: demoBackend.encode(text, addBOS: true), interventions: interventions, maxNewTokens: 4 + (i * 5) % 13
        )
    }
}

/// Tokens `generate` gives for one row alone.
func generatedAlone(_ row: DemoRow, sampling: SamplingConfig) throws -> [Int32] {
    var sampling = sampling
    sampling.maxNewTokens = row.maxNewTokens
    let full = try demoBackend.generate(prompts: [row.prompt], sampling: sampling, interventions: row.interventions)[0]
    var tokens = Array(full.dropFirst(row.prompt.count))
    // generate keeps the EOS token it stopped at; the scheduler reports it as the finish instead.
    if let last = tokens.last, sampling.stopAtEOS, last == demoBackend.descriptor.eosToken { tokens.removeLast() }
    return tokens
}

@Suite("Batch decoder and scheduler (continuous batching on the demo model)")
struct BatchDecoderTests {
    @Test("each row's greedy tokens are identical alone and beside 15 others, with rows joining and leaving mid-way")
    func greedyRowsAreIndependentOfTheBatch() throws {
        let rows = demoRows()
        let expected = try rows.map { try generatedAlone($0, sampling: .greedy(maxNewTokens: 0, stopAtEOS: false)) }
        let session = demoBackend.makeDecodingSession()
        var ids: [Int: Int] = [:]  // row index → session id
        var produced = [[Int32]](repeating: [], count: rows.count)
        var step = 0
        var largest = 0
        // Rows 0..<8 start at once, 8..<16 join one per step from step 2 on.
        func admit(_ i: Int) throws {
            ids[i] = try session.join(
                prompt: rows[i].prompt, interventions: rows[i].interventions,
                capacity: rows[i].prompt.count + rows[i].maxNewTokens)
        }
        for i in 0..<8 { try admit(i) }
        while rows.indices.contains(where: { produced[$0].count < rows[$0].maxNewTokens }) {
            if step >= 2, let next = (8..<16).first(where: { ids[$0] == nil && produced[$0].isEmpty }) {
                try admit(next)
            }
            largest = max(largest, ids.count)
            let logits = try session.step()
            #expect(logits.count == ids.count)
            for (i, id) in ids {
                let token = Int32(logits[id]!.withUnsafeBufferPointer { TokenSampler.argmax($0) })
                produced[i].append(token)
                if produced[i].count == rows[i].maxNewTokens {
                    session.leave(id)
                    ids[i] = nil
                } else {
                    try session.append(token, to: id)
                }
            }
            step += 1
            if step > 100 { break }
        }
        #expect(largest >= 10, "rows decoded together: \(largest)")
        #expect(session.rows.isEmpty)
        for i in rows.indices { #expect(produced[i] == expected[i], "row \(i)") }
    }

    @Test("the scheduler gives each of 16 concurrent requests what generate gives it alone (greedy and seeded)")
    func schedulerMatchesGenerate() async throws {
        let rows = demoRows()
        let seeded = SamplingConfig(temperature: 0.9, topK: 40, topP: 0.95, maxNewTokens: 0, seed: 1234)
        for sampling in [SamplingConfig.greedy(maxNewTokens: 0), seeded] {
            let expected = try rows.map { try generatedAlone($0, sampling: sampling) }
            let scheduler = BatchScheduler(backend: demoBackend, maxRows: 64)
            scheduler.start()
            let results = await withTaskGroup(of: (Int, [Int32], RowEvent?).self) { group in
                for (i, row) in rows.enumerated() {
                    var config = sampling
                    config.maxNewTokens = row.maxNewTokens
                    let handle = scheduler.submit(
                        RowRequest(
                            prompt: row.prompt, interventions: row.interventions, sampling: config, generatorRow: 0,
                            stopTokens: [demoBackend.descriptor.eosToken]))
                    group.addTask {
                        var tokens = [Int32]()
                        var last: RowEvent?
                        for await event in handle.events {
                            if case .token(let t) = event { tokens.append(t) } else { last = event }
                        }
                        return (i, tokens, last)
                    }
                }
                var out = [(Int, [Int32], RowEvent?)]()
                for await result in group { out.append(result) }
                return out.sorted { $0.0 < $1.0 }
            }
            for (i, tokens, last) in results {
                #expect(tokens == expected[i], "row \(i), temperature \(sampling.temperature)")
                let reason: FinishReason = tokens.count == rows[i].maxNewTokens ? .length : .stop
                #expect(last == .finished(reason), "row \(i)")
            }
            #expect(scheduler.stats.largestStep >= 8, "rows per step: \(scheduler.stats.largestStep)")
            scheduler.stop()
        }
    }

    @Test("a cancelled row leaves the batch and the others finish unchanged")
    func cancellation() async throws {
        let rows = demoRows()
        let expected = try generatedAlone(rows[1], sampling: .greedy(maxNewTokens: 0, stopAtEOS: false))
        // The decoding thread runs one iteration per signal, so the cancel lands after exactly 3 tokens.
        let gate = DispatchSemaphore(value: 0)
        let scheduler = BatchScheduler(backend: demoBackend, maxRows: 4, beforeIteration: { gate.wait() })
        scheduler.start()
        var long = SamplingConfig.greedy(maxNewTokens: 200, stopAtEOS: false)
        long.maxNewTokens = 200
        let doomed = scheduler.submit(
            RowRequest(prompt: rows[0].prompt, interventions: [], sampling: long, generatorRow: 0, stopTokens: []))
        var config = SamplingConfig.greedy(maxNewTokens: rows[1].maxNewTokens, stopAtEOS: false)
        config.maxNewTokens = rows[1].maxNewTokens
        let kept = scheduler.submit(
            RowRequest(
                prompt: rows[1].prompt, interventions: rows[1].interventions, sampling: config, generatorRow: 0,
                stopTokens: []))
        var doomedTokens = 0
        var doomedEnd: RowEvent?
        gate.signal()
        for await event in doomed.events {
            if case .token = event {
                doomedTokens += 1
                if doomedTokens == 3 {
                    scheduler.cancel(doomed.ticket)
                    for _ in 0..<10_000 { gate.signal() }
                } else if doomedTokens < 3 {
                    gate.signal()
                }
            } else {
                doomedEnd = event
            }
        }
        #expect(doomedEnd == .finished(.cancelled))
        #expect(doomedTokens == 3)
        var tokens = [Int32]()
        for await event in kept.events { if case .token(let t) = event { tokens.append(t) } }
        #expect(tokens == expected)
        // A row whose prompt does not fit the context fails alone.
        let tooLong = scheduler.submit(
            RowRequest(
                prompt: [Int32](repeating: 5, count: 250), interventions: [], sampling: .greedy(maxNewTokens: 20),
                generatorRow: 0, stopTokens: []))
        var failure: RowEvent?
        for await event in tooLong.events { failure = event }
        guard case .failed(let message) = failure else {
            Issue.record("expected a failure, got \(String(describing: failure))")
            return
        }
        #expect(message.contains("256"))
        scheduler.stop()
    }
}
