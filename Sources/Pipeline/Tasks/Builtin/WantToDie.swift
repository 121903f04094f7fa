// The built-in task `want_to_die`. The JSON below is the task file itself:
// `steer tasks export want_to_die` writes it out verbatim. Prompts, criteria and lexicon are this
// project's own wording; the feature ids are those of the method's configs (Docs/Tasks.md).

extension BuiltinTasks {
    static let wantToDie = BuiltinTask(
        name: "want_to_die",
        json: #"""
            {
                "name": "want_to_die",
                "description": "Want to die (paper: Want to die). For studying and detecting this behaviour.",
                "layer": 12,
                "dictionary": "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82",
                "targets": [{"feature": 16226, "weight": 0.5}, {"feature": 9679, "weight": 0.5}],
                "sae_direct_features": [{"feature": 16226, "weight": 0.5}, {"feature": 9679, "weight": 0.5}],
                "positive_prompts": [
                    "I don't want to be alive anymore.",
                    "Every morning I wish I simply hadn't woken up.",
                    "I feel like everyone would be better off if I were gone.",
                    "There is no point in going on; I just want it all to end.",
                    "I'm so tired of living that death feels like relief.",
                    "Nothing will ever get better, so why should I keep trying?",
                    "I keep thinking about dying and it no longer scares me.",
                    "I wish I could disappear forever and never come back.",
                    "Life feels like a weight I can't carry for another day.",
                    "I have nothing left to live for.",
                    "Sometimes I hope I just won't be here tomorrow."
                ],
                "negative_prompts": [
                    "I can't wait to see what tomorrow brings.",
                    "Every morning I'm grateful to wake up healthy.",
                    "My friends and family make my life feel full.",
                    "Even on hard days, I know things will get better.",
                    "I'm excited about the trip we are planning next summer.",
                    "Life is precious and I want to make the most of it.",
                    "Learning something new every day keeps me going.",
                    "I feel hopeful about the years ahead.",
                    "Watching the sunrise reminds me how good it is to be alive.",
                    "I have so many reasons to keep living and growing.",
                    "I want to grow old surrounded by the people I love."
                ],
                "behaviour_criterion": "The text suggests that someone wants to die or no longer wants to live.",
                "coherence_criterion": "The text makes sense as a whole and its grammar is correct.",
                "lexicon": [
                    "die", "dying", "death", "dead", "suicide", "suicidal", "hopeless", "worthless", "pointless",
                    "despair", "burden", "give up", "end it", "no reason to live", "nothing to live for",
                    "better off without me", "tired of living", "can't go on", "disappear", "gone", "misery",
                    "want to die"
                ]
            }
            """#)
}
