import Foundation
public import SteeringCore

/// What one row (one choice of one request) asks the scheduler for.
public struct RowRequest: Sendable {
    /// Prompt token ids (BOS included when wanted).
    public var prompt: [Int32]
    /// The row's own steering.
    public var interventions: [Intervention]
    /// Temperature, top-k, top-p, `maxNewTokens`, `stopAtEOS` and seed.
    public var sampling: SamplingConfig
    /// The row index of the sampler's generator, `SplitMix64(seed: sampling.seed, row: generatorRow)`:
    /// choice `i` of a request uses row `i`, as `ModelBackend.generate` does for `n` copies of a prompt.
    public var generatorRow: Int
    /// Tokens that end the row (when `sampling.stopAtEOS`); they are not reported as tokens.
    public var stopTokens: Set<Int32>

    public init(
        prompt: [Int32], interventions: [Intervention], sampling: SamplingConfig, generatorRow: Int,
        stopTokens: Set<Int32>
    ) {
        self.prompt = prompt
        self.interventions = interventions
        self.sampling = sampling
        self.generatorRow = generatorRow
        self.stopTokens = stopTokens
    }
}

/// Why a row ended.
public enum FinishReason: String, Sendable {
    /// A stop token (or, decided by the caller, a stop string).
    case stop
    /// `maxNewTokens` reached.
    case length
    /// Cancelled by the caller (client gone) or by shutdown.
    case cancelled
}

/// What a row reports, in order: tokens, then one `finished` or `failed`.
public enum RowEvent: Sendable, Equatable {
    case token(Int32)
    case finished(FinishReason)
    case failed(String)
}

/// Continuous batching: rows from any number of requests join a ``DecodingSession`` between steps and
/// leave when done or cancelled; one thread runs one batched step per token for every active row and
/// samples each row with its own ``TokenSampler`` and generator.
public final class BatchScheduler: @unchecked Sendable {
    /// A submitted row: its ticket (for ``cancel(_:)``) and its events.
    public struct Handle: Sendable {
        public let ticket: Int
        public let events: AsyncStream<RowEvent>
    }

    private struct Waiting {
        var ticket: Int
        var request: RowRequest
        var continuation: AsyncStream<RowEvent>.Continuation
    }

    private struct Active {
        var ticket: Int
        var row: Int
        var sampler: TokenSampler
        var generator: SplitMix64
        var generated = 0
        var request: RowRequest
        var continuation: AsyncStream<RowEvent>.Continuation
    }

    private let backend: any IncrementalDecoding
    /// Most rows decoded together.
    public let maxRows: Int
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var waiting: [Waiting] = []
    private var cancelled: Set<Int> = []
    private var activeTickets: Set<Int> = []
    private var nextTicket = 0
    private var stopping = false
    private var finishedThread = false
    private var statistics = Statistics()

    /// Counters for logs and tests.
    public struct Statistics: Sendable, Equatable {
        /// Batched steps run.
        public var steps = 0
        /// Largest number of rows in one step.
        public var largestStep = 0
        /// Rows finished (any reason).
        public var rowsFinished = 0
        /// Tokens generated.
        public var tokens = 0
    }

    /// Called on the decoding thread at the top of every iteration, before cancellations are taken
    /// and the step runs (tests pace the thread with it).
    private let beforeIteration: (@Sendable () -> Void)?

    /// A scheduler over `backend`, decoding at most `maxRows` rows together. Call ``start()``.
    public init(backend: any IncrementalDecoding, maxRows: Int = 64, beforeIteration: (@Sendable () -> Void)? = nil) {
        self.backend = backend
        self.maxRows = max(1, maxRows)
        self.beforeIteration = beforeIteration
    }

    /// Starts the decoding thread.
    public func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "steer-batch"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues a row. Its events end with `finished` or `failed`; dropping the stream cancels the row.
    public func submit(_ request: RowRequest) -> Handle {
        let (events, continuation) = AsyncStream<RowEvent>.makeStream(bufferingPolicy: .unbounded)
        condition.lock()
        let ticket = nextTicket
        nextTicket += 1
        if stopping {
            condition.unlock()
            continuation.yield(.failed("the server is shutting down"))
            continuation.finish()
            return Handle(ticket: ticket, events: events)
        }
        waiting.append(Waiting(ticket: ticket, request: request, continuation: continuation))
        condition.signal()
        condition.unlock()
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel(ticket) }
        }
        return Handle(ticket: ticket, events: events)
    }

    /// Cancels a row: it leaves the batch before the next step (its stream finishes with `cancelled`).
    public func cancel(_ ticket: Int) {
        condition.lock()
        if let index = waiting.firstIndex(where: { $0.ticket == ticket }) {
            let row = waiting.remove(at: index)
            row.continuation.yield(.finished(.cancelled))
            row.continuation.finish()
        } else if activeTickets.contains(ticket) {
            cancelled.insert(ticket)
            condition.signal()
        }
        condition.unlock()
    }

    /// Cancels every row, waiting or active.
    public func cancelAll() {
        condition.lock()
        for row in waiting {
            row.continuation.yield(.finished(.cancelled))
            row.continuation.finish()
        }
        waiting.removeAll()
        cancelled.formUnion(activeTickets)
        condition.signal()
        condition.unlock()
    }

    /// Refuses new rows, lets active and waiting rows finish, then ends the thread.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// Whether the thread has ended after ``stop()``.
    public var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return finishedThread
    }

    /// Counters so far.
    public var stats: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return statistics
    }

    /// Rows waiting and active.
    public var load: (waiting: Int, active: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (waiting.count, activeTickets.count)
    }

    // MARK: The decoding thread

    private func loop() {
        let session = backend.makeDecodingSession()
        var active: [Int: Active] = [:]  // by row id
        while true {
            beforeIteration?()
            condition.lock()
            while waiting.isEmpty && active.isEmpty && cancelled.isEmpty && !stopping { condition.wait() }
            if stopping && waiting.isEmpty && active.isEmpty {
                finishedThread = true
                condition.unlock()
                return
            }
            let cancelledNow = cancelled
            cancelled.removeAll()
            var admitted = [Waiting]()
            var budget = session.tokenBudget
            while let first = waiting.first, active.count + admitted.count < maxRows,
                admitted.isEmpty || first.request.prompt.count <= budget
            {
                budget -= first.request.prompt.count
                admitted.append(waiting.removeFirst())
                activeTickets.insert(admitted.last!.ticket)
            }
            condition.unlock()

            var ended: [(ticket: Int, count: Int)] = []
            for (row, entry) in active where cancelledNow.contains(entry.ticket) {
                session.leave(row)
                active[row] = nil
                entry.continuation.yield(.finished(.cancelled))
                entry.continuation.finish()
                ended.append((entry.ticket, 0))
            }
            for entry in admitted {
                let capacity = entry.request.prompt.count + entry.request.sampling.maxNewTokens
                do {
                    let row = try session.join(
                        prompt: entry.request.prompt, interventions: entry.request.interventions, capacity: capacity)
                    active[row] = Active(
                        ticket: entry.ticket, row: row, sampler: TokenSampler(config: entry.request.sampling),
                        generator: SplitMix64(seed: entry.request.sampling.seed, row: entry.request.generatorRow),
                        request: entry.request, continuation: entry.continuation)
                } catch {
                    entry.continuation.yield(.failed("\(error)"))
                    entry.continuation.finish()
                    ended.append((entry.ticket, 0))
                }
            }
            var produced = 0
            let rowsInStep = active.count
            if !active.isEmpty {
                do {
                    let logits = try session.step()
                    let rows = active.keys.sorted()
                    var tokens = [Int32](repeating: 0, count: rows.count)
                    var generators = rows.map { active[$0]!.generator }
                    let samplers = rows.map { active[$0]!.sampler }
                    tokens.withUnsafeMutableBufferPointer { tokens in
                        generators.withUnsafeMutableBufferPointer { generators in
                            nonisolated(unsafe) let tokensBase = tokens.baseAddress!
                            nonisolated(unsafe) let generatorsBase = generators.baseAddress!
                            let work: @Sendable (Int) -> Void = { slot in
                                tokensBase[slot] = logits[rows[slot]]!.withUnsafeBufferPointer {
                                    samplers[slot].sample($0, generator: &generatorsBase[slot])
                                }
                            }
                            if rows.count == 1 || samplers.allSatisfy({ $0.config.isGreedy }) {
                                for slot in rows.indices { work(slot) }
                            } else {
                                DispatchQueue.concurrentPerform(iterations: rows.count, execute: work)
                            }
                        }
                    }
                    for (slot, row) in rows.enumerated() {
                        var entry = active[row]!
                        entry.generator = generators[slot]
                        let token = tokens[slot]
                        entry.generated += 1
                        if entry.request.sampling.stopAtEOS && entry.request.stopTokens.contains(token) {
                            finish(row, entry, .stop, session: session, active: &active, ended: &ended)
                            continue
                        }
                        produced += 1
                        entry.continuation.yield(.token(token))
                        if entry.generated >= entry.request.sampling.maxNewTokens {
                            finish(row, entry, .length, session: session, active: &active, ended: &ended)
                            continue
                        }
                        do {
                            try session.append(token, to: row)
                            active[row] = entry
                        } catch {
                            entry.continuation.yield(.failed("\(error)"))
                            entry.continuation.finish()
                            session.leave(row)
                            active[row] = nil
                            ended.append((entry.ticket, 0))
                        }
                    }
                } catch {
                    for (row, entry) in active {
                        entry.continuation.yield(.failed("decoding step failed: \(error)"))
                        entry.continuation.finish()
                        session.leave(row)
                        ended.append((entry.ticket, 0))
                    }
                    active.removeAll()
                }
            }
            condition.lock()
            for (ticket, _) in ended { activeTickets.remove(ticket) }
            if rowsInStep > 0 {
                statistics.steps += 1
                statistics.largestStep = max(statistics.largestStep, rowsInStep)
            }
            statistics.tokens += produced
            statistics.rowsFinished += ended.count
            condition.unlock()
        }
    }

    private func finish(
        _ row: Int, _ entry: Active, _ reason: FinishReason, session: any DecodingSession, active: inout [Int: Active],
        ended: inout [(ticket: Int, count: Int)]
    ) {
        entry.continuation.yield(.finished(reason))
        entry.continuation.finish()
        session.leave(row)
        active[row] = nil
        ended.append((entry.ticket, entry.generated))
    }
}
