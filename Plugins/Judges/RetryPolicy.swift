import Foundation

/// When to try a judge call again, and how long to wait first.
///
/// Attempt `k` (1-based) that failed retryably is followed by a wait of
/// `min(limit, base·2^(k−1))·u` with `u` uniform in [0.5, 1) (exponential backoff with jitter), or by
/// the server's `Retry-After` when that is longer (capped at `retryAfterLimit`).
struct RetryPolicy: Sendable {
    /// Extra attempts after the first.
    var retries: Int
    /// First backoff delay, seconds.
    var base: Double
    /// Largest backoff delay, seconds.
    var limit: Double
    /// Largest honoured `Retry-After`, seconds.
    var retryAfterLimit: Double

    /// Total attempts allowed.
    var maxAttempts: Int { retries + 1 }

    /// Seconds to wait after failed attempt `attempt`, given a server's `Retry-After` (seconds) and a
    /// uniform random `unit` in [0, 1).
    func delay(afterAttempt attempt: Int, retryAfter: Double?, unit: Double) -> Double {
        let exponent = Double(max(0, min(attempt - 1, 30)))
        let backoff = min(limit, base * pow(2, exponent)) * (0.5 + 0.5 * unit)
        guard let retryAfter, retryAfter > 0 else { return backoff }
        return max(backoff, min(retryAfter, retryAfterLimit))
    }

    /// Seconds requested by a `Retry-After` header value: delta-seconds (`"2"`, `"1.5"`) or an HTTP
    /// date (`"Wed, 21 Oct 2015 07:28:00 GMT"`), relative to `now`. `nil` when unparseable.
    static func retryAfterSeconds(_ value: String, now: Date = Date()) -> Double? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
