"""``gexgen train --model dp-gaussian``: the DP low-rank Gaussian, written straight to .onnx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from gexgen.errors import GexgenError

GENERATOR_NAME = "generator.onnx"  # the file written inside --out
ALLOWED = frozenset(
    {"cohort", "out", "model", "dp_epsilon", "dp_delta", "seed", "conditions", "dp_public_counts"}
    | {"dp_secure_rng"}
)
SWITCHES = frozenset({"overwrite", "resume", "progress"})


def train_dp_gaussian(cohort: Path, out: Path, options: dict[str, Any]) -> None:
    """Fit on the cohort's training split; write ``OUT/generator.onnx`` (+ its .json)."""
    stray = sorted(k for k, v in options.items() if k not in ALLOWED | SWITCHES and v is not None)
    if stray or options.get("resume"):
        names = ", ".join("--" + k.replace("_", "-") for k in stray or ["resume"])
        raise GexgenError(
            f"{names} do not apply to --model dp-gaussian; it takes --dp-epsilon, --dp-delta, "
            "--dp-secure-rng, --seed and --conditions"
        )
    from gexgen.export.dp_gaussian_file import write_dp_gaussian_generator
    from gexgen.train.dp_gaussian import DPGaussianConfig

    for flag in ("dp_delta", "dp_secure_rng"):
        if options.get(flag) and options.get("dp_epsilon") is None:
            raise GexgenError(f"--{flag.replace('_', '-')} needs --dp-epsilon E")
    config = DPGaussianConfig(
        epsilon=options.get("dp_epsilon"),
        delta=options.get("dp_delta"),
        seed=options.get("seed") or 0,
        public_counts=bool(options.get("dp_public_counts")),
        secure_rng=bool(options.get("dp_secure_rng")),
    )
    conditions = options.get("conditions")
    names = tuple(n.strip() for n in conditions.split(",") if n.strip()) if conditions else None
    out.mkdir(parents=True, exist_ok=True)
    result = write_dp_gaussian_generator(
        cohort,
        out / GENERATOR_NAME,
        config,
        conditions=names or ("tissue", "status"),
        overwrite=bool(options.get("overwrite")),
    )
    privacy = result.fit.privacy
    guarantee = (
        f"(epsilon {privacy['epsilon_spent']:.3g}, delta {privacy['dp_delta']:.3g}) over the "
        "whole file"
        if privacy
        else "no differential privacy (no --dp-epsilon)"
    )
    typer.echo(
        f"fitted a rank-{result.fit.factors.shape[1]} class-conditional Gaussian in "
        f"{result.seconds:.1f} s, {guarantee}; wrote {result.export.path}"
    )
    if privacy and not config.secure_rng:
        from gexgen.train.dp_noise import SEEDED_NOTE

        typer.echo(SEEDED_NOTE)
