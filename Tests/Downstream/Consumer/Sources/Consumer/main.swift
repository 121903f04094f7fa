// Makes a steering vector through the plugin registry and reads one that `steer` stored.
// Usage: Consumer SAE_DIRECTORY FEATURE STORE ALIAS
import ArtifactStore
import Foundation
import SteeringCore
import SteeringPlugins

let arguments = CommandLine.arguments
guard arguments.count == 5, let feature = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: Consumer SAE_DIRECTORY FEATURE STORE ALIAS\n".utf8))
    exit(2)
}
do {
    let registry = PluginRegistry.standard
    let dictionary = try registry.dictionary("jumprelu", PluginOptions(path: arguments[1]))
    let vector = try registry.strategy("sae-direct").makeVector(
        StrategyInputs(site: dictionary.descriptor.site ?? ActivationSite(layer: 1), targets: [FeatureTarget(feature: feature)], dictionary: dictionary))
    let store = try ArtifactStore(path: arguments[3], readOnly: true)
    guard let artifact = try store.get(try store.resolve(arguments[4])) else {
        throw SteeringError.invalidArgument(what: "alias", problem: "'\(arguments[4])' resolves to nothing")
    }
    let stored = try artifact.floats()
    let difference = zip(vector.values, stored).map { abs($0 - $1) }.max() ?? .infinity
    print("made \(vector.values.count) values at layer \(vector.site.layer); read \(stored.count) values; max |Δ| \(difference)")
    exit(stored.count == vector.values.count && difference <= 1e-6 ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("Consumer: \(error)\n".utf8))
    exit(1)
}
