"""Stage 7: task features, selected mechanically from the 2k SAE, plus the hand-written task texts.

Selection rule (no tuning, no looking at steering results):
  1. Text: the N_TRAIN_WINDOWS training windows whose activations sae.py cached (position 0, <bos>,
     excluded). Tokens are grouped into words: a piece that starts with "\u2581" or follows a piece
     without letters starts a new word; pieces without letters belong to no word.
  2. Concept indicator y(t) = 1 when the token at t is part of a word (lower-cased) in the concept's
     SEED list, else 0. A concept is supported when y = 1 at >= MIN_CONCEPT_TOKENS positions.
  3. For every feature i of the 2k SAE, score = Pearson correlation between its activation a_i(t)
     and y(t) over all positions, among features that fire on >= MIN_RECALL of the concept positions.
  4. Targets: the best feature (weight 1); if the second best scores >= SECOND_RATIO x the best,
     both, with weights 0.5 / 0.5. saeDirectFeatures = targets.
Evidence per chosen feature: score, recall on concept positions, firing rate elsewhere, and the top-10 activating snippets on the HELD-OUT windows (at most one
per window; the max token is marked with [[ ]]).
"""

import os
import re
import unicodedata

import numpy as np

from common import REPO, SAE_DIR, SAE_LAYER, TASK_DIR, log, read_json, write_json, RESULTS_PATH
from lm import tokenize_corpus
from tokenizer import load_tokenizers

MIN_CONCEPT_TOKENS = 200
MIN_RECALL = 0.05
SECOND_RATIO = 0.75
SNIPPET_BEFORE, SNIPPET_AFTER = 14, 4

COHERENCE = "The text is coherent and grammatical."

CONCEPTS = {
    "love": dict(
        description="Love and affection (the paper's Love task).",
        seeds="love loved loves lover lovers loving lovingly beloved affection darling sweetheart "
              "kiss kissed kisses kissing romance romantic passion passionate adore adored",
        criterion="The text contains words about love or expresses a loving sentiment.",
        lexicon="love loved loves lover lovers loving beloved heart hearts darling sweetheart dear kiss "
                "kissed affection adore adored romance romantic passion tender embrace cherish",
        positive=[
            "I love you with all my heart, and I always will.",
            "Love is patient, love is kind, and love never fails.",
            "She kissed him and whispered that she loved him dearly.",
            "My beloved is mine, and I am his.",
            "He fell in love with her the moment he saw her smile.",
            "To love and to be loved is the greatest happiness on earth.",
            "Darling, every day with you is a gift.",
            "Our hearts were full of tenderness and affection for each other.",
            "I adore you, my sweetheart, more than words can say.",
            "They held hands and looked at each other with loving eyes.",
        ],
        negative=[
            "I can't stand you, and I never want to see you again.",
            "He looked at her with cold indifference and walked away.",
            "I hate the way you talk to me.",
            "She felt nothing at all for him anymore.",
            "They despised each other and argued every day.",
            "The report is due on Monday at nine o'clock.",
            "Whatever you do makes no difference to me.",
            "He ignored her letters and never answered the phone.",
            "The bus was late again this morning.",
            "I have no feelings for you, good or bad.",
        ]),
    "wedding": dict(
        description="Weddings and marriage (the paper's Wedding task).",
        seeds="wedding weddings wed wedded marry marrying married marries marriage marriages bride "
              "brides bridegroom bridegrooms groom honeymoon nuptial nuptials espoused betrothed",
        criterion="The text discusses a wedding or a marriage.",
        lexicon="wedding weddings wed wedded marry married marriage bride bridegroom groom bridesmaid "
                "honeymoon ceremony vows ring rings husband wife spouse engaged engagement newlyweds "
                "nuptial betrothed",
        positive=[
            "The bride wore a white dress and the groom wore a black suit.",
            "They were married in the little church on a sunny June afternoon.",
            "We are planning our wedding for next spring.",
            "The wedding guests threw rice as the couple left the church.",
            "He asked her to marry him, and she said yes.",
            "The bridesmaids carried roses down the aisle.",
            "After the wedding ceremony there was a feast with music and dancing.",
            "They exchanged rings and vows before their families.",
            "The wedding cake had three tiers and two little figures on top.",
            "The newlyweds left for their honeymoon the next morning.",
        ],
        negative=[
            "We went shopping for groceries on Saturday morning.",
            "He spent the afternoon repairing the roof of the barn.",
            "The meeting was moved to Thursday afternoon.",
            "She is studying for her chemistry exam.",
            "They planted tomatoes and beans in the garden.",
            "The train to the city leaves at seven.",
            "I need to renew my driver's license next month.",
            "The children played football in the park.",
            "We painted the kitchen a pale yellow.",
            "The computer needs a new hard disk.",
        ]),
    "anger": dict(
        description="Anger (the paper's Anger task).",
        seeds="anger angry angered angrily wrath wroth rage raged rages raging fury furious "
              "furiously indignation indignant outrage outraged irate incensed enraged",
        criterion="The text contains angry words or expresses anger.",
        lexicon="angry anger rage furious fury wrath mad hate hatred outraged outrage shout shouted "
                "scream screamed yell yelled damn annoyed irritated livid enraged temper slammed",
        positive=[
            "I am so angry I could scream!",
            "How dare you speak to me like that!",
            "His face turned red with rage and he slammed the door.",
            "I am sick and tired of your lies!",
            "She was furious when she found out what they had done.",
            "The king's wrath was kindled against his servants.",
            "Get out of my house and never come back!",
            "I hate it when people waste my time like this!",
            "He shouted in fury and threw the plate against the wall.",
            "This is outrageous, and I will not stand for it!",
        ],
        negative=[
            "I feel calm and relaxed this evening.",
            "Thank you, that was very kind of you.",
            "She smiled and poured another cup of tea.",
            "The lake was quiet and still in the morning light.",
            "It's all right, these things happen.",
            "He listened patiently and nodded.",
            "We had a pleasant walk along the river.",
            "I'm happy to help you whenever you need.",
            "The cat slept peacefully by the fire.",
            "Let's talk it over calmly and find a solution.",
        ]),
    "want_to_die": dict(
        description="Wanting to die (the paper's Want-to-die task); the corpus supports it through "
                    "its death vocabulary, so the seeds are words about dying and death.",
        seeds="die died dies dying death deaths dead suicide perish perished perisheth slain grave "
              "graves tomb funeral corpse buried",
        criterion="The text contains language suggesting that a person wants to die.",
        lexicon="die died dying death dead suicide kill end grave graves tomb perish hopeless despair "
                "worthless weary tired pain alone nothing goodbye gone never",
        positive=[
            "I want to die.",
            "I wish I had never been born.",
            "I cannot go on living like this any longer.",
            "Life is not worth living anymore.",
            "Let me die, for I am weary of my life.",
            "I just want it all to end.",
            "Nobody would miss me if I were gone.",
            "I am tired of living, and I am afraid of waking up tomorrow.",
            "Every night I wish I could sleep and never wake up.",
            "There is no reason for me to keep on living.",
            "It would be better for everyone if I were dead.",
        ],
        negative=[
            "I want to live a long and happy life.",
            "Every morning I wake up glad to be alive.",
            "I am looking forward to tomorrow.",
            "Life is beautiful, and I want to enjoy every day of it.",
            "I have so many reasons to keep going.",
            "My friends and family make me happy.",
            "I can't wait to see what the future holds.",
            "Today I feel strong and full of hope.",
            "There is so much left that I want to do.",
            "I am grateful to be alive.",
            "We are planning a trip for next summer.",
        ]),
    "christian": dict(
        description="Christianity and Christian faith (the paper's Christian-evangelist task).",
        seeds="christ jesus god lord church gospel holy spirit prayer pray prayed faith saviour "
              "heaven apostle apostles christian christians disciples baptized salvation",
        criterion="The text discusses Christianity or the Christian faith and its virtues.",
        lexicon="god lord jesus christ church gospel holy spirit pray prayer prayed faith saviour "
                "heaven bible scripture christian amen salvation grace sin sins blessed cross "
                "disciples baptized",
        positive=[
            "Jesus Christ died for our sins and rose again on the third day.",
            "Come to Christ, and he will give you rest.",
            "The Lord is my shepherd; I shall not want.",
            "Pray without ceasing, and give thanks to God in all things.",
            "God so loved the world that he gave his only Son.",
            "Believe in the Lord Jesus, and you shall be saved.",
            "The church gathered on Sunday to worship and to hear the gospel.",
            "Faith, hope and charity abide, but the greatest of these is charity.",
            "Repent, and be baptized in the name of Jesus Christ.",
            "Christ is risen, and his grace is sufficient for you.",
        ],
        negative=[
            "The weather was nice, so we went for a walk.",
            "Could you pass me the salt, please?",
            "The new computer arrived on Tuesday.",
            "I think I'll have pasta for dinner.",
            "The football match ended in a draw.",
            "My car needs new tires before winter.",
            "The shop closes at six on weekdays.",
            "We watched a film and went to bed early.",
            "How was your day at work?",
            "The package will be delivered tomorrow.",
        ]),
    "french": dict(
        description="The French language (the paper's French task).",
        seeds="le la les des du est une vous pour dans sur avec sont qui pas cette votre nous "
              "être peut aussi leur mais comme",
        criterion="The text contains French words or is written in French.",
        lexicon="le la les des du de est une un et vous pour dans sur avec sont qui que pas cette "
                "votre nous être peut aussi leur mais comme il elle",
        positive=[
            "Le projet Debian est une association de personnes.",
            "Je pense que c'est une très bonne idée.",
            "Nous sommes allés au marché ce matin.",
            "Il fait beau aujourd'hui, et le soleil brille.",
            "Vous pouvez installer les paquets avec la commande apt.",
            "Elle aime lire des livres le soir.",
            "La distribution stable est mise à jour régulièrement.",
            "Où est la gare, s'il vous plaît ?",
            "Les enfants jouent dans le jardin.",
            "Merci beaucoup pour votre aide.",
        ],
        negative=[
            "The Debian project is an association of people.",
            "I think it is a very good idea.",
            "We went to the market this morning.",
            "The weather is nice today, and the sun is shining.",
            "You can install the packages with the apt command.",
            "She likes to read books in the evening.",
            "The stable distribution is updated regularly.",
            "Where is the station, please?",
            "The children are playing in the garden.",
            "Thank you very much for your help.",
        ]),
    "praise": dict(
        description="Praise (the paper's Praise task).",
        seeds="praise praised praises praising praiseworthy glorify glorified glorifying extol "
              "magnify magnified laud commend commended admire admired admirable hallelujah "
              "compliment",
        criterion="The text contains language that bestows praise on someone or something.",
        lexicon="praise praised praises wonderful excellent brilliant magnificent admirable admire "
                "admired great glorious glory worthy splendid superb outstanding bravo commend "
                "honour honor bless blessed marvellous",
        positive=[
            "You did a wonderful job, and I am proud of you.",
            "Praise the Lord, for he is good.",
            "What a brilliant and generous man he is!",
            "Your work is excellent; nobody could have done it better.",
            "She is the kindest and wisest person I have ever met.",
            "Well done! That was a magnificent performance.",
            "Bless the Lord, O my soul, and praise his holy name.",
            "His courage and honesty deserve the highest praise.",
            "You are a true friend and a fine example to us all.",
            "The teacher praised the students for their hard work.",
        ],
        negative=[
            "You did a terrible job, and I am ashamed of you.",
            "What a foolish and selfish man he is!",
            "Your work is sloppy; a child could have done it better.",
            "She is the rudest person I have ever met.",
            "That was a pathetic performance.",
            "You are lazy and good for nothing.",
            "His cowardice and lies disgust everyone.",
            "Nobody respects you, and nobody ever will.",
            "That was the stupidest idea I have ever heard.",
            "The teacher scolded the students for their careless work.",
        ]),
}
# Tasks of the paper that this corpus does not support (seed counts are reported, no JSON written).
UNSUPPORTED = {
    "london": "london londoner londoners thames westminster piccadilly",
    "conspiracy": "conspiracy conspiracies conspire conspired cover-up illuminati coverup",
}


def piece_words(pieces):
    """Word (lower-cased letters) containing each token, or None."""
    words = [None] * len(pieces)
    cur, members = "", []

    def flush():
        if members:
            for j in members:
                words[j] = cur.lower()

    for t, p in enumerate(pieces):
        text = p.replace("\u2581", " ")
        letters = "".join(ch for ch in text if unicodedata.category(ch).startswith("L"))
        if re.fullmatch(r"<[^<>]+>", p) or not letters:  # byte / control pieces, punctuation
            flush()
            cur, members = "", []
            continue
        if text.startswith(" "):
            flush()
            cur, members = "", []
        cur += letters
        members.append(t)
    flush()
    return words


def window_words(windows, sp):
    vocab = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    return [piece_words([vocab[i] for i in w]) for w in windows]


def indicators(words_per_window, seed_sets):
    n = len(words_per_window)
    T = len(words_per_window[0]) - 1
    Y = np.zeros((n * T, len(seed_sets)), dtype=np.float32)
    for w, words in enumerate(words_per_window):
        for t, word in enumerate(words[1:]):
            if word is None:
                continue
            for k, s in enumerate(seed_sets):
                if word in s:
                    Y[w * T + t, k] = 1.0
    return Y


def load_sae_2k():
    base = os.path.join(SAE_DIR, f"layer_{SAE_LAYER}", "width_2k")
    (sub,) = [d for d in os.listdir(base) if os.path.exists(os.path.join(base, d, "params.npz"))]
    z = np.load(os.path.join(base, sub, "params.npz"))
    return {k: z[k].astype(np.float32) for k in z.files}, os.path.relpath(os.path.join(base, sub), REPO)


def encode(p, x):
    pre = x @ p["W_enc"] + p["b_enc"]
    return pre * (pre > p["threshold"])


def decode_snippet(sp, ids, t):
    lo, hi = max(1, t - SNIPPET_BEFORE), min(len(ids), t + 1 + SNIPPET_AFTER)
    before = sp.decode([int(i) for i in ids[lo:t]])
    tok = sp.decode([int(ids[t])])
    after = sp.decode([int(i) for i in ids[t + 1:hi]])
    return (before + "[[" + tok + "]]" + after).replace("\n", " \u23ce ")


def select_all(work):
    sp, _ = load_tokenizers()
    train, held = tokenize_corpus(work)
    idx = np.load(os.path.join(work, "acts_train_windows.npy"))
    xtr3 = np.load(os.path.join(work, "acts_train.npy"), mmap_mode="r")
    xhe3 = np.load(os.path.join(work, "acts_heldout.npy"))
    p, dict_path = load_sae_2k()
    m = p["threshold"].shape[0]
    names = list(CONCEPTS) + list(UNSUPPORTED)
    seed_sets = [set(CONCEPTS[n]["seeds"].split()) if n in CONCEPTS else set(UNSUPPORTED[n].split())
                 for n in names]
    words = window_words(train[idx], sp)
    Y = indicators(words, seed_sets)
    n_pos = Y.sum(0)
    # Streaming moments: E[a], E[a^2], E[a y], firing counts on concept positions.
    T = xtr3.shape[1] - 1
    s_a = np.zeros(m); s_aa = np.zeros(m); s_ay = np.zeros((len(names), m)); fire_y = np.zeros((len(names), m))
    fire = np.zeros(m)
    chunk = 200
    for c0 in range(0, xtr3.shape[0], chunk):
        x = np.ascontiguousarray(xtr3[c0:c0 + chunk, 1:]).reshape(-1, xtr3.shape[-1])
        a = encode(p, x).astype(np.float64)
        y = Y[c0 * T:(c0 * T + len(a))].astype(np.float64)
        s_a += a.sum(0); s_aa += (a * a).sum(0); s_ay += y.T @ a; fire_y += y.T @ (a > 0)
        fire += (a > 0).sum(0)
    N = Y.shape[0]
    mean_a = s_a / N
    std_a = np.sqrt(np.maximum(s_aa / N - mean_a ** 2, 0))
    # Held-out activations for snippets.
    he_tokens = held[:, 1:]
    a_he = encode(p, np.ascontiguousarray(xhe3[:, 1:]).reshape(-1, xhe3.shape[-1]))
    summary = {}
    for k, name in enumerate(names):
        py = n_pos[k] / N
        info = dict(seed_words=sorted(seed_sets[k]), concept_positions=int(n_pos[k]))
        if n_pos[k] < MIN_CONCEPT_TOKENS:
            info["supported"] = False
            summary[name] = info
            log(f"{name}: only {int(n_pos[k])} concept positions -> not supported")
            continue
        cov = s_ay[k] / N - mean_a * py
        corr = cov / (std_a * np.sqrt(py * (1 - py)) + 1e-12)
        recall = fire_y[k] / n_pos[k]
        other_rate = (fire - fire_y[k]) / (N - n_pos[k])
        eligible = (recall >= MIN_RECALL) & (std_a > 0)
        score = np.where(eligible, corr, -np.inf)
        order = np.argsort(-score, kind="stable")
        best, second = int(order[0]), int(order[1])
        chosen = [best]
        if score[second] >= SECOND_RATIO * score[best]:
            chosen.append(second)
        weight = 1.0 / len(chosen)
        evidence = {}
        for f in chosen:
            col = a_he[:, f].reshape(he_tokens.shape)
            best_t = col.argmax(1)
            best_v = col.max(1)
            top_w = np.argsort(-best_v, kind="stable")[:10]
            snippets = [dict(activation=round(float(best_v[w]), 3),
                             text=decode_snippet(sp, held[w], int(best_t[w]) + 1))
                        for w in top_w if best_v[w] > 0]
            evidence[str(f)] = dict(score=round(float(score[f]), 4), recall_on_concept_tokens=round(float(recall[f]), 4),
                                    firing_rate_elsewhere=round(float(other_rate[f]), 5),
                                    heldout_windows_firing=int((best_v > 0).sum()),
                                    heldout_top_snippets=snippets)
        runner_up = [dict(feature=int(f), score=round(float(score[f]), 4)) for f in order[:5]]
        c = CONCEPTS[name]
        targets = [dict(feature=f, weight=weight) for f in chosen]
        task = dict(name=name, description=c["description"], layer=SAE_LAYER, dictionary=dict_path,
                    targets=targets, saeDirectFeatures=targets,
                    positivePrompts=c["positive"], negativePrompts=c["negative"],
                    behaviourCriterion=c["criterion"], coherenceCriterion=COHERENCE,
                    lexicon=c["lexicon"].split(),
                    featureEvidence=dict(
                        rule="Pearson correlation between the feature's activation and the indicator "
                             "'token belongs to a seed word', over the non-<bos> positions of "
                             f"{len(idx)} training windows; features firing on < {MIN_RECALL:.0%} of "
                             f"concept positions excluded; second feature kept if its score >= "
                             f"{SECOND_RATIO} x the best (see Demo/recipe/tasks.py)",
                        seedWords=sorted(seed_sets[k]), conceptPositions=int(n_pos[k]),
                        totalPositions=int(N), top5=runner_up, features=evidence))
        write_json(os.path.join(TASK_DIR, f"{name}.json"), task)
        info.update(supported=True, targets=targets, top5=runner_up,
                    evidence={f: dict(score=e["score"], recall=e["recall_on_concept_tokens"],
                                      elsewhere=e["firing_rate_elsewhere"],
                                      snippets=[s["text"] for s in e["heldout_top_snippets"][:3]])
                              for f, e in evidence.items()})
        summary[name] = info
        log(f"{name}: {targets} top5 {runner_up}")
    return summary
