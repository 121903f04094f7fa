import Foundation
import SteeringCore

/// Registers the judges: `openai` (an OpenAI-compatible HTTP server) and the offline judges
/// `coherence-loglik`, `lexicon` and `feature-activation`. Options are listed in Docs/Judges.md.
public enum JudgesPlugin {
    /// The options of each judge, with their defaults.
    public static let optionSpecs: [String: [PluginOptionSpec]] = [
        "openai": OpenAIJudgeConfiguration.optionSpecs,
        "lexicon": [
            PluginOptionSpec("lexicon", "comma-separated words and phrases"),
            PluginOptionSpec("lexicon-file", "a file of words (commas or lines, # comments)"),
            PluginOptionSpec("saturation", default: "3", "matches that score 10"),
        ],
        "coherence-loglik": [
            PluginOptionSpec("backend", default: "gemma2", "the backend that loads the model at the path"),
            PluginOptionSpec("low", "mean token log-likelihood scoring 0 (default: −log vocabulary size)"),
            PluginOptionSpec("high", "mean token log-likelihood scoring 10 (default: max(−3, low/2))"),
        ],
        "feature-activation": [
            PluginOptionSpec("backend", default: "gemma2", "the backend that loads the model at the path"),
            PluginOptionSpec("sae", "the feature dictionary's file or folder (required)"),
            PluginOptionSpec("dictionary", default: "jumprelu", "the dictionary plugin that loads it"),
            PluginOptionSpec("layer", "the dictionary's layer, when its files do not say"),
            PluginOptionSpec("features", "FEATURE[:WEIGHT],… (required)"),
            PluginOptionSpec("reference", "the weighted activation that scores 10 (required)"),
        ],
    ]

    /// Option keys of each judge.
    public static let optionKeys = optionSpecs.mapValues { $0.map(\.key) }

    /// Adds the judges to `registry`.
    ///
    /// The offline judges that read a model load it through the backends (and dictionaries) already
    /// in `registry` when this is called, so register the model and dictionary plugins first (the
    /// composition root does). Code that already holds a loaded model should call the judges'
    /// initialisers instead, to share it.
    public static func register(in registry: inout PluginRegistry) {
        let loaders = registry
        registry.register(judge: "openai", options: optionSpecs["openai"]!) { options in
            try OpenAIJudge(configuration: OpenAIJudgeConfiguration(options: options))
        }
        registry.register(judge: "lexicon", options: optionSpecs["lexicon"]!) { options in
            let reader = OptionReader(options: options, plugin: "lexicon")
            try reader.rejectUnknown(allowed: optionKeys["lexicon"]!)
            return try LexiconJudge(lexicon: lexicon(reader), saturation: reader.int("saturation") ?? 3)
        }
        registry.register(judge: "coherence-loglik", options: optionSpecs["coherence-loglik"]!) { options in
            let reader = OptionReader(options: options, plugin: "coherence-loglik")
            try reader.rejectUnknown(allowed: optionKeys["coherence-loglik"]!)
            let model = try loadModel(options, reader: reader, registry: loaders, judge: "coherence-loglik")
            var anchors = LogLikelihoodAnchors.uncalibrated(vocabularySize: model.descriptor.vocabularySize)
            if let low = try reader.double("low") { anchors.low = low }
            if let high = try reader.double("high") { anchors.high = high }
            return try CoherenceLogLikelihoodJudge(model: model, anchors: anchors)
        }
        registry.register(judge: "feature-activation", options: optionSpecs["feature-activation"]!) { options in
            let reader = OptionReader(options: options, plugin: "feature-activation")
            try reader.rejectUnknown(allowed: optionKeys["feature-activation"]!)
            let targets = try FeatureTarget.parseList(
                reader.required("features", hint: "give FEATURE[:WEIGHT],... e.g. 14455 or 8392:0.5,15769:0.5"))
            guard let reference = try reader.double("reference") else {
                throw SteeringError.invalidArgument(
                    what: "feature-activation option `reference`",
                    problem: "is required: the weighted activation that scores 10 (calibrate it with "
                        + "FeatureActivationJudge.calibrateReference on texts that show the behaviour)")
            }
            let model = try loadModel(options, reader: reader, registry: loaders, judge: "feature-activation")
            let layer = try reader.int("layer")
            var dictionaryValues: [String: String] = [:]
            if let layer { dictionaryValues["layer"] = String(layer) }
            let dictionary = try loaders.dictionary(
                reader.string("dictionary") ?? "jumprelu",
                PluginOptions(
                    path: reader.required("sae", hint: "give the feature dictionary (SAE) file or directory"),
                    values: dictionaryValues))
            return try FeatureActivationJudge(
                model: model, dictionary: dictionary, targets: targets, reference: reference,
                site: layer.map { ActivationSite(layer: $0) })
        }
    }

    /// The model at the options' path, loaded by the backend named in `backend` (default `gemma2`).
    private static func loadModel(
        _ options: PluginOptions, reader: OptionReader, registry: PluginRegistry, judge: String
    ) throws -> any ModelBackend {
        let path = try options.requirePath(for: judge)
        return try registry.backend(reader.string("backend") ?? "gemma2", PluginOptions(path: path))
    }

    /// The lexicon from `lexicon` (comma-separated) and/or `lexicon-file` (commas or lines, `#` comments).
    private static func lexicon(_ reader: OptionReader) throws -> Lexicon {
        var text = reader.string("lexicon") ?? ""
        if let path = reader.string("lexicon-file") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SteeringError.io(path: path, problem: "cannot read the lexicon file")
            }
            text += "\n" + String(decoding: data, as: UTF8.self)
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw SteeringError.invalidArgument(
                what: "lexicon options", problem: "give `lexicon` (comma-separated words) or `lexicon-file`")
        }
        return try Lexicon.parse(text)
    }
}
