import Foundation
import Testing

@testable import SteeringNumerics

@Suite("Huge-page coverage from /proc/self/smaps")
struct HugePagesTests {
    static let smaps = """
        7f0000000000-7f0000600000 r--p 00000000 fe:01 1234                       /models/model.safetensors
        Size:               6144 kB
        Rss:                6144 kB
        AnonHugePages:         0 kB
        FilePmdMapped:      4096 kB
        VmFlags: rd mr mw me
        7f0000600000-7f0000a00000 rw-p 00000000 00:00 0
        Size:               4096 kB
        Rss:                4096 kB
        AnonHugePages:      2048 kB
        FilePmdMapped:         0 kB
        7f0001000000-7f0001001000 r--p 00000000 fe:01 99                         /lib/other.so
        Rss:                   4 kB
        FilePmdMapped:         0 kB
        """

    @Test("sums Rss and the 2 MiB-page fields over the mappings that overlap the ranges")
    func parsed() {
        let file: Range<UInt> = 0x7f00_0000_1000..<0x7f00_0000_2000
        let anonymous: Range<UInt> = 0x7f00_0060_0000..<0x7f00_0070_0000
        #expect(HugePages.coverage(smaps: Self.smaps, spans: [file]) == 4096.0 / 6144)
        #expect(HugePages.coverage(smaps: Self.smaps, spans: [anonymous]) == 0.5)
        #expect(HugePages.coverage(smaps: Self.smaps, spans: [file, anonymous]) == 6144.0 / 10240)
        // Nothing mapped there: no answer rather than a made-up 0.
        #expect(HugePages.coverage(smaps: Self.smaps, spans: [0x1000..<0x2000]) == nil)
    }

    @Test("this process's own memory gets an answer between 0 and 1 on Linux")
    func live() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 1)
        #if os(Linux)
            let fraction = HugePages.coverage(of: [UnsafeRawBufferPointer(buffer)])
            #expect(fraction != nil && fraction! >= 0 && fraction! <= 1)
        #endif
    }
}
