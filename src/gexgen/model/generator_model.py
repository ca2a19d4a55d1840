"""Model objects with fit / sample / save / load / export / evaluate (as in SDV or scvi-tools).

A thin layer over the library's own steps, not a second implementation:
``fit`` writes a cohort file and runs :func:`gexgen.train.train_cvae` (or
``train_wgan``), ``export`` is :func:`gexgen.export.export_generator`,
``sample`` runs the exported graph in :class:`gexgen.runtime.GeneratorSession`
(so ``model.sample(...)`` equals ``gexgen generate`` on the exported file with
the same seed), and ``evaluate`` is :func:`gexgen.metrics.evaluation.evaluate`.
A model is its training checkpoint: a plain dict of tensors, lists and strings
(``gexgen.train.checkpoint``), saved as ``DIR/checkpoint.pt`` and read with
``torch.load(weights_only=True)``, never a pickled object. ``DIR`` is a run
directory for the CLI too (``gexgen export DIR --out generator.onnx``).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from gexgen.errors import GexgenError
from gexgen.model._python_terms import python_terms

__all__ = ["GeneratorModel", "CVAE", "WGANGP"]

SampleAs = Literal["anndata", "frame"]


class GeneratorModel:
    """Base class of :class:`CVAE` and :class:`WGANGP`; see the module docstring."""

    model_type: ClassVar[str] = ""

    def __init__(self, config: Any) -> None:
        self.config = config
        self._checkpoint: dict[str, Any] | None = None
        self._workdir = tempfile.TemporaryDirectory(prefix="gexgen-model-")
        self._generator: Path | None = None  # the exported graph that sample() runs
        self._session: Any = None
        self._split: Any = None  # sample name -> "train"/"test" of the last fit()

    # ------------------------------------------------------------------ training
    def fit(
        self,
        data: Any,
        *,
        log_scaled: bool | None = None,
        units: str | None = None,
        test_fraction: float = 0.3,
        split_seed: int = 0,
        progress: bool = False,
    ) -> GeneratorModel:
        """Train on ``data``'s training split; returns the model itself.

        Parameters
        ----------
        data
            An AnnData (samples x genes, the condition labels in ``obs``), a
            DataFrame (numeric gene columns and the label columns), or a path to
            a cohort ``.h5ad`` (``gexgen data``) or a CSV / TSV / parquet matrix.
            A ``split`` column ("train"/"test") is kept; without one a stratified
            split holds out ``test_fraction`` (seeded by ``split_seed``). The
            model remembers the split: ``evaluate`` on the same rows scores
            against the held-out ones.
        log_scaled
            The values are log2(x + 1); None reads ``uns["gexgen"]["log_scaled"]``
            or scanpy's ``uns["log1p"]["base"] == 2``, else raw expression.
        units
            Units of the raw values (e.g. "FPKM"), carried into the generator
            file and every profile file; None: ``uns["gexgen"]["units"]``.
        progress
            Show the epoch bar.
        """
        from gexgen.model._inputs import write_training_cohort
        from gexgen.model._split_memory import read_split
        from gexgen.train.checkpoint import load_checkpoint

        folder = Path(self._workdir.name)
        with python_terms():
            cohort = write_training_cohort(
                data, self.config.conditions, folder, log_scaled=log_scaled, units=units,
                test_fraction=test_fraction, seed=split_seed,
            )  # fmt: skip
            run_dir = folder / "run"
            self._train(cohort, run_dir, progress)
        self._set_checkpoint(load_checkpoint(run_dir))
        self._split = read_split(cohort)
        return self

    def _train(self, cohort: Path, run_dir: Path, progress: bool) -> None:
        raise NotImplementedError

    def _set_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        from gexgen.train.checkpoint import CHECKPOINT_NAME

        self._checkpoint = checkpoint
        (Path(self._workdir.name) / "model" / CHECKPOINT_NAME).unlink(missing_ok=True)
        self._generator = None
        if self._session is not None:
            self._session.close()
        self._session = None

    @property
    def is_fitted(self) -> bool:
        return self._checkpoint is not None

    @property
    def checkpoint(self) -> dict[str, Any]:
        """The training checkpoint (a plain dict; layout in ``gexgen.train.checkpoint``)."""
        if self._checkpoint is None:
            raise GexgenError(
                f"this {type(self).__name__} is not trained yet: call .fit(data) or "
                f"{type(self).__name__}.load(directory) first"
            )
        return self._checkpoint

    @property
    def genes(self) -> list[str]:
        return [str(g) for g in self.checkpoint["genes"]["symbols"]]

    @property
    def labels(self) -> dict[str, list[str]]:
        """Label name -> vocabulary seen in training."""
        return {label["name"]: list(label["values"]) for label in self.checkpoint["labels"]}

    @property
    def history(self) -> list[dict[str, Any]]:
        """One dict per epoch: losses (and the validation score of a WGAN-GP)."""
        return list(self.checkpoint.get("history", []))

    # ------------------------------------------------------------------ files
    def save(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``directory/checkpoint.pt`` (a plain dict; ``load`` reads it back).

        An existing checkpoint there is refused unless ``overwrite=True`` (as the CLI
        refuses an existing run without ``--overwrite``).
        """
        from gexgen.train.checkpoint import CHECKPOINT_NAME, save_dict

        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise GexgenError(f"{str(directory)!r} is a file; save() takes a directory")
        target = directory / CHECKPOINT_NAME
        if target.exists() and not overwrite:
            raise GexgenError(
                f"{str(target)!r} already exists; pass overwrite=True to replace it, "
                "or save to another directory"
            )
        directory.mkdir(parents=True, exist_ok=True)
        return save_dict(self.checkpoint, target)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> GeneratorModel:
        """A model from a directory written by ``save`` (or a ``gexgen train`` run directory).

        ``GeneratorModel.load`` returns a CVAE or a WGANGP, as the checkpoint says.
        """
        from gexgen.train.checkpoint import load_checkpoint

        checkpoint = load_checkpoint(directory)
        kinds = {kind.model_type: kind for kind in (CVAE, WGANGP)}
        kind = kinds.get(str(checkpoint.get("model_type")))
        if kind is None or (cls is not GeneratorModel and kind is not cls):
            raise GexgenError(
                f"{str(directory)!r} holds a {checkpoint.get('model_type')!r} model, not a "
                f"{cls.model_type or 'known'} one; load it with "
                f"{kind.__name__ if kind else 'GeneratorModel'}.load"
            )
        model = kind._from_config_dict(checkpoint.get("config", {}))
        model._set_checkpoint(checkpoint)
        return model

    @classmethod
    def _from_config_dict(cls, config: dict[str, Any]) -> GeneratorModel:
        raise NotImplementedError

    def export(
        self,
        path: str | os.PathLike[str],
        *,
        opset: int = 18,
        tolerance: float = 1e-4,
        overwrite: bool = False,
    ) -> Any:
        """Write the generator ``.onnx`` file (and its ``.onnx.json`` metadata sidecar).

        An existing file is refused unless ``overwrite=True``. Returns the
        :class:`gexgen.export.ExportReport` (torch vs onnxruntime difference).
        """
        from gexgen.export import export_generator

        with python_terms():
            return export_generator(
                self._checkpoint_file(), path, opset=opset, tolerance=tolerance,
                overwrite=overwrite,
            )  # fmt: skip

    def _checkpoint_file(self) -> Path:
        from gexgen.train.checkpoint import CHECKPOINT_NAME, save_dict

        path = Path(self._workdir.name) / "model" / CHECKPOINT_NAME
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            save_dict(self.checkpoint, path)
        return path

    def generator_path(self) -> Path:
        """The exported graph that ``sample`` and ``evaluate`` run (made once, in a temp folder)."""
        if self._generator is None:
            path = Path(self._workdir.name) / "generator.onnx"
            self.export(path, overwrite=True)  # the model's own temp file (an older fit's)
            self._generator = path
        return self._generator

    def session(self) -> Any:
        """The :class:`gexgen.runtime.GeneratorSession` of the exported graph."""
        if self._session is None:
            from gexgen.runtime import GeneratorSession

            self._session = GeneratorSession(self.generator_path())
        return self._session

    # ------------------------------------------------------------------ using it
    def sample(
        self,
        n: int,
        conditions: Any = "training",
        seed: int | None = None,
        space: Literal["expression", "log2"] = "expression",
        as_: SampleAs = "anndata",
        mix: Literal["training", "uniform"] = "training",
    ) -> Any:
        """Draw ``n`` profiles, as ``GeneratorSession.sample`` does on the exported file.

        Parameters
        ----------
        conditions, space, mix
            As :meth:`gexgen.runtime.GeneratorSession.sample`: ``"training"``,
            ``"uniform"``, a dict such as ``{"tissue": "kidney", "status": "tumor"}``,
            or per-row values.
        seed
            Same seed, same profiles. None (the default) draws a fresh seed, so two
            calls give different profiles (and different ``obs_names``); the seed used
            is recorded in ``uns["gexgen"]["seed"]`` (``attrs["gexgen"]["seed"]`` of a
            frame): pass it back to draw the same rows again.
        as_
            ``"anndata"``: an AnnData following ``gexgen.runtime.anndata_conventions``
            (``obs_names`` ``syn-<seed>-<row>``, ``uns["log1p"]`` for log2,
            units and provenance in ``uns["gexgen"]``); ``"frame"``: a DataFrame
            (gene columns, then categorical label columns).
        """
        if as_ not in ("anndata", "frame"):
            raise GexgenError(f"as_ must be 'anndata' or 'frame', got {as_!r}")
        with python_terms():
            return self._sample(n, conditions, seed, space, as_, mix)

    def _sample(
        self, n: int, conditions: Any, seed: int | None, space: Any, as_: str, mix: Any
    ) -> Any:
        session = self.session()
        if seed is None:
            import secrets

            seed = secrets.randbelow(2**31)
        if as_ == "frame":
            frame = session.sample(n, conditions, seed, space, as_frame=True, mix=mix)
            frame.attrs["gexgen"] = {"seed": int(seed), "space": space, "synthetic": True}
            return frame
        from gexgen.runtime.anndata_conventions import profiles_anndata
        from gexgen.runtime.write_profiles import profile_metadata

        matrix, labels = session.sample(n, conditions, seed, space, as_frame=False, mix=mix)
        with warnings.catch_warnings():  # the sample above already warned, if it had to
            warnings.simplefilter("ignore")
            plan = session.plan(n, conditions, seed, mix)
        metadata = profile_metadata(session, n, seed, space, plan.description)
        return profiles_anndata(matrix, labels, session.genes, session.entrez_ids, metadata)

    def evaluate(
        self,
        real: Any,
        *,
        out_dir: str | os.PathLike[str] | None = None,
        seed: int = 0,
        n_synthetic: int | None = None,
        metrics: Sequence[str] | None = None,
        log_scaled: bool | None = None,
        overwrite: bool = False,
        quick: bool = False,
    ) -> dict[str, Any]:
        """Score the model against real profiles; returns the metrics dict.

        ``real`` is a cohort ``.h5ad`` path, a profile file, or an AnnData (its
        ``obs["split"] == "test"`` rows are the reference when it has a split,
        the train rows give the real-vs-real ceiling). Data without a split that
        holds the rows ``fit`` was given gets the split ``fit`` made, so the
        held-out rows are the reference; training rows that cannot be held apart
        are scored only with a loud warning. The model draws profiles
        with the reference's label rows. With ``out_dir``, ``metrics.json`` and
        ``report.html`` are written there, as ``gexgen evaluate`` does (files
        already there are refused unless ``overwrite=True``). ``quick=True`` is
        ``gexgen evaluate --quick``: fewer draws, no UMAP, no real-vs-real
        reference for the gradient-boosted probe (``EvaluateConfig.quick``).
        """
        from gexgen.metrics.evaluation import EvaluateConfig, compute_metrics, evaluate

        preset = EvaluateConfig.quick if quick else EvaluateConfig
        config = preset(seed=seed, n_synthetic=n_synthetic)
        if metrics is not None:
            from dataclasses import replace

            config = replace(config, metrics=tuple(metrics))
        from gexgen.model._split_memory import with_remembered_split

        with python_terms():
            real = _real_profiles(with_remembered_split(real, self._split), log_scaled)
            model = self.generator_path()
            if out_dir is None:
                return compute_metrics(real, model=model, config=config).metrics
            model = _keep_generator_beside(model, Path(out_dir), overwrite)
            return evaluate(real, model=model, out_dir=out_dir, config=config, overwrite=overwrite)

    def __repr__(self) -> str:
        state = (
            f"genes={len(self.genes)}, labels={list(self.labels)}" if self.is_fitted else "unfitted"
        )
        return f"{type(self).__name__}({state})"


def _keep_generator_beside(model: Path, out_dir: Path, overwrite: bool) -> Path:
    """A copy of the scored generator in ``out_dir`` (the model's own copy is temporary).

    The report and ``metrics.json`` then name a file that outlives the model object.
    """
    import shutil

    from gexgen._outputs import check_output_folder

    names = ("metrics.json", "report.html", "figures", model.name, model.name + ".json")
    check_output_folder(out_dir, overwrite, option="out_dir", names=names)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in (model, model.with_name(model.name + ".json")):
        if path.is_file():
            shutil.copyfile(path, out_dir / path.name)
    return out_dir / model.name


def _real_profiles(real: Any, log_scaled: bool | None) -> Any:
    """A path as is; an AnnData or DataFrame as an in-memory ``ProfileSet``."""
    if isinstance(real, str | os.PathLike):
        return real
    import numpy as np
    import pandas as pd

    from gexgen.metrics._sources import ProfileSet
    from gexgen.model._inputs import is_log2

    if isinstance(real, pd.DataFrame):
        genes = [c for c in real.columns if pd.api.types.is_numeric_dtype(real[c])]
        labels = real.drop(columns=genes).reset_index(drop=True)
        space = "log2" if log_scaled else "expression"
        return ProfileSet.from_array(real[genes].to_numpy(np.float32), genes, labels, space, "real")
    x = real.X.toarray() if hasattr(real.X, "toarray") else np.asarray(real.X)
    space = "log2" if is_log2(real, log_scaled) else "expression"
    labels = real.obs.reset_index(drop=True)
    return ProfileSet.from_array(x, [str(g) for g in real.var_names], labels, space, "real")


class CVAE(GeneratorModel):
    """The conditional VAE (Bong & Oh 2023); ``config`` fields are ``TrainConfig``'s.

    Parameters
    ----------
    conditions
        The label columns to condition on.
    recipe
        ``"default"`` (gexgen's default recipe, what ``gexgen train`` runs without
        options), ``"paper"`` (the paper's settings) or ``"fast"`` (decoder means,
        memorizes); ``config`` overrides its fields.
    **config
        Any :class:`gexgen.train.TrainConfig` field, e.g. ``epochs=300``, ``lr=1e-3``.

    Examples
    --------
    >>> model = CVAE(conditions=["tissue", "status"]).fit(adata)  # doctest: +SKIP
    >>> synthetic = model.sample(1000, conditions={"tissue": "kidney"}, seed=0)  # doctest: +SKIP
    """

    model_type = "cvae"

    def __init__(
        self,
        conditions: Sequence[str] = ("tissue", "status"),
        recipe: str | None = None,
        **config: Any,
    ) -> None:
        from gexgen.train.config import DEFAULT_RECIPE, TrainConfig

        recipe = DEFAULT_RECIPE if recipe is None else recipe  # as `gexgen train` resolves it
        if isinstance(conditions, str):
            conditions = [conditions]
        base = TrainConfig.recipe(recipe).to_dict()  # unknown keys: an error naming valid ones
        super().__init__(TrainConfig.from_dict({**base, "conditions": list(conditions), **config}))

    @classmethod
    def _from_config_dict(cls, config: dict[str, Any]) -> GeneratorModel:
        from gexgen.train.config import TrainConfig

        saved = TrainConfig.from_dict(config)
        model = cls(conditions=saved.conditions)
        model.config = saved
        return model

    def _train(self, cohort: Path, run_dir: Path, progress: bool) -> None:
        from gexgen.train.loop import train_cvae

        train_cvae(cohort, run_dir, self.config, overwrite=True, progress=progress)


class WGANGP(GeneratorModel):
    """The WGAN-GP baseline (Viñas et al. 2022); ``config`` fields are ``WGANConfig``'s.

    Examples
    --------
    >>> model = WGANGP(conditions=["tissue", "status"], epochs=600).fit(adata)  # doctest: +SKIP
    """

    model_type = "wgan-gp"

    def __init__(self, conditions: Sequence[str] = ("tissue", "status"), **config: Any) -> None:
        from gexgen.train.config import WGANConfig

        if isinstance(conditions, str):
            conditions = [conditions]
        super().__init__(WGANConfig.from_dict({"conditions": list(conditions), **config}))

    @classmethod
    def _from_config_dict(cls, config: dict[str, Any]) -> GeneratorModel:
        from gexgen.train.config import WGANConfig

        saved = WGANConfig.from_dict({k: v for k, v in config.items() if k != "model_type"})
        model = cls(conditions=saved.conditions)
        model.config = saved
        return model

    def _train(self, cohort: Path, run_dir: Path, progress: bool) -> None:
        from gexgen.train.wgan_loop import train_wgan

        train_wgan(cohort, run_dir, self.config, overwrite=True, progress=progress)
