"""The attack settings compared before the defaults were chosen (docs/attacks.md).

Scores variants of three attacks on the default generator's synthetic set, on
the class-conditional Gaussian and on copies of the training rows, with the
same seeded draws as ``privacy.attacks``: Monte Carlo at radius quantiles 0.5
(the default, the median heuristic), 0.2 and 0.05; DOMIAS on 3, 5, 10 and 20
principal components; LOGAN-D1 fitted on equal-count subsamples, on every
profile with balanced weights (the default) and as a 64-64 MLP.

Usage::

    .venv/bin/python benchmarks/attacks_variants.py --real /work/scratch/l1000.h5ad \\
        --model /work/scratch/l1k_s0.onnx
"""

from __future__ import annotations

import argparse

import numpy as np


def _monte_carlo(quantile: float):
    from gexgen.metrics.nearest import nearest_neighbours

    def score(c, cl, s, sl, r, rl, rng):
        eps = np.quantile(nearest_neighbours(r, s)[0], quantile)
        a, b = c - s.mean(0), s - s.mean(0)
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T
        return (sq < eps * eps).mean(1)

    return score


def _domias(k: int):
    import importlib

    module = importlib.import_module("gexgen.metrics.attacks.domias")
    return lambda *args: module.domias(*args, n_components=k)


def _logan_equal(c, cl, s, sl, r, rl, rng):
    from sklearn.linear_model import LogisticRegression

    n = min(len(s), len(r))
    x = np.r_[s[rng.choice(len(s), n, replace=False)], r[rng.choice(len(r), n, replace=False)]]
    y = np.r_[np.ones(n), np.zeros(n)]
    return LogisticRegression(C=0.01, max_iter=1000).fit(x, y).predict_proba(c)[:, 1]


def _logan_mlp(c, cl, s, sl, r, rl, rng):
    from sklearn.neural_network import MLPClassifier

    n = min(len(s), len(r))
    x = np.r_[s[rng.choice(len(s), n, replace=False)], r[rng.choice(len(r), n, replace=False)]]
    y = np.r_[np.ones(n), np.zeros(n)]
    mlp = MLPClassifier((64, 64), alpha=1e-2, max_iter=300, random_state=int(rng.integers(1000)))
    return mlp.fit(x, y).predict_proba(c)[:, 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--n-synthetic", type=int, default=5_000)
    args = parser.parse_args()

    from gexgen.metrics._sources import load_profiles
    from gexgen.metrics.attacks import Attack, label_keys, logan_d1
    from gexgen.metrics.attacks.runner import run_attacks, standardize_by_train
    from gexgen.metrics.evaluation import generate_matched
    from gexgen.metrics.gaussian_baseline import ClassConditionalGaussian

    train, test = load_profiles(args.real, "real").split()
    synth = generate_matched(args.model, test, 0, args.n_synthetic)
    cols = list(synth.labels.columns)
    tr, ho, sx = train.read_log(), test.read_log(), synth.read_log()
    trl = train.labels.reset_index(drop=True)
    keys = [label_keys(lab, cols, len(lab)) for lab in (trl, test.labels, synth.labels)]
    gauss = ClassConditionalGaussian.fit(tr, trl, cols).sample(synth.labels, seed=0)
    variants = [Attack(f"monte_carlo q={q}", _monte_carlo(q), True, "") for q in (0.5, 0.2, 0.05)]
    variants += [Attack(f"domias k={k}", _domias(k), True, "") for k in (3, 5, 10, 20)]
    variants += [
        Attack("logan_d1 equal counts", _logan_equal, True, ""),
        Attack("logan_d1 balanced weights", logan_d1, True, ""),
        Attack("logan_d1 MLP 64-64", _logan_mlp, True, ""),
    ]
    for name, s, s_keys in (("generator", sx, keys[2]), ("gaussian", gauss, keys[2]),
                            ("copies", tr, keys[0])):  # fmt: skip
        z = standardize_by_train(tr, ho, s)
        out = run_attacks(z[0], keys[0], z[1], keys[1], z[2], s_keys, attacks=variants)
        print(name)
        for k, v in out["attacks"].items():
            print(f"  {k:28s} AUC {v['auc']:.3f} +- {v['auc_sd']:.3f}  "
                  f"TPR@1% {v['tpr_at_1pct_fpr']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
