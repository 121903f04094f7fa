// The built-in task `anger`. The JSON below is the task file itself:
// `steer tasks export anger` writes it out verbatim. Prompts, criteria and lexicon are this
// project's own wording; the feature ids are those of the method's configs (Docs/Tasks.md).

extension BuiltinTasks {
    static let anger = BuiltinTask(
        name: "anger",
        json: #"""
            {
                "name": "anger",
                "description": "Anger (paper: Anger). Steer the model towards angry language.",
                "layer": 12,
                "dictionary": "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82",
                "targets": [{"feature": 4111, "weight": 1.0}],
                "sae_direct_features": [{"feature": 4111, "weight": 1.0}],
                "positive_prompts": [
                    "I am absolutely furious that they lied to my face again.",
                    "Get out of my house before I lose my temper completely!",
                    "This stupid printer has jammed for the fifth time and I want to smash it.",
                    "How dare you talk to my mother like that?",
                    "I'm sick to death of cleaning up after everyone in this office.",
                    "That referee robbed us and I'm still shaking with rage.",
                    "Every time he interrupts me my blood boils.",
                    "They cancelled my flight without warning and I am livid.",
                    "Stop wasting my time with your pathetic excuses!",
                    "I hate how this company treats its customers like garbage."
                ],
                "negative_prompts": [
                    "I spent a quiet afternoon reading by the window.",
                    "The tea is warm and the garden looks peaceful this morning.",
                    "We took our time and strolled along the river after lunch.",
                    "She explained the plan calmly and everyone agreed.",
                    "The waves rolled gently onto the sand.",
                    "I feel relaxed after a long, restful night of sleep.",
                    "He smiled and said there was no rush at all.",
                    "The library was silent except for the turning of pages.",
                    "Our meeting went smoothly and finished early.",
                    "A soft breeze moved through the trees as the sun went down."
                ],
                "behaviour_criterion": "The text expresses anger through angry words or an angry, hostile tone.",
                "coherence_criterion": "The text makes sense as a whole and its grammar is correct.",
                "lexicon": [
                    "angry", "anger", "furious", "fury", "rage", "raging", "mad", "hate", "hatred", "outraged",
                    "outrage", "livid", "irritated", "annoyed", "infuriating", "infuriated", "resent", "hostile",
                    "yell", "yelling", "scream", "screaming", "damn", "fed up", "sick of", "how dare"
                ]
            }
            """#)
}
