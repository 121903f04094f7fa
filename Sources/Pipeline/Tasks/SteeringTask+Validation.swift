import Foundation
import SteeringCore

extension SteeringTask {
    /// Checks what decoding cannot: a usable name, non-empty text fields, `layer ≥ 0`, non-empty target
    /// lists with non-negative, distinct ids and finite weights (not all zero), non-empty prompt sets
    /// without empty or repeated prompts, and a lexicon without empty or repeated entries.
    /// - Parameter source: Names the task in messages, e.g. `task file /path/anger.json`.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` naming `source` and the field.
    public func validate(source: String) throws(PipelineError) {
        func fail(_ field: String, _ problem: String) -> PipelineError {
            .invalidInput(what: "\(source), field '\(field)'", problem: problem)
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_-")
        guard let first = name.first, first.isLetter || first.isNumber, name.allSatisfy(allowed.contains) else {
            throw fail("name", "'\(name)' must be non-empty lowercase letters, digits, '_' or '-', e.g. my_task")
        }
        for (field, text) in [
            ("description", description), ("dictionary", dictionary), ("behaviour_criterion", behaviourCriterion),
            ("coherence_criterion", coherenceCriterion),
        ] where text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw fail(field, "is empty; write one")
        }
        guard layer >= 0 else { throw fail("layer", "is \(layer); give a block index ≥ 0 (the method uses 12)") }
        for (field, list) in featureLists {
            guard !list.isEmpty else {
                throw fail(field, "is empty; give at least one {\"feature\": ID, \"weight\": W}")
            }
            var seen = Set<Int>()
            for (index, target) in list.enumerated() {
                guard target.feature >= 0 else {
                    throw fail("\(field)[\(index)].feature", "is \(target.feature); feature ids are ≥ 0")
                }
                guard seen.insert(target.feature).inserted else {
                    throw fail("\(field)[\(index)].feature", "feature \(target.feature) appears twice; list it once")
                }
                guard target.weight.isFinite else {
                    throw fail("\(field)[\(index)].weight", "is \(target.weight); weights must be finite")
                }
            }
            guard list.contains(where: { $0.weight != 0 }) else {
                throw fail(field, "every weight is zero; give at least one non-zero weight")
            }
        }
        for (field, prompts) in [("positive_prompts", positivePrompts), ("negative_prompts", negativePrompts)] {
            guard !prompts.isEmpty else {
                throw fail(field, "is empty; CAA needs at least one prompt (the method uses 10–13)")
            }
            var seen = Set<String>()
            for (index, prompt) in prompts.enumerated() {
                guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw fail("\(field)[\(index)]", "is empty; remove it or write the prompt")
                }
                guard seen.insert(prompt).inserted else {
                    throw fail("\(field)[\(index)]", "repeats \"\(prompt)\"; list each prompt once")
                }
            }
        }
        if let lexicon {
            var seen = Set<String>()
            for (index, entry) in lexicon.enumerated() {
                let word = entry.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
                guard !word.isEmpty else { throw fail("lexicon[\(index)]", "is empty; remove it") }
                guard seen.insert(word).inserted else {
                    throw fail("lexicon[\(index)]", "repeats \"\(entry)\"; list each entry once")
                }
            }
        }
    }
}
