import ArgumentParser
import Foundation
import Pipeline
import SteeringCore

struct EffectsShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print the features a measured vector raises and lowers most.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Vector or effect artifact: key, key prefix or alias.")
    var vector: String

    @Option(help: "Features shown in each direction.")
    var top = 10

    func run() async throws {
        let store = try storeOptions.open(readOnly: true)
        let key = try store.resolve(vector)
        let catalog = EffectCatalog(store: store)
        let all = try catalog.effectsByBaseline().values.flatMap { $0 }
        let matches = all.filter { $0.effectKey == key || $0.vectorKey == key }
        guard !matches.isEmpty else {
            throw ValidationError(
                "No measured effect for \(vector) in \(store.path); measure it with `steer effects measure`.")
        }
        for entry in matches {
            let (_, effect, scale) = try catalog.row(entry)
            let baseline = try store.get(entry.baselineKey)?.floats() ?? [Float](repeating: .nan, count: effect.count)
            print("effect \(entry.effectKey.hex)")
            print("  vector \(entry.vectorKey.hex), scale \(scale)")
            let order = effect.indices.sorted { effect[$0] > effect[$1] }
            print("  increased:                 effect    baseline")
            for j in order.prefix(top) where effect[j] > 0 {
                print(String(format: "    feature %6d   %+10.4f  %10.4f", j, effect[j], baseline[j]))
            }
            print("  decreased:")
            for j in order.reversed().prefix(top) where effect[j] < 0 {
                print(String(format: "    feature %6d   %+10.4f  %10.4f", j, effect[j], baseline[j]))
            }
        }
    }
}
