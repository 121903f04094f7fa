// The built-in task `praise`. The JSON below is the task file itself:
// `steer tasks export praise` writes it out verbatim. Prompts, criteria and lexicon are this
// project's own wording; the feature ids are those of the method's configs (Docs/Tasks.md).

extension BuiltinTasks {
    static let praise = BuiltinTask(
        name: "praise",
        json: #"""
            {
                "name": "praise",
                "description": "Praise (paper: Praise). SAE-TS, pinv and rotation target 2054; SAE-direct uses 11919.",
                "layer": 12,
                "dictionary": "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82",
                "targets": [{"feature": 2054, "weight": 1.0}],
                "sae_direct_features": [{"feature": 11919, "weight": 1.0}],
                "positive_prompts": [
                    "Your presentation was outstanding; you explained everything beautifully.",
                    "What a brilliant idea, you've solved a problem nobody else could.",
                    "You handled that difficult customer with remarkable patience.",
                    "This is the finest painting I have seen in years.",
                    "Congratulations, your hard work truly deserves this award.",
                    "You are an exceptional teacher, and your students adore you.",
                    "The team did a superb job delivering the project early.",
                    "Your courage in speaking up was genuinely admirable.",
                    "That was a wonderful meal; you are a gifted cook.",
                    "Well done, your writing has improved enormously."
                ],
                "negative_prompts": [
                    "Your presentation was a confusing mess from start to finish.",
                    "What a ridiculous idea, did you even think before speaking?",
                    "You are hopeless at your job and everyone knows it.",
                    "This painting looks like something a toddler smeared on a wall.",
                    "Honestly, you don't deserve any of the credit.",
                    "You are a lazy, careless excuse for a teacher.",
                    "The team botched the project and wasted everyone's time.",
                    "That was a cowardly thing to do.",
                    "This meal is inedible; you can't cook at all.",
                    "Your writing is dull, clumsy and full of mistakes."
                ],
                "behaviour_criterion": "The text praises someone or something with compliments or admiration.",
                "coherence_criterion": "The text makes sense as a whole and its grammar is correct.",
                "lexicon": [
                    "praise", "excellent", "outstanding", "brilliant", "wonderful", "amazing", "admirable",
                    "impressive", "remarkable", "exceptional", "superb", "talented", "gifted", "proud",
                    "congratulations", "bravo", "commendable", "magnificent", "splendid", "fantastic", "well done",
                    "applaud", "deserve", "great job"
                ]
            }
            """#)
}
