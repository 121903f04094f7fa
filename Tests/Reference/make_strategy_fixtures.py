#!/usr/bin/env python3
"""Writes Tests/Fixtures/strategies/reference.json: a small random estimator (M, b), decoder W_dec, target
sets, and the vectors every target-driven strategy should produce, computed with numpy in float64 from the
float32-rounded inputs.

Formulas (row-vector notation of Docs/Strategies.md; M is [d_model, d_sae]):
  sae-direct  normalise(sum_i w_i W_dec[i])
  sae-ts      normalise(normalise(M t) - lam * normalise(M b))
  pinv        (t/|t| - b) @ np.linalg.pinv(M), optionally normalised
  rotation    Q = U V^T from svd(Mhat @ Dhat); v = normalise(Q @ sum_i w_i dhat_i);
              optionally v = normalise(v - normalise(M b))

Usage (from the repository root): python3 Tests/Reference/make_strategy_fixtures.py [--out DIR]
Needs only numpy. Two runs give byte-identical output.
"""
import argparse
import json
import os

import numpy as np

SEED = 20241104
D_MODEL, D_SAE = 32, 96

TARGET_SETS = {
    "single": [(5, 1.0)],
    "single-scaled": [(41, 2.5)],
    "pair-half": [(3, 0.5), (70, 0.5)],
    "pair-uneven": [(12, 0.7), (88, 0.3)],
    "pair-signed": [(20, 1.0), (60, -0.4)],
    "triple": [(0, 0.2), (47, 0.5), (95, 0.3)],
}


def f32_text(values):
    """Shortest decimal text that round-trips each value in float32, as JSON numbers."""
    return [float(str(np.float32(v))) for v in np.asarray(values, dtype=np.float32).ravel()]


def normalise(v):
    n = np.linalg.norm(v)
    assert n > 0
    return v / n


def make_inputs(rng):
    m = rng.normal(0.0, 0.1, size=(D_MODEL, D_SAE))
    # A bias like the real one: mostly small, a few dense features dominate.
    b = rng.normal(0.0, 0.02, size=D_SAE)
    b[[7, 31, 64]] = [-0.9, 0.85, 0.35]
    norms = rng.uniform(0.5, 2.0, size=(D_SAE, 1))
    w_dec = rng.normal(0.0, 1.0, size=(D_SAE, D_MODEL))
    w_dec = w_dec / np.linalg.norm(w_dec, axis=1, keepdims=True) * norms
    # Round through the JSON text so numpy sees exactly what Swift reads.
    m = np.array(f32_text(m), dtype=np.float64).reshape(D_MODEL, D_SAE)
    b = np.array(f32_text(b), dtype=np.float64)
    w_dec = np.array(f32_text(w_dec), dtype=np.float64).reshape(D_SAE, D_MODEL)
    return m, b, w_dec


def target_vector(targets):
    t = np.zeros(D_SAE)
    for feature, weight in targets:
        t[feature] = weight
    return t


def sae_direct(w_dec, targets):
    return normalise(sum(w * w_dec[i] for i, w in targets))


def sae_ts(m, b, targets, lam):
    u = normalise(m @ target_vector(targets))
    c = normalise(m @ b)
    return normalise(u - lam * c)


def pinv(m, b, targets, normalize):
    t = target_vector(targets)
    x = (t / np.linalg.norm(t) - b) @ np.linalg.pinv(m)
    return normalise(x) if normalize else x


def rotation_matrix(m, w_dec):
    m_hat = m / np.linalg.norm(m, axis=0, keepdims=True)
    d_hat = w_dec / np.linalg.norm(w_dec, axis=1, keepdims=True)
    u, _, vt = np.linalg.svd(m_hat @ d_hat)
    return u @ vt


def rotation(m, b, w_dec, q, targets, subtract_bias):
    d_hat = w_dec / np.linalg.norm(w_dec, axis=1, keepdims=True)
    v = normalise(q @ sum(w * d_hat[i] for i, w in targets))
    if subtract_bias:
        v = normalise(v - normalise(m @ b))
    return v


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join("Tests", "Fixtures", "strategies"))
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    m, b, w_dec = make_inputs(rng)
    q = rotation_matrix(m, w_dec)
    singular = np.linalg.svd(m, compute_uv=False)
    cases = []
    for name, targets in TARGET_SETS.items():
        vectors = {
            "sae-direct": sae_direct(w_dec, targets),
            "sae-ts lambda=1": sae_ts(m, b, targets, 1.0),
            "sae-ts lambda=0.5": sae_ts(m, b, targets, 0.5),
            "pinv normalize=true": pinv(m, b, targets, True),
            "pinv normalize=false": pinv(m, b, targets, False),
            "rotation subtractBias=true": rotation(m, b, w_dec, q, targets, True),
            "rotation subtractBias=false": rotation(m, b, w_dec, q, targets, False),
        }
        cases.append({
            "name": name,
            "targets": [{"feature": i, "weight": w} for i, w in targets],
            "vectors": {key: [float(x) for x in value] for key, value in vectors.items()},
        })
    document = {
        "generator": "Tests/Reference/make_strategy_fixtures.py",
        "numpy": np.__version__,
        "seed": SEED,
        "d_model": D_MODEL,
        "d_sae": D_SAE,
        "m_singular_value_ratio": float(singular[-1] / singular[0]),
        "M": f32_text(m),
        "b": f32_text(b),
        "W_dec": f32_text(w_dec),
        "rotation": [float(x) for x in q.ravel()],
        "cases": cases,
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "reference.json")
    with open(path, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
