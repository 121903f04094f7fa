import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reports progress of a long job (count, rate, ETA) on a terminal; silent when standard error is not
/// a terminal or when `CI` is set, so logs and pipes stay clean.
public final class ProgressReporter: Sendable {
    private struct State {
        var done = 0
        var lastDraw = 0.0
    }

    /// What is being counted ("vectors", "tokens").
    public let unit: String
    /// Total count, when known.
    public let total: Int?
    /// Label shown before the counts.
    public let label: String
    private let enabled: Bool
    private let start: Double
    private let state = Mutex(State())

    /// - Parameter enabled: override the terminal/CI detection (tests pass `false`).
    public init(label: String, total: Int?, unit: String, enabled: Bool? = nil) {
        self.label = label
        self.total = total
        self.unit = unit
        self.enabled = enabled ?? ProgressReporter.isInteractive
        self.start = ProgressReporter.now()
    }

    /// True when standard error is a terminal and `CI` is not set.
    public static var isInteractive: Bool {
        isatty(2) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
    }

    /// Adds `count` finished items and redraws at most ten times a second.
    public func advance(by count: Int = 1) {
        let line: String? = state.withLock { state in
            state.done += count
            guard enabled else { return nil }
            let now = ProgressReporter.now()
            let finished = total.map { state.done >= $0 } ?? false
            guard finished || now - state.lastDraw >= 0.1 else { return nil }
            state.lastDraw = now
            return render(done: state.done, elapsed: now - start)
        }
        if let line { FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
    }

    /// Ends the line on a terminal.
    public func finish() {
        guard enabled else { return }
        let line = state.withLock { render(done: $0.done, elapsed: ProgressReporter.now() - start) }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)\n".utf8))
    }

    /// Items finished so far.
    public var completed: Int { state.withLock { $0.done } }

    private func render(done: Int, elapsed: Double) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var text = "\(label): \(done)"
        if let total { text += "/\(total)" }
        text += " \(unit), \(ProgressReporter.formatRate(rate, unit: unit))"
        if let total, rate > 0, done < total {
            text += ", ETA \(ProgressReporter.formatDuration(Double(total - done) / rate))"
        }
        return text
    }

    /// `12.3 tokens/s`, or per hour when slow.
    public static func formatRate(_ rate: Double, unit: String) -> String {
        rate >= 1 || rate == 0
            ? String(format: "%.1f %@/s", rate, unit) : String(format: "%.1f %@/h", rate * 3600, unit)
    }

    /// `1h02m`, `3m05s`, `12s`.
    public static func formatDuration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }

    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
