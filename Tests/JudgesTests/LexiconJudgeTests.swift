import SteeringCore
import Testing

@testable import Judges

@Suite("lexicon judge")
struct LexiconJudgeTests {
    @Test(
        "counting rules",
        arguments: [
            ("I love London", ["london"], 1),
            ("LONDON, london and London.", ["london"], 3),
            ("London's bridges", ["london"], 1),
            ("Londoners and londonish", ["london"], 0),
            ("Londoners and londonish", ["london*"], 2),
            ("the wedding, weddings and a wedded pair", ["wedd*"], 3),
            ("Big Ben rang; big bens; Big", ["big ben"], 1),
            ("Big Ben and big bens", ["big ben*"], 2),
            ("big ben", ["big", "big ben"], 1),
            ("the bride and groom", ["bride", "groom", "marry"], 2),
            ("rock'n'roll forever", ["rock'n'roll"], 1),
            ("nothing relevant here", ["paris", "france"], 0),
            ("", ["paris"], 0),
            ("Élan ÉLAN élan", ["élan"], 3),
        ] as [(String, [String], Int)])
    func counting(text: String, words: [String], expected: Int) throws {
        #expect(try Lexicon(words).count(in: text) == expected)
    }

    @Test("hits map to 1 + 9·min(h, N)/N")
    func scoreMap() async throws {
        let judge = try LexiconJudge(words: ["paris"], saturation: 3)
        #expect([0, 1, 2, 3, 7].map { judge.score(hits: $0) } == [1, 4, 7, 10, 10])
        let texts = ["no", "Paris", "Paris, Paris", "Paris Paris Paris", "Paris Paris Paris Paris"]
        let requests = texts.map { JudgeRequest(prompt: "I think", completion: $0, criterion: "mentions Paris") }
        #expect(await judge.score(requests).map(\.value) == [1, 4, 7, 10, 10])
        let one = try LexiconJudge(words: ["paris"], saturation: 1)
        #expect([0, 1, 5].map { one.score(hits: $0) } == [1, 10, 10])
    }

    @Test("the prompt is not counted, only the completion")
    func onlyCompletion() async throws {
        let judge = try LexiconJudge(words: ["think"])
        let result = await judge.score([JudgeRequest(prompt: "I think", completion: " so", criterion: "c")])
        #expect(result.first?.value == 1)
    }

    @Test("parsing: commas, lines and comments; identity ignores order, case and duplicates")
    func parsingAndIdentity() throws {
        let parsed = try Lexicon.parse("# London words\nLondon, Thames  # river\nbig  ben\n\n, ,")
        #expect(parsed.entries == ["big ben", "london", "thames"])
        let a = try LexiconJudge(words: ["Thames", "london", "big ben", "LONDON"])
        let b = try LexiconJudge(lexicon: parsed)
        #expect(a.identity == b.identity)
        #expect(a.identity["lexicon"] == .string(parsed.digest.hex))
        let c = try LexiconJudge(words: ["london"])
        #expect(c.identity != a.identity)
        let d = try LexiconJudge(lexicon: parsed, saturation: 5)
        #expect(d.identity != b.identity)
    }

    @Test("empty lexicons, entries without letters and saturation < 1 are rejected")
    func invalid() {
        #expect(throws: SteeringError.self) { try Lexicon([]) }
        #expect(throws: SteeringError.self) { try Lexicon(["  "]) }
        #expect(throws: SteeringError.self) { try Lexicon(["paris", "*"]) }
        #expect(throws: SteeringError.self) { try Lexicon.parse("# only a comment") }
        #expect(throws: SteeringError.self) { try LexiconJudge(words: ["paris"], saturation: 0) }
    }
}
