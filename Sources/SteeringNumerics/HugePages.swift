import Foundation

/// How much of some memory the kernel maps with 2 MiB pages (Linux `/proc/self/smaps`). Streaming
/// weights from 2 MiB pages is faster than from 4 KiB ones; whether a file mapping gets them depends
/// on how its page cache was filled, which this makes visible.
public enum HugePages {
    /// Fraction of the resident bytes of the mappings that hold `ranges` which sit on 2 MiB pages
    /// (anonymous or file-backed), or nil when `/proc/self/smaps` cannot be read or nothing is
    /// resident. Mappings count whole, so a range inside a larger mapping reports that mapping.
    public static func coverage(of ranges: [UnsafeRawBufferPointer]) -> Double? {
        // /proc files report size 0, so read to the end rather than by size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps"),
            let data = try? handle.readToEnd(), let smaps = String(data: data, encoding: .utf8)
        else { return nil }
        try? handle.close()
        let spans = ranges.compactMap { range in
            range.baseAddress.map { UInt(bitPattern: $0)..<(UInt(bitPattern: $0) + UInt(range.count)) }
        }
        return coverage(smaps: smaps, spans: spans)
    }

    /// ``coverage(of:)`` over the text of an smaps file (split out for tests).
    static func coverage(smaps: String, spans: [Range<UInt>]) -> Double? {
        var resident = 0, huge = 0
        var counting = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.hasSuffix(":") {
                guard counting, fields.count >= 2, let kilobytes = Int(fields[1]) else { continue }
                switch first {
                case "Rss:": resident += kilobytes
                case "AnonHugePages:", "FilePmdMapped:", "ShmemPmdMapped:": huge += kilobytes
                default: break
                }
            } else if let dash = first.firstIndex(of: "-"),
                let low = UInt(first[..<dash], radix: 16),
                let high = UInt(first[first.index(after: dash)...], radix: 16)
            {
                counting = spans.contains { $0.overlaps(low..<high) }
            }
        }
        return resident > 0 ? Double(huge) / Double(resident) : nil
    }
}
