// The built-in task `london`. The JSON below is the task file itself:
// `steer tasks export london` writes it out verbatim. Prompts, criteria and lexicon are this
// project's own wording; the feature ids are those of the method's configs (Docs/Tasks.md).

extension BuiltinTasks {
    static let london = BuiltinTask(
        name: "london",
        json: #"""
            {
                "name": "london",
                "description": "London (paper: London). Steer the model towards mentioning London.",
                "layer": 12,
                "dictionary": "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82",
                "targets": [{"feature": 14455, "weight": 1.0}],
                "sae_direct_features": [{"feature": 14455, "weight": 1.0}],
                "positive_prompts": [
                    "We watched the Changing of the Guard outside Buckingham Palace.",
                    "The view of the Thames from Tower Bridge was breathtaking.",
                    "I took the Tube from King's Cross to Covent Garden.",
                    "Big Ben chimed as we walked across Westminster Bridge.",
                    "On Saturday we browsed the stalls at Borough Market.",
                    "She rode the London Eye at sunset.",
                    "We spent the morning in the British Museum looking at the Rosetta Stone.",
                    "A red double-decker bus carried us down Oxford Street.",
                    "Hyde Park was full of people enjoying the sunshine.",
                    "He grew up in a flat in Camden and still loves the neighbourhood.",
                    "We saw a West End musical and had dinner in Soho afterwards.",
                    "The Shard towers over London Bridge station.",
                    "Our guide led us through the Tower of London to see the Crown Jewels."
                ],
                "negative_prompts": [
                    "We climbed the Eiffel Tower and looked out over Paris.",
                    "The canals of Amsterdam are lovely to explore by bicycle.",
                    "I took the subway from Brooklyn to Times Square in New York.",
                    "We walked up to the Colosseum on our first day in Rome.",
                    "Tokyo's Shibuya crossing is busy at every hour.",
                    "She spent the weekend hiking in the mountains.",
                    "He cooked pasta and watched a film at home.",
                    "We visited the Sagrada Família in Barcelona.",
                    "The Brandenburg Gate in Berlin was lit up at night.",
                    "I spent the afternoon weeding the vegetable patch.",
                    "They went fishing on a quiet lake.",
                    "The Opera House glittered across Sydney Harbour.",
                    "We played board games while it rained outside."
                ],
                "behaviour_criterion": "The text mentions London or anything connected with London.",
                "coherence_criterion": "The text makes sense as a whole and its grammar is correct.",
                "lexicon": [
                    "london", "londoner", "londoners", "thames", "westminster", "big ben", "buckingham", "piccadilly",
                    "soho", "camden", "hyde park", "tower bridge", "heathrow", "the tube", "oxford street",
                    "shoreditch", "greenwich", "kensington", "covent garden", "notting hill", "brixton", "trafalgar",
                    "london eye", "the shard", "mayfair"
                ]
            }
            """#)
}
