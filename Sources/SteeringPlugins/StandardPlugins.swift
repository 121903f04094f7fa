import Estimators
import Gemma2
import Gemma3
import Judges
import JumpReLUSAE
public import SteeringCore
import Strategies

// The composition root: the only file that knows every plugin. Each plugin module exposes a
// `register(in:)` function; adding a plugin means one line here and one dependency in Package.swift.

extension PluginRegistry {
    /// Every plugin shipped with the framework.
    public static let standard: PluginRegistry = {
        var registry = PluginRegistry()
        Gemma2Plugin.register(in: &registry)
        Gemma3Plugin.register(in: &registry)
        JumpReLUSAEPlugin.register(in: &registry)
        EstimatorsPlugin.register(in: &registry)
        StrategiesPlugin.register(in: &registry)
        JudgesPlugin.register(in: &registry)
        return registry
    }()
}
