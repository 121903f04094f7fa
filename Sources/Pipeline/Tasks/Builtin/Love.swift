// The built-in task `love`. The JSON below is the task file itself:
// `steer tasks export love` writes it out verbatim. Prompts, criteria and lexicon are this
// project's own wording; the feature ids are those of the method's configs (Docs/Tasks.md).

extension BuiltinTasks {
    static let love = BuiltinTask(
        name: "love",
        json: #"""
            {
                "name": "love",
                "description": "Love (paper: Love). Steer the model towards loving, affectionate language.",
                "layer": 12,
                "dictionary": "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82",
                "targets": [{"feature": 16036, "weight": 0.5}, {"feature": 7863, "weight": 0.5}],
                "sae_direct_features": [{"feature": 16036, "weight": 0.5}, {"feature": 7863, "weight": 0.5}],
                "positive_prompts": [
                    "I love you more with every day we spend together.",
                    "Holding my newborn daughter, my heart overflowed with love.",
                    "You are the kindest, dearest person I have ever known.",
                    "My grandparents still hold hands after sixty years of marriage.",
                    "I adore the way you laugh at your own jokes.",
                    "Nothing makes me happier than coming home to you.",
                    "She wrapped her arms around him and whispered that she cherished him.",
                    "Our dog greets us every evening with so much affection.",
                    "I would cross any ocean just to see you smile.",
                    "Thank you for loving me even on my worst days."
                ],
                "negative_prompts": [
                    "I can't stand being in the same room as him.",
                    "Whatever you decide makes no difference to me.",
                    "I despise everything about this place.",
                    "Their opinions don't interest me in the slightest.",
                    "She glared at him with pure contempt.",
                    "I honestly don't care whether they call or not.",
                    "He resents his brother and refuses to speak to him.",
                    "The meeting was dull and I felt nothing either way.",
                    "I loathe the sound of her voice.",
                    "It is just another ordinary day, and none of it matters to me."
                ],
                "behaviour_criterion": "The text expresses love: words about love or a loving, affectionate feeling.",
                "coherence_criterion": "The text makes sense as a whole and its grammar is correct.",
                "lexicon": [
                    "love", "loving", "loved", "lovely", "adore", "adored", "affection", "affectionate", "darling",
                    "sweetheart", "heart", "cherish", "cherished", "tender", "romance", "romantic", "kiss", "hug",
                    "beloved", "devoted", "caring", "warmth", "dear", "passion"
                ]
            }
            """#)
}
