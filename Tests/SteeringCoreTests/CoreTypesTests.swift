import Foundation
import SteeringCore
import SteeringPlugins
import SteeringTestSupport
import Testing

@Suite("Core value types")
struct CoreTypesTests {
    @Test("feature targets parse weights and reject garbage")
    func targets() throws {
        #expect(try FeatureTarget.parseList("14455") == [FeatureTarget(feature: 14455)])
        #expect(
            try FeatureTarget.parseList("8392:0.5, 15769:0.5")
                == [FeatureTarget(feature: 8392, weight: 0.5), FeatureTarget(feature: 15769, weight: 0.5)])
        for bad in ["", "abc", "1:2:3", "-4", "5:nan"] {
            #expect(throws: SteeringError.self) { try FeatureTarget.parseList(bad) }
        }
    }

    @Test("position policies select the documented positions")
    func positions() {
        let prompt = 3
        func selected(_ p: PositionPolicy) -> [Int] { (0..<6).filter { p.applies(position: $0, promptLength: prompt) } }
        #expect(selected(.all) == [0, 1, 2, 3, 4, 5])
        #expect(selected(PositionPolicy(scope: .all, includeBOS: false)) == [1, 2, 3, 4, 5])
        #expect(selected(PositionPolicy(scope: .promptOnly)) == [0, 1, 2])
        #expect(selected(PositionPolicy(scope: .promptOnly, includeBOS: false)) == [1, 2])
        #expect(selected(PositionPolicy(scope: .generatedOnly)) == [3, 4, 5])
    }

    @Test("sites print and parse TransformerLens names")
    func sites() {
        let site = ActivationSite(layer: 12)
        #expect(site.transformerLensName == "blocks.12.hook_resid_post")
        #expect(ActivationSite(transformerLensName: "blocks.12.hook_resid_post") == site)
        #expect(ActivationSite(transformerLensName: "blocks.x.hook_resid_post") == nil)
    }

    @Test("matrix helpers")
    func matrix() {
        var m = Matrix(rows: 2, columns: 3, values: [1, 2, 3, 4, 5, 6])
        #expect(m.transposed().values == [1, 4, 2, 5, 3, 6])
        #expect(m.row(1) == [4, 5, 6])
        m.setRow(0, to: [0, 0, 0])
        #expect(m.rows(0..<1).values == [0, 0, 0])
        #expect(Vector.norm([3, 4]) == 5)
        #expect(Vector.normalized([0, 0]) == [0, 0])
        #expect(abs(Vector.cosine([1, 0], [1, 1]) - Float(0.5).squareRoot()) < 1e-6)
        #expect(throws: SteeringError.nonFinite(what: "m", index: 1)) {
            try Matrix(rows: 1, columns: 2, values: [0, .nan]).checkFinite("m")
        }
    }

    @Test("the registry names what is available when a plugin is unknown")
    func unknownPlugin() {
        let registry = PluginRegistry.standard
        do {
            _ = try registry.strategy("no-such-strategy")
            Issue.record("expected an error")
        } catch let error as SteeringError {
            guard case .unknownPlugin(let kind, let name, let available) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(kind == "strategy" && name == "no-such-strategy")
            #expect(available == registry.strategyNames)
            #expect(error.description.contains("Unknown strategy 'no-such-strategy'"))
        } catch {
            Issue.record("wrong error type \(error)")
        }
    }

    @Test("every plugin declares its options; undeclared keys are refused naming the declared ones")
    func declaredOptions() throws {
        let registry = PluginRegistry.standard
        for kind in PluginKind.allCases {
            #expect(!registry.names(of: kind).isEmpty)
            for name in registry.names(of: kind) { _ = try registry.options(of: kind, named: name) }
        }
        #expect(try registry.options(of: .strategy, named: "sae-ts").map(\.key) == ["lambda"])
        #expect(try registry.options(of: .strategy, named: "sae-ts").first?.defaultValue == "1")
        try registry.checkOptionKeys(["epochs", "seed"], of: .estimator, named: "linear-adam")
        #expect(throws: SteeringError.self) { try registry.checkOptionKeys(["mu"], of: .strategy, named: "sae-ts") }
        #expect(throws: SteeringError.self) { try registry.checkOptionKeys(["x"], of: .strategy, named: "sae-direct") }
        #expect(throws: SteeringError.self) { try registry.options(of: .judge, named: "oracle") }
        do {
            try registry.checkOptionKeys(["epoch"], of: .estimator, named: "linear-adam")
        } catch {
            #expect("\(error)".contains("option 'epoch'") && "\(error)".contains("its options are learning-rate"))
        }
        // The declarations are the plugins' own lists: every declared default is accepted as given, and
        // an undeclared key is refused by the plugin itself with exactly the declared keys.
        for name in registry.names(of: .estimator) {
            let options = try registry.options(of: .estimator, named: name)
            var values = [String: String]()
            for option in options { if let value = option.defaultValue { values[option.key] = value } }
            _ = try registry.estimator(name, PluginOptions(values: values))
            #expect(throws: SteeringError.self) { try registry.estimator(name, PluginOptions(values: ["zz": "1"])) }
        }
        // Every input any strategy needs, so that the option check is what fails.
        var inputs = StrategyInputs(site: ActivationSite(layer: 1))
        inputs.model = try registry.backend("gemma2", PluginOptions(path: fixturePath("gemma2/tiny-f32")))
        inputs.dictionary = try registry.dictionary(
            "jumprelu", PluginOptions(path: fixturePath("sae/gemma_scope/layer_1/width_256/average_l0_20")))
        var rng = SeededGenerator(seed: 1)
        inputs.effectModel = LinearEffectModel(
            weight: Matrix(
                rows: 64, columns: 256, values: (0..<(64 * 256)).map { _ in Float.random(in: -1...1, using: &rng) }),
            bias: (0..<256).map { _ in Float.random(in: -1...1, using: &rng) })
        inputs.targets = [FeatureTarget(feature: 3)]
        inputs.positivePrompts = ["the cat"]
        inputs.negativePrompts = ["the house"]
        for name in registry.names(of: .strategy) {
            let strategy = try registry.strategy(name)
            _ = try strategy.makeVector(inputs)
            var extra = inputs
            extra.options = ["zz": .string("1")]
            let declared = try registry.options(of: .strategy, named: name).map(\.key).sorted()
            let error = #expect(throws: SteeringError.self, "\(name) accepted an undeclared option") {
                try strategy.makeVector(extra)
            }
            let text = error.map { "\($0)" } ?? ""
            #expect(
                text.contains(declared.isEmpty ? "takes no options" : "accepted: \(declared.joined(separator: ", "))"),
                "\(name): \(text)")
        }
    }

    @Test("progress formatting")
    func progressFormatting() {
        #expect(ProgressReporter.formatDuration(3725) == "1h02m")
        #expect(ProgressReporter.formatDuration(185) == "3m05s")
        #expect(ProgressReporter.formatDuration(12) == "12s")
        #expect(ProgressReporter.formatRate(0.5, unit: "vectors") == "1800.0 vectors/h")
        let quiet = ProgressReporter(label: "x", total: 3, unit: "items", enabled: false)
        quiet.advance(by: 2)
        #expect(quiet.completed == 2)
    }

    @Test("atomic writes leave either the whole file or nothing")
    func atomicWrite() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.bin"
        try AtomicFile.write([1, 2, 3], to: path)
        #expect(FileManager.default.contents(atPath: path) == Data([1, 2, 3]))
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try AtomicFile.write(to: path) { fd in
                try AtomicFile.writeAll(fd, UnsafeRawBufferPointer(start: nil, count: 0), path: path)
                throw Boom()
            }
        }
        #expect(FileManager.default.contents(atPath: path) == Data([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.bin"])
        #expect(throws: SteeringError.self) { try AtomicFile.write([1], to: dir + "/missing/x.bin") }
        #expect(throws: SteeringError.self) { try AtomicFile.write([1], to: dir) }
    }
}
