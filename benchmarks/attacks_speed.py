"""Wall time of the membership-inference attack family (and of the attack on the .onnx file).

Reads a cohort (train split = members, test split = non-members and the
reference), draws ``--n-synthetic`` profiles from the generator with the test
rows' labels (as ``gexgen evaluate --model`` does), then times
``privacy.attacks`` as the evaluation computes it: every attack over
``--draws`` seeded draws on the synthetic set, on the class-conditional
Gaussian and on the held-out-half reference. ``--generator-file`` also times
the attack on the generator file. Prints each attack's figures and the
seconds; the target is 60 s for the data-only family on 5,000 synthetic
profiles of the shared L1000 cohort on 2 cores.

Usage::

    .venv/bin/python benchmarks/attacks_speed.py --real /work/scratch/l1000.h5ad \\
        --model /work/scratch/l1k_s0.onnx --generator-file

Runs vary by 10% or more on a shared machine (other jobs share the cores).
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", required=True, help="cohort .h5ad with a train/test split")
    parser.add_argument("--model", required=True, help="generator .onnx")
    parser.add_argument("--n-synthetic", type=int, default=5_000)
    parser.add_argument("--draws", type=int, default=5, help="seeded member/non-member draws")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generator-file", action="store_true", help="also attack the .onnx")
    parser.add_argument("--draws-per-combination", type=int, default=None)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

    from gexgen.metrics._attack_section import attack_section, generator_file_section
    from gexgen.metrics._sections import read_train
    from gexgen.metrics._sources import load_profiles
    from gexgen.metrics.evaluation import generate_matched

    real = load_profiles(args.real, "real")
    train, test = real.split()
    if train is None:
        raise SystemExit(f"{args.real} has no train/test split")
    synthetic = generate_matched(args.model, test, args.seed, args.n_synthetic)
    columns = list(synthetic.labels.columns)
    genes = list(test.genes)
    real_train = read_train(train, None, len(genes), columns)
    holdout, holdout_labels = test.read_log(), test.labels
    start = time.perf_counter()
    section = attack_section(
        real_train.values, real_train.labels, holdout, holdout_labels,
        synthetic.read_log(), synthetic.labels, columns, seed=args.seed, n_draws=args.draws,
    )  # fmt: skip
    data_seconds = time.perf_counter() - start
    gauss = section["reference"]["gaussian"]["attacks"]
    print(f"{'attack':22s} {'AUC':>13s} {'TPR@10%':>8s} {'TPR@1%':>7s}   Gaussian AUC  TPR@1%")
    for name, f in section["attacks"].items():
        g = gauss[name]
        print(
            f"{name:22s} {f['auc']:.3f} +- {f['auc_sd']:.3f} {f['tpr_at_10pct_fpr']:8.3f} "
            f"{f['tpr_at_1pct_fpr']:7.3f}   {g['auc']:12.3f} {g['tpr_at_1pct_fpr']:7.3f}"
        )
    print(
        f"worst AUC {section['worst_auc']:.3f} ({section['worst_auc_attack']}), Gaussian "
        f"{section['reference']['gaussian']['worst_auc']:.3f}, held-out half "
        f"{section['reference']['holdout_half']['worst_auc']:.3f}; worst TPR@1% "
        f"{section['worst_tpr_at_1pct_fpr']:.3f} ({section['worst_tpr_at_1pct_fpr_attack']})"
    )
    print(
        f"data-only attacks: {data_seconds:.1f} s ({section['n_per_group']} per group, "
        f"{args.draws} draws, {section['n_synthetic']} synthetic; with both references)"
    )
    out = {"attacks": section, "seconds": data_seconds}
    if args.generator_file:
        start = time.perf_counter()
        f = generator_file_section(
            args.model, real_train, holdout, holdout_labels, genes, seed=args.seed,
            n_draws=args.draws, draws_per_combination=args.draws_per_combination,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        for mode, v in f["modes"].items():
            g = f["reference"]["gaussian"]["modes"][mode]
            print(
                f"generator file {mode:24s} AUC {v['auc']:.3f} +- {v['auc_sd']:.3f} TPR@10% "
                f"{v['tpr_at_10pct_fpr']:.3f} TPR@1% {v['tpr_at_1pct_fpr']:.3f} (Gaussian "
                f"{g['auc']:.3f}, {g['tpr_at_1pct_fpr']:.3f})"
            )
        print(f"generator-file attack: {seconds:.1f} s ({f['draws_per_combination']} draws x "
              f"{f['n_combinations']} combinations)")  # fmt: skip
        out["generator_file"], out["generator_file_seconds"] = f, seconds
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
