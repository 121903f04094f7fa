// The built-in task `wedding`. The JSON below is the task file itself:
// `steer tasks export wedding` writes it out verbatim. Prompts, criteria and lexicon are this
// project's own wording; the feature ids are those of the method's configs (Docs/Tasks.md).

extension BuiltinTasks {
    static let wedding = BuiltinTask(
        name: "wedding",
        json: #"""
            {
                "name": "wedding",
                "description": "Wedding (paper: Wedding). Steer the model towards talking about weddings.",
                "layer": 12,
                "dictionary": "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82",
                "targets": [{"feature": 4230, "weight": 1.0}],
                "sae_direct_features": [{"feature": 4230, "weight": 1.0}],
                "positive_prompts": [
                    "We booked the venue for our wedding next June.",
                    "The bride chose a simple ivory dress with lace sleeves.",
                    "I still need to send out the wedding invitations.",
                    "The florist is preparing white roses for the ceremony.",
                    "My best friend asked me to be a bridesmaid.",
                    "We're tasting three different wedding cakes this weekend.",
                    "The groom practised his vows all night.",
                    "Our seating plan for the reception is finally done.",
                    "They hired a band to play at the wedding party.",
                    "After the ceremony, the newlyweds left for their honeymoon."
                ],
                "negative_prompts": [
                    "We booked a table for dinner next Friday.",
                    "She chose a warm coat for the winter.",
                    "I still need to send the quarterly report to my manager.",
                    "The gardener is planting tulips along the path.",
                    "My friend asked me to help her move house.",
                    "We're trying three different pizza places this weekend.",
                    "The student practised his speech for the debate.",
                    "Our timetable for the exams is finally done.",
                    "They hired a plumber to fix the leaking pipe.",
                    "After the match, the players went home to rest."
                ],
                "behaviour_criterion": "The text is about a wedding: the ceremony, its planning or the celebration.",
                "coherence_criterion": "The text makes sense as a whole and its grammar is correct.",
                "lexicon": [
                    "wedding", "weddings", "bride", "groom", "marriage", "married", "marry", "ceremony", "vows",
                    "reception", "bridesmaid", "honeymoon", "engagement", "engaged", "fiancé", "fiancée", "veil",
                    "altar", "bouquet", "best man", "newlyweds", "officiant", "ring", "wed"
                ]
            }
            """#)
}
