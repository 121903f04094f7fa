"""The `tasks` stage of dictionaries.py: the method's nine concepts, with target features of the shipped
google/gemma-3-270m dictionary chosen by a stated mechanical rule, written as task files
Demo/gemma3-270m/tasks/<name>.json (the demo recipe's task format plus `featureEvidence`).

Rule (fixed before any steering result was seen; the same rule as the toy demo, Demo/recipe/tasks.py,
plus a cleanliness check):
  1. Text: every training window of the harvest (position 0, <bos>, excluded). Tokens are grouped into
     words by the toy rule (piece_words: a piece starting with "\u2581" or following a piece without
     letters starts a word; pieces without letters belong to no word).
  2. Concept indicator y(t) = 1 when the token at t is part of a word (lower-cased) in the concept's
     seed list. A concept is supported when y = 1 at >= MIN_CONCEPT_TOKENS positions.
  3. Every feature's score is the Pearson correlation of its activation with y over all positions,
     among features firing on >= MIN_RECALL of the concept positions.
  4. Targets: the best feature (weight 1); if the second best scores >= SECOND_RATIO x the best,
     both, with weights 0.5 / 0.5. saeDirectFeatures = targets.
  5. Clean: a chosen feature is clean when at least CLEAN_PRECISION of its TOP_K largest activations
     on the training positions are concept positions. A concept whose best feature is not clean is
     reported as "no clean feature" and gets no task file; it is not forced. A second feature that is
     not clean is dropped (reported under "dropped"), and the best one keeps weight 1.
Evidence per chosen feature: score, recall on concept positions, firing rate elsewhere, precision of
its top activations, and its top-10 activating snippets on the held-out windows (at most one per window;
the max token marked [[ ]]).
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Demo", "recipe"))

from common import log, write_json  # noqa: E402
from sae import encode_np as encode  # noqa: E402
from tasks import CONCEPTS as TOY_CONCEPTS, COHERENCE, MIN_CONCEPT_TOKENS, MIN_RECALL, SECOND_RATIO  # noqa: E402
from tasks import decode_snippet, indicators, piece_words  # noqa: E402

TOP_K = 100
CLEAN_PRECISION = 0.5
TASK_DIR = os.path.join(REPO, "Demo", "gemma3-270m", "tasks")

# The two concepts of the paper that the toy corpus could not support; written here for the real model.
EXTRA_CONCEPTS = {
    "london": dict(
        description="London (the paper's London task).",
        seeds="london londoner londoners thames westminster piccadilly",
        criterion="The text mentions London or anything related to it.",
        lexicon="london londoner londoners thames westminster piccadilly soho camden kensington "
                "buckingham palace big ben tower bridge trafalgar hyde park tube underground",
        positive=[
            "We took the tube to Piccadilly Circus and walked to Trafalgar Square.",
            "Big Ben struck noon as we crossed Westminster Bridge.",
            "London is the capital of England and sits on the River Thames.",
            "The Tower of London once held the crown jewels and famous prisoners.",
            "She grew up in a flat in Camden and still calls herself a Londoner.",
            "On Sunday we fed the ducks in Hyde Park.",
            "The red double-decker buses of London are known all over the world.",
            "They watched the changing of the guard at Buckingham Palace.",
            "A thick London fog rolled in from the Thames.",
            "He works in the City of London, near St Paul's Cathedral.",
            "The London Eye gives a view over the whole city.",
            "Tickets for the West End show in London sold out in an hour.",
            "We had fish and chips in a pub near London Bridge.",
        ],
        negative=[
            "We took the metro to the Eiffel Tower and walked along the Seine.",
            "The cable cars of San Francisco climb the steep hills.",
            "Rome is the capital of Italy and sits on the River Tiber.",
            "She grew up on a farm in the countryside.",
            "On Sunday we went hiking in the mountains.",
            "The yellow taxis of New York fill the avenues.",
            "They visited the temples of Kyoto in the autumn.",
            "A warm breeze blew in from the sea.",
            "He works in an office in the centre of Berlin.",
            "We cooked pasta at home and watched a film.",
            "The museum in Madrid was closed on Monday.",
            "Tickets for the concert in Sydney sold out in an hour.",
            "We had dinner in a small restaurant in Lisbon.",
        ]),
    "conspiracy": dict(
        description="Conspiracy theories (the paper's Conspiracy task).",
        seeds="conspiracy conspiracies conspire conspired conspiring conspirator conspirators coverup "
              "illuminati plot plots plotted plotting",
        criterion="The text uses language suggesting a conspiracy theory or belief in one.",
        lexicon="conspiracy conspiracies cover-up coverup secret secretly hidden truth they elite elites "
                "illuminati plot plotting government hiding lies lie controlled control agenda "
                "wake awake sheep",
        positive=[
            "The government is hiding the truth about what really happened.",
            "They don't want you to know who is really pulling the strings.",
            "The moon landing was staged in a studio, and the evidence proves it.",
            "A secret elite controls the banks, the media and the elections.",
            "Wake up, the official story is a cover-up.",
            "The powers that be are putting chemicals in the water to control us.",
            "Nothing in the news is an accident; it is all part of their plan.",
            "The real reason for the war has been kept from the public for decades.",
            "Follow the money and you will see who planned the whole thing.",
            "They silenced everyone who tried to reveal the conspiracy.",
        ],
        negative=[
            "The government published its budget for next year.",
            "The news reported that the bridge will reopen on Monday.",
            "The moon landing in 1969 was watched by millions on television.",
            "The bank raised its interest rates by a quarter of a percent.",
            "The official report describes the cause of the fire.",
            "The city tests its drinking water every week.",
            "The election results were announced on Tuesday night.",
            "Historians have studied the causes of the war in detail.",
            "The company's annual accounts are available online.",
            "The journalist interviewed several witnesses about the accident.",
        ]),
}
CONCEPTS = {**TOY_CONCEPTS, **EXTRA_CONCEPTS}


def feature_activation(p, f, x):
    """Feature f's JumpReLU activation on the rows of x."""
    pre = x @ p["W_enc"][:, f] + p["b_enc"][f]
    return pre * (pre > p["threshold"][f])


def indicator_matrix(tok, windows, seed_sets):
    """y[row, concept] over the non-<bos> positions of `windows`, rows in harvest order (the toy rule's
    words and indicators over this tokenizer's pieces)."""
    vocab = tok.convert_ids_to_tokens(list(range(len(tok))))
    return indicators([piece_words([vocab[i] for i in ids]) for ids in windows], seed_sets)


def select_tasks(work, tok, p, dictionary_path, layer, chunk=65536):
    """Applies the rule; writes the task files of the clean concepts and returns the summary."""
    windows = np.load(os.path.join(work, "windows_train.npy"))
    held = np.load(os.path.join(work, "windows_heldout.npy"))
    x_train = np.load(os.path.join(work, "acts_train.npy"), mmap_mode="r")
    x_held = np.load(os.path.join(work, "acts_heldout.npy"))
    names = list(CONCEPTS)
    seed_sets = [set(CONCEPTS[n]["seeds"].split()) for n in names]
    Y = indicator_matrix(tok, windows, seed_sets)
    assert len(Y) == len(x_train), f"{len(Y)} indicator rows for {len(x_train)} activation rows"
    n_pos = Y.sum(0).astype(np.float64)
    m = p["threshold"].shape[0]
    s_a, s_aa, fire = np.zeros(m), np.zeros(m), np.zeros(m)
    s_ay, fire_y = np.zeros((len(names), m)), np.zeros((len(names), m))
    for c0 in range(0, len(x_train), chunk):
        a = encode(p, np.asarray(x_train[c0:c0 + chunk], dtype=np.float32)).astype(np.float64)
        y = Y[c0:c0 + len(a)].astype(np.float64)
        s_a += a.sum(0)
        s_aa += (a * a).sum(0)
        s_ay += y.T @ a
        fire_y += y.T @ (a > 0)
        fire += (a > 0).sum(0)
        log(f"tasks: encoded {c0 + len(a)}/{len(x_train)} training rows")
    N = float(len(Y))
    mean_a = s_a / N
    std_a = np.sqrt(np.maximum(s_aa / N - mean_a ** 2, 0))
    a_held = encode(p, x_held)
    held_tokens = held[:, 1:]
    summary = {}
    os.makedirs(TASK_DIR, exist_ok=True)
    for k, name in enumerate(names):
        info = dict(seed_words=sorted(seed_sets[k]), concept_positions=int(n_pos[k]))
        path = os.path.join(TASK_DIR, f"{name}.json")
        if n_pos[k] < MIN_CONCEPT_TOKENS:
            info.update(supported=False, reason=f"{int(n_pos[k])} concept positions < {MIN_CONCEPT_TOKENS}")
            summary[name] = info
            if os.path.exists(path):
                os.remove(path)
            log(f"{name}: not supported ({info['reason']})")
            continue
        py = n_pos[k] / N
        corr = (s_ay[k] / N - mean_a * py) / (std_a * np.sqrt(py * (1 - py)) + 1e-12)
        recall = fire_y[k] / n_pos[k]
        elsewhere = (fire - fire_y[k]) / (N - n_pos[k])
        score = np.where((recall >= MIN_RECALL) & (std_a > 0), corr, -np.inf)
        order = np.argsort(-score, kind="stable")
        chosen = [int(order[0])]
        if score[order[1]] >= SECOND_RATIO * score[order[0]]:
            chosen.append(int(order[1]))
        evidence = {}
        for f in chosen:
            col = np.concatenate([feature_activation(p, f, np.asarray(x_train[c0:c0 + chunk], dtype=np.float32))
                                  for c0 in range(0, len(x_train), chunk)])
            top = np.argpartition(-col, TOP_K)[:TOP_K]
            precision = float((Y[top, k] > 0).mean())
            hcol = a_held[:, f].reshape(held_tokens.shape)
            best_t, best_v = hcol.argmax(1), hcol.max(1)
            top_w = np.argsort(-best_v, kind="stable")[:10]
            snippets = [dict(activation=round(float(best_v[w]), 3), text=decode_snippet(tok, held[w], int(best_t[w]) + 1))
                        for w in top_w if best_v[w] > 0]
            evidence[str(f)] = dict(score=round(float(score[f]), 4), recall_on_concept_tokens=round(float(recall[f]), 4),
                                    firing_rate_elsewhere=round(float(elsewhere[f]), 5),
                                    top_activation_precision=round(precision, 3),
                                    heldout_windows_firing=int((best_v > 0).sum()), heldout_top_snippets=snippets)
        runner_up = [dict(feature=int(f), score=round(float(score[f]), 4)) for f in order[:5]]
        clean = evidence[str(chosen[0])]["top_activation_precision"] >= CLEAN_PRECISION
        dropped = [f for f in chosen[1:] if evidence[str(f)]["top_activation_precision"] < CLEAN_PRECISION]
        chosen = [f for f in chosen if f not in dropped]
        if dropped:
            info.update(dropped=dropped)
        info.update(supported=True, clean=clean, chosen=chosen, top5=runner_up,
                    evidence={f: dict(score=e["score"], recall=e["recall_on_concept_tokens"],
                                      elsewhere=e["firing_rate_elsewhere"],
                                      precision=e["top_activation_precision"],
                                      snippets=[s["text"] for s in e["heldout_top_snippets"][:3]])
                              for f, e in evidence.items()})
        summary[name] = info
        if not clean:
            if os.path.exists(path):
                os.remove(path)
            log(f"{name}: no clean feature (best {chosen[0]}, precision "
                f"{evidence[str(chosen[0])]['top_activation_precision']})")
            continue
        c = CONCEPTS[name]
        targets = [dict(feature=f, weight=1.0 / len(chosen)) for f in chosen]
        write_json(path, dict(
            name=name, description=c["description"], layer=layer, dictionary=dictionary_path,
            targets=targets, saeDirectFeatures=targets, positivePrompts=c["positive"],
            negativePrompts=c["negative"], behaviourCriterion=c["criterion"], coherenceCriterion=COHERENCE,
            lexicon=c["lexicon"].split(),
            featureEvidence=dict(
                rule="Pearson correlation between the feature's activation and the indicator 'token belongs "
                     f"to a seed word' over the {int(N)} non-<bos> training positions; features firing on < "
                     f"{MIN_RECALL:.0%} of concept positions excluded; second feature kept if its score >= "
                     f"{SECOND_RATIO} x the best; clean when >= {CLEAN_PRECISION:.0%} of the feature's top {TOP_K} "
                     "training activations are concept positions (the best must be clean; an unclean second is "
                     "dropped) (Demo/gemma3-270m/recipe/gemma3_tasks.py)",
                seedWords=sorted(seed_sets[k]), conceptPositions=int(n_pos[k]), totalPositions=int(N),
                top5=runner_up, features=evidence)))
        log(f"{name}: targets {targets}, top5 {runner_up}")
    return dict(rule=__doc__.split("Rule")[1].strip(), concepts=summary)
