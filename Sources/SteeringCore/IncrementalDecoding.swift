/// A backend that can decode many independent sequences together, one token per step, while
/// sequences join and leave between steps (continuous batching, as a server needs).
///
/// Every row carries its own interventions; a row's logits do not depend on which other rows share
/// its steps (up to the rounding of batched matrix products).
public protocol IncrementalDecoding: ModelBackend {
    /// A new, empty session. Each session owns its own cache; sessions are independent.
    func makeDecodingSession() -> any DecodingSession
}

/// One batch of rows decoded step by step. Not thread-safe: one owner drives it.
public protocol DecodingSession: AnyObject {
    /// Adds a row whose `prompt` is processed (prefilled) at the next ``step()``, with `interventions`
    /// applied at every position their policy selects (the prompt length is `prompt.count`).
    /// `capacity` is the most positions the row will hold (prompt plus every token it may generate).
    /// - Returns: The row's id, valid until ``leave(_:)``.
    /// - Throws: For an empty prompt, unknown token ids, a capacity beyond the model's context or
    ///   smaller than the prompt, or an intervention that does not fit the model.
    func join(prompt: [Int32], interventions: [Intervention], capacity: Int) throws -> Int

    /// Queues `token` as the row's next input (processed at the next ``step()``).
    /// - Throws: When the row is unknown, already has input queued, or is full.
    func append(_ token: Int32, to row: Int) throws

    /// Removes a row and frees its cache. Unknown ids are ignored.
    func leave(_ row: Int)

    /// Most new tokens one step should process (scratch memory is sized for it). A caller admits new
    /// prompts while their total stays within it; a single longer prompt still runs, in one step.
    var tokenBudget: Int { get }

    /// Ids of the rows in the session.
    var rows: [Int] { get }

    /// Runs one batched step over every row with queued input (prompts of new rows, one token of
    /// the others) and returns each such row's logits for its last position (`vocabularySize` floats).
    func step() throws -> [Int: [Float]]
}
