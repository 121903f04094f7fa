import Foundation
import SteeringCore

/// Registers the judges: `openai` (an OpenAI-compatible HTTP server) and the offline judges
/// `coherence-loglik`, `lexicon` and `feature-activation`. Options are declared below (`steer plugins`)
/// and described in Docs/Judges.md.
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
    /// The creators use what ``JudgeContext`` holds: the model and dictionary already loaded (else they
    /// load them by plugin name through the registry creating the judge, so registration order does not
    /// matter), and the subject — a task's lexicon when no `lexicon` option is given, its target features
    /// and examples (the reference activation is calibrated on them when no `reference` is given), and
    /// unsteered reference completions (the log-likelihood anchors are calibrated on them).
    public static func register(in registry: inout PluginRegistry) {
        registry.register(judge: "openai", options: optionSpecs["openai"]!) { options, _ in
            try OpenAIJudge(configuration: OpenAIJudgeConfiguration(options: options))
        }
        registry.register(judge: "lexicon", options: optionSpecs["lexicon"]!) { options, context in
            let reader = OptionReader(options: options, plugin: "lexicon")
            try reader.rejectUnknown(allowed: optionKeys["lexicon"]!)
            let saturation = try reader.int("saturation") ?? 3
            if reader.string("lexicon") == nil, reader.string("lexicon-file") == nil,
                let words = context.subject?.lexicon, !words.isEmpty
            {
                return try LexiconJudge(words: words, saturation: saturation)
            }
            return try LexiconJudge(lexicon: lexicon(reader), saturation: saturation)
        }
        registry.register(judge: "coherence-loglik", options: optionSpecs["coherence-loglik"]!) { options, context in
            let reader = OptionReader(options: options, plugin: "coherence-loglik")
            try reader.rejectUnknown(allowed: optionKeys["coherence-loglik"]!)
            let model =
                try context.model ?? loadModel(options, reader: reader, context: context, judge: "coherence-loglik")
            var anchors = LogLikelihoodAnchors.uncalibrated(vocabularySize: model.descriptor.vocabularySize)
            if reader.string("low") == nil || reader.string("high") == nil, let make = context.subject?.references {
                anchors = try CoherenceLogLikelihoodJudge.calibrateAnchors(model: model, references: make())
            }
            if let low = try reader.double("low") { anchors.low = low }
            if let high = try reader.double("high") { anchors.high = high }
            return try CoherenceLogLikelihoodJudge(model: model, anchors: anchors)
        }
        registry.register(judge: "feature-activation", options: optionSpecs["feature-activation"]!) {
            options, context in
            let reader = OptionReader(options: options, plugin: "feature-activation")
            try reader.rejectUnknown(allowed: optionKeys["feature-activation"]!)
            let subject = context.subject
            let targets: [FeatureTarget]
            if reader.string("features") == nil, let given = subject?.targets, !given.isEmpty {
                targets = given
            } else {
                targets = try FeatureTarget.parseList(
                    reader.required("features", hint: "give FEATURE[:WEIGHT],... e.g. 14455 or 8392:0.5,15769:0.5"))
            }
            let layer = try reader.int("layer")
            let site = layer.map { ActivationSite(layer: $0) } ?? subject?.site
            let reference = try reader.double("reference")
            let examples = subject?.examples ?? []
            guard reference != nil || !examples.isEmpty else {
                throw SteeringError.invalidArgument(
                    what: "feature-activation option `reference`",
                    problem: "is required: the weighted activation that scores 10 (calibrate it with "
                        + "FeatureActivationJudge.calibrateReference on texts that show the behaviour)")
            }
            let model =
                try context.model
                ?? loadModel(options, reader: reader, context: context, judge: "feature-activation")
            let dictionary: any FeatureDictionary
            if let given = context.dictionary {
                dictionary = given
            } else {
                var dictionaryValues: [String: String] = [:]
                if let layer { dictionaryValues["layer"] = String(layer) }
                dictionary = try creatingRegistry(context).dictionary(
                    reader.string("dictionary") ?? "jumprelu",
                    PluginOptions(
                        path: reader.required("sae", hint: "give the feature dictionary (SAE) file or directory"),
                        values: dictionaryValues))
            }
            let calibrated =
                try reference
                ?? FeatureActivationJudge.calibrateReference(
                    model: model, dictionary: dictionary, targets: targets, site: site,
                    texts: examples.map {
                        JudgeRequest(prompt: "", completion: $0, criterion: subject?.criterion ?? "")
                    })
            return try FeatureActivationJudge(
                model: model, dictionary: dictionary, targets: targets, reference: calibrated, site: site)
        }
    }

    /// The registry that is creating the judge (``PluginRegistry/judge(_:_:context:)`` sets it).
    private static func creatingRegistry(_ context: JudgeContext) throws -> PluginRegistry {
        guard let registry = context.registry else {
            throw SteeringError.invalidArgument(
                what: "judge context", problem: "has no registry to load a model or dictionary with")
        }
        return registry
    }

    /// The model at the options' path, loaded by the backend named in `backend` (default `gemma2`).
    private static func loadModel(
        _ options: PluginOptions, reader: OptionReader, context: JudgeContext, judge: String
    ) throws -> any ModelBackend {
        let path = try options.requirePath(for: judge)
        return try creatingRegistry(context).backend(reader.string("backend") ?? "gemma2", PluginOptions(path: path))
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
