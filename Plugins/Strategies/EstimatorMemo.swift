import SteeringCore
import Synchronization

/// Remembers one value derived from an estimator (and optionally a dictionary), so repeated vectors
/// from one estimator (one per task) pay for an SVD or a `d_model × d_sae × d_model` product once.
///
/// Keyed by the estimator's contents and the dictionary's fingerprint. Comparing the estimator is cheap
/// when the caller passes the same arrays: Swift compares shared array storage by identity first. The
/// memo keeps the last estimator alive as long as the strategy value that owns it.
final class EstimatorMemo<Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var effect: LinearEffectModel
        var dictionary: ContentDigest?
        var value: Value
    }

    private let entry = Mutex<Entry?>(nil)

    /// The remembered value for this estimator and dictionary, or `compute()`'s result, remembered.
    func value(for effect: LinearEffectModel, dictionary: ContentDigest? = nil, compute: () throws -> Value)
        rethrows -> Value
    {
        let hit = entry.withLock { cached -> Value? in
            guard let cached, cached.dictionary == dictionary, cached.effect == effect else { return nil }
            return cached.value
        }
        if let hit { return hit }
        let value = try compute()
        entry.withLock { $0 = Entry(effect: effect, dictionary: dictionary, value: value) }
        return value
    }
}
