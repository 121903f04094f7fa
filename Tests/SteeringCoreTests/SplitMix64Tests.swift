import Foundation
import SteeringCore
import Testing

@Suite("The seeded generator")
struct SplitMix64Tests {
    @Test("the stream is SplitMix64's published one (seed 0)")
    func referenceStream() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("uniform draws use the top bits: unitFloat takes 24, nextUnit 53")
    func uniformDraws() {
        var bits = SplitMix64(seed: 7)
        var draws = SplitMix64(seed: 7)
        for _ in 0..<1000 {
            let word = bits.next()
            let value = draws.unitFloat()
            #expect(value == Float(word >> 40) / Float(1 << 24))
            #expect(value >= 0 && value < 1)
        }
        var wordStream = SplitMix64(seed: 8)
        var unitStream = SplitMix64(seed: 8)
        #expect(unitStream.nextUnit() == Double(wordStream.next() >> 11) / Double(UInt64(1) << 53))
    }

    @Test("normal draws: two words each, mean 0 and variance 1 within sampling error")
    func normalDraws() {
        var generator = SplitMix64(seed: 11)
        var lockstep = SplitMix64(seed: 11)
        _ = generator.normal()
        _ = lockstep.next()
        _ = lockstep.next()
        #expect(generator.next() == lockstep.next())
        let count = 200_000
        var sum = 0.0
        var squares = 0.0
        for _ in 0..<count {
            let value = Double(generator.normal())
            #expect(value.isFinite)
            sum += value
            squares += value * value
        }
        let mean = sum / Double(count)
        let variance = squares / Double(count) - mean * mean
        // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance; 5 of each.
        #expect(abs(mean) < 0.011)
        #expect(abs(variance - 1) < 0.016)
    }

    @Test("permutation is a permutation, fixed by the seed, and moves elements")
    func permutation() {
        var first = SplitMix64(seed: 3)
        var second = SplitMix64(seed: 3)
        let order = first.permutation(1000)
        #expect(order == second.permutation(1000))
        #expect(order.sorted() == Array(0..<1000))
        #expect(order != Array(0..<1000))
        var empty = SplitMix64(seed: 3)
        #expect(empty.permutation(0).isEmpty)
        #expect(empty.permutation(1) == [0])
    }
}
