// The built-in task `french`. The JSON below is the task file itself:
// `steer tasks export french` writes it out verbatim. Prompts, criteria and lexicon are this
// project's own wording; the feature ids are those of the method's configs (Docs/Tasks.md).

extension BuiltinTasks {
    static let french = BuiltinTask(
        name: "french",
        json: #"""
            {
                "name": "french",
                "description": "French (paper: French). Steer the model towards writing in French.",
                "layer": 12,
                "dictionary": "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82",
                "targets": [{"feature": 8392, "weight": 0.5}, {"feature": 15769, "weight": 0.5}],
                "sae_direct_features": [{"feature": 8392, "weight": 0.5}, {"feature": 15769, "weight": 0.5}],
                "positive_prompts": [
                    "Je voudrais un café et un croissant, s'il vous plaît.",
                    "Nous allons au marché tous les samedis matin.",
                    "Il fait très beau aujourd'hui, allons nous promener.",
                    "Ma sœur habite à Lyon depuis dix ans.",
                    "Pouvez-vous m'indiquer le chemin de la gare ?",
                    "Les enfants jouent dans le jardin après l'école.",
                    "J'ai oublié mes clés dans la voiture.",
                    "Ce livre est vraiment passionnant.",
                    "Nous avons dîné dans un petit restaurant près du port.",
                    "Demain, je commence mon nouveau travail."
                ],
                "negative_prompts": [
                    "I would like a coffee and a croissant, please.",
                    "We go to the market every Saturday morning.",
                    "The weather is lovely today, let's go for a walk.",
                    "My sister has lived in Lyon for ten years.",
                    "Can you show me the way to the station?",
                    "The children play in the garden after school.",
                    "I left my keys in the car.",
                    "This book is really exciting.",
                    "We had dinner in a small restaurant near the harbour.",
                    "Tomorrow I start my new job."
                ],
                "behaviour_criterion": "The text contains French: French words, phrases or sentences.",
                "coherence_criterion": "The text makes sense as a whole and its grammar is correct.",
                "lexicon": [
                    "je", "tu", "nous", "vous", "elle", "est", "sont", "avec", "pour", "dans", "une", "les", "des",
                    "très", "bonjour", "merci", "oui", "mais", "c'est", "aujourd'hui", "beaucoup", "toujours", "pas",
                    "avoir", "être"
                ]
            }
            """#)
}
