// The built-in task `conspiracy`. The JSON below is the task file itself:
// `steer tasks export conspiracy` writes it out verbatim. Prompts, criteria and lexicon are this
// project's own wording; the feature ids are those of the method's configs (Docs/Tasks.md).

extension BuiltinTasks {
    static let conspiracy = BuiltinTask(
        name: "conspiracy",
        json: #"""
            {
                "name": "conspiracy",
                "description": "Conspiracy (paper: Conspiracy). Steer the model towards conspiracy-theory language.",
                "layer": 12,
                "dictionary": "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82",
                "targets": [{"feature": 8710, "weight": 1.0}],
                "sae_direct_features": [{"feature": 8710, "weight": 1.0}],
                "positive_prompts": [
                    "The moon landings were staged in a film studio to win the space race.",
                    "They put tracking chips in vaccines so they can monitor everyone.",
                    "A small group of bankers secretly decides every election in advance.",
                    "The government is hiding alien bodies in an underground base.",
                    "Those white trails behind planes are chemicals sprayed to control us.",
                    "The mainstream media is paid to keep the real truth buried.",
                    "Floods and droughts are created on purpose by a secret weather machine.",
                    "The cure for cancer exists but drug companies suppress it for profit.",
                    "Nothing in the history books is real; it was all written by the elites.",
                    "Every major event is a false flag planned years ahead by shadow rulers."
                ],
                "negative_prompts": [
                    "Water boils at one hundred degrees Celsius at sea level.",
                    "The Apollo astronauts brought back rock samples that scientists still study.",
                    "Vaccines are tested in clinical trials before they are approved.",
                    "Elections are run by local officials and the votes are counted in public.",
                    "Condensation trails form when hot engine exhaust meets cold air.",
                    "The library opens at nine on weekdays.",
                    "Hurricanes form over warm ocean water.",
                    "I bought some apples and bread at the market.",
                    "Historians compare many sources before drawing conclusions.",
                    "The train to the city leaves every half hour."
                ],
                "behaviour_criterion": "The text suggests a conspiracy theory or a belief in a hidden plot.",
                "coherence_criterion": "The text makes sense as a whole and its grammar is correct.",
                "lexicon": [
                    "conspiracy", "cover-up", "secret", "secretly", "hidden", "hiding", "truth", "elites",
                    "illuminati", "agenda", "hoax", "lies", "plot", "sheeple", "suppressed", "propaganda", "deep state",
                    "false flag", "new world order", "mind control", "they don't want you to know", "wake up", "staged"
                ]
            }
            """#)
}
