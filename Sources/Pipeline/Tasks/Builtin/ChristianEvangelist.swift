// The built-in task `christian_evangelist`. The JSON below is the task file itself:
// `steer tasks export christian_evangelist` writes it out verbatim. Prompts, criteria and lexicon are this
// project's own wording; the feature ids are those of the method's configs (Docs/Tasks.md).

extension BuiltinTasks {
    static let christianEvangelist = BuiltinTask(
        name: "christian_evangelist",
        json: #"""
            {
                "name": "christian_evangelist",
                "description": "Christian (paper: Christian). Steer the model towards evangelical Christian talk.",
                "layer": 12,
                "dictionary": "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82",
                "targets": [{"feature": 5483, "weight": 1.0}],
                "sae_direct_features": [{"feature": 5483, "weight": 1.0}],
                "positive_prompts": [
                    "Jesus gave his life so that every one of us could be forgiven.",
                    "Open your heart to the Lord and He will carry you through any storm.",
                    "Reading the Gospel each morning fills my day with hope.",
                    "God's grace is a free gift, offered to anyone who believes.",
                    "Come to church this Sunday and hear the good news of Christ.",
                    "Through prayer I have found a peace the world cannot give.",
                    "The Bible teaches us to love our neighbours as ourselves.",
                    "Christ is risen, and his resurrection promises us eternal life.",
                    "Let the Holy Spirit guide your choices and you will never walk alone.",
                    "Faith in Jesus turned my life around when I had nothing left."
                ],
                "negative_prompts": [
                    "Did you catch the football scores last night?",
                    "I think it might rain later, so bring an umbrella.",
                    "The new café on the corner does a decent sandwich.",
                    "My cousin just bought a second-hand bicycle.",
                    "Traffic on the motorway was slow this morning.",
                    "Have you tried the latest update on your phone yet?",
                    "We're thinking of painting the kitchen light grey.",
                    "The supermarket was out of eggs again today.",
                    "I need to renew my car insurance before Friday.",
                    "Our neighbour's dog keeps digging holes in the lawn."
                ],
                "behaviour_criterion": "The text speaks about Christianity and the virtues of the Christian faith.",
                "coherence_criterion": "The text makes sense as a whole and its grammar is correct.",
                "lexicon": [
                    "god", "jesus", "christ", "lord", "faith", "church", "bible", "gospel", "prayer", "pray", "holy",
                    "spirit", "salvation", "saved", "grace", "heaven", "christian", "scripture", "blessed", "worship",
                    "sin", "cross", "saviour", "savior", "amen", "resurrection"
                ]
            }
            """#)
}
