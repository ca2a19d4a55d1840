"""The whole product on real data in one call: cohort -> CVAE -> ONNX -> 1M profiles -> report.

``gexgen demo`` (and ``make demo``) run :func:`run_demo`. Each step prints
what it did and how long it took.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gexgen._lock import folder_lock
from gexgen._outputs import check_output_folder
from gexgen.errors import GexgenError
from gexgen.train.config import DEFAULT_RECIPE, RECIPES

__all__ = [
    "DemoConfig",
    "DemoResult",
    "LINCS_GENE_INFO_URL",
    "privacy_line",
    "resolve_demo_data",
    "run_demo",
]

LOCK_NAME = ".gexgen-demo.lock"  # held while a demo writes its folder
# what a demo writes in its folder: an existing one is replaced only with --overwrite
DEMO_OUTPUTS = ("cohort.h5ad", "run", "generator.onnx", "synthetic.parquet", "report")
# LINCS phase I gene table (GEO GSE92742): its pr_is_lm column marks the 978 landmarks.
LINCS_GENE_INFO_URL = (
    "https://ftp.ncbi.nlm.nih.gov/geo/series/GSE92nnn/GSE92742/suppl/"
    "GSE92742_Broad_LINCS_gene_info.txt.gz"
)


@dataclass(frozen=True)
class DemoConfig:
    """Budgets of the demo; defaults finish in about 10 minutes on 2 CPU cores."""

    n_profiles: int = 1_000_000  # profiles generated to the parquet file
    # Training: TrainConfig.recipe(DEFAULT_RECIPE), what `gexgen train` uses without
    # options (the paper's own 1,400 epochs at batch 50 take ~30 min here); only the
    # number of epochs is a demo setting.
    epochs: int = RECIPES[DEFAULT_RECIPE]["epochs"]  # cosine-decayed epochs
    threads: int | None = 1  # torch CPU threads: 1 stays fast on a shared machine; None = torch's
    seed: int = 0  # seeds the split, the training and the generation
    device: str = "auto"  # CUDA when present, else CPU
    chunk_size: int = 65_536  # generation rows per chunk


@dataclass
class DemoResult:
    """Paths and timings of a demo run."""

    out_dir: Path
    cohort: Path
    generator: Path
    synthetic: Path
    report_dir: Path
    metrics: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


def resolve_demo_data(data_dir: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(RNAseqDB source, landmark file or URL) for the demo.

    ``data_dir`` (or ``$GEXGEN_DATA``) must hold ``rnaseqdb/`` and
    ``l1000/landmark_genes.tsv``; without either, the upstream repositories are
    used if they answer, and otherwise the demo stops at once saying how to
    point it at the files.
    """
    from gexgen.data.download import UPSTREAM_URL

    root = data_dir if data_dir is not None else os.environ.get("GEXGEN_DATA")
    if root:
        root = Path(root)
        source, landmarks = root / "rnaseqdb", root / "l1000" / "landmark_genes.tsv"
        for path in (source, landmarks):
            if not path.exists():
                raise GexgenError(
                    f"{str(path)!r} not found: GEXGEN_DATA (or --data) must be a folder "
                    "holding rnaseqdb/ (the RNAseqDB layout) and l1000/landmark_genes.tsv"
                )
        return str(source), str(landmarks)
    probe = f"{UPSTREAM_URL}/configuration/tissue-conf.txt"
    try:
        with urllib.request.urlopen(urllib.request.Request(probe, method="HEAD"), timeout=10):
            pass
    except (urllib.error.URLError, OSError) as exc:
        raise GexgenError(
            f"no data to run on: GEXGEN_DATA is not set and {probe} is unreachable ({exc}); "
            "set GEXGEN_DATA=/path/to/data (a folder with rnaseqdb/ and l1000/), "
            "e.g. `GEXGEN_DATA=../shared/data make demo`"
        ) from None
    return UPSTREAM_URL, LINCS_GENE_INFO_URL


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"


def privacy_line(metrics: dict[str, Any]) -> str:
    """One line: gamma beside the membership-inference AUC (read tolerantly).

    Examples
    --------
    >>> privacy_line({"gamma": {"gamma": 0.96}, "privacy": {"mia_auc": 0.51}})
    'gamma 0.9600  |  privacy: membership-inference AUC 0.5100 (0.5 = no leakage)'
    >>> privacy_line({"gamma": {"gamma": 0.96}})
    'gamma 0.9600  |  privacy: not computed by this gexgen version'
    """
    gamma = (metrics.get("gamma") or {}).get("gamma")
    privacy = metrics.get("privacy")
    if not isinstance(privacy, dict) or privacy.get("mia_auc") is None:
        return f"gamma {_number(gamma)}  |  privacy: not computed by this gexgen version"
    line = (
        f"gamma {_number(gamma)}  |  privacy: membership-inference AUC "
        f"{_number(privacy['mia_auc'])} (0.5 = no leakage)"
    )
    share = privacy.get("closer_to_train_share")
    if isinstance(share, dict):
        share = share.get("value", share.get("share"))
    if isinstance(share, (int, float)):
        line += f", closer-to-train share {_number(share)}"
    return line


@contextmanager
def _step(name: str, seconds: dict[str, float], echo: Callable[[str], None]) -> Iterator[None]:
    echo(f"==> {name}")
    start = time.perf_counter()
    yield
    seconds[name] = time.perf_counter() - start
    echo(f"    done in {seconds[name]:.1f} s")


def run_demo(
    out_dir: str | os.PathLike[str] = "demo_out",
    data_dir: str | os.PathLike[str] | None = None,
    config: DemoConfig = DemoConfig(),
    *,
    echo: Callable[[str], None] = print,
    progress: bool = True,
    overwrite: bool = False,
) -> DemoResult:
    """Run the pipeline end to end and return where everything is.

    An ``out_dir`` that already holds a demo's outputs is refused unless
    ``overwrite`` (then every step replaces its own output). Without it every
    step creates its output at its rename: a file another demo wrote in the
    same folder meanwhile is kept and this demo stops with one line.

    The folder is locked for the whole run (``.gexgen-demo.lock``): a second
    demo on the same folder, ``overwrite`` or not, stops with one line instead
    of replacing the first one's files while it runs.

    Examples
    --------
    >>> result = run_demo("demo_out", "../shared/data")  # doctest: +SKIP
    >>> result.metrics["gamma"]["gamma"]  # doctest: +SKIP
    """
    with folder_lock(out_dir, LOCK_NAME, what="demo folder", command="gexgen demo"):
        return _run_demo_locked(out_dir, data_dir, config, echo, progress, overwrite)


def _run_demo_locked(
    out_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None,
    config: DemoConfig,
    echo: Callable[[str], None],
    progress: bool,
    overwrite: bool,
) -> DemoResult:
    from gexgen.data.rnaseqdb import build_rnaseqdb_cohort
    from gexgen.export import export_generator
    from gexgen.metrics import EvaluateConfig, evaluate
    from gexgen.metrics.summary import summary_lines
    from gexgen.runtime import GeneratorSession, write_profiles
    from gexgen.train import TrainConfig, train_cvae

    out = check_output_folder(out_dir, overwrite, names=DEMO_OUTPUTS)
    source, landmarks = resolve_demo_data(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    cohort = out / "cohort.h5ad"
    with _step("1/5 data: RNAseqDB L1000 cohort", seconds, echo):
        if str(landmarks).startswith(("http://", "https://")):
            from gexgen.data.download import default_cache_dir, fetch

            local = default_cache_dir() / "l1000" / Path(landmarks).name
            fetch(landmarks, local, progress=progress)
            landmarks = str(local)
        _, summary = build_rnaseqdb_cohort(
            source, landmarks, cohort, seed=config.seed, progress=progress, overwrite=overwrite
        )
        echo(summary.format())

    train_config = TrainConfig.recipe(
        DEFAULT_RECIPE,
        epochs=config.epochs,
        threads=config.threads,
        seed=config.seed,
        device=config.device,
    )
    with _step("2/5 train: conditional VAE", seconds, echo):
        result = train_cvae(
            cohort, out / "run", train_config, overwrite=overwrite, progress=progress
        )
        echo(
            f"    kept the weights of epoch {result.kept_epoch} of {result.epochs_run} "
            f"({train_config.keep} model selection on the validation part"
            + (f", retrained on all {result.refit_rows} training rows" if result.refit_rows else "")
            + f"); checkpoint {result.checkpoint_path}"
        )

    generator = out / "generator.onnx"
    with _step("3/5 export: generator.onnx", seconds, echo):
        report = export_generator(result.run_dir, generator, overwrite=overwrite)
        echo(f"    wrote {generator} (max |onnx - torch| = {report.max_abs_diff:.2e})")

    synthetic = out / "synthetic.parquet"
    with _step(f"4/5 generate: {config.n_profiles:,} profiles", seconds, echo):
        session = GeneratorSession(generator)
        start = time.perf_counter()
        write_profiles(
            session,
            synthetic,
            config.n_profiles,
            conditions="training",
            seed=config.seed,
            chunk_size=config.chunk_size,
            progress=progress,
            overwrite=overwrite,
        )
        rate = config.n_profiles / (time.perf_counter() - start)
        echo(f"    wrote {synthetic} ({rate:,.0f} profiles/s including the file)")

    report_dir = out / "report"
    with _step("5/5 evaluate: against the held-out test split", seconds, echo):
        metrics = evaluate(
            cohort,
            synthetic,
            out_dir=report_dir,
            config=EvaluateConfig(seed=config.seed),
            progress=progress,
            overwrite=overwrite,
        )
    echo("")
    for line in summary_lines(metrics):
        echo(line)
    echo(privacy_line(metrics))
    echo(f"\nreport: {report_dir / 'report.html'}")
    echo(f"total: {sum(seconds.values()):.0f} s")
    return DemoResult(out, cohort, generator, synthetic, report_dir, metrics, seconds)
