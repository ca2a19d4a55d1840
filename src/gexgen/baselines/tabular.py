"""CTGAN and TVAE (Xu et al. 2019, the ``ctgan`` package) as expression baselines.

As in Bong & Oh 2023 they are fed the raw expression (one continuous column
per gene) and the condition labels as discrete columns. Their data
transformer fits a Bayesian Gaussian mixture to every continuous column,
which dominates the cost on ~1,000 genes: it is timed separately
(:class:`TransformerTimes`) and, when a :class:`TransformerCache` is shared,
fitted once for identical training data (rdt seeds its mixtures, so the fit
is deterministic and a refit would give the same transformer).

``ctgan`` is imported only when a model is fitted (extra ``baselines``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from gexgen.baselines._ctgan_fast import fast_ctgan_class, split_loss_function
from gexgen.errors import GexgenError

__all__ = [
    "TabularKind",
    "TabularConfig",
    "TransformerTimes",
    "TransformerCache",
    "TabularBaseline",
]

TabularKind = Literal["ctgan", "tvae"]
TABULAR_KINDS: tuple[str, ...] = ("ctgan", "tvae")


@dataclass(frozen=True)
class TabularConfig:
    """Budget of a CTGAN / TVAE fit; everything else is the package's default."""

    epochs: int = 300  # the ctgan package's default
    batch_size: int = 500  # the package's default (CTGAN needs a multiple of 10)
    seed: int = 0  # seeds the weights and sampling (the transformer is deterministic)
    n_jobs: int = -1  # processes fitting the transformer's per-column mixtures (-1: all cores)
    fast_loops: bool = True  # linear-time span loops, same results (see _ctgan_fast)

    def __post_init__(self) -> None:
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise GexgenError(f"epochs must be a positive integer, got {self.epochs}")
        if self.batch_size < 10 or self.batch_size % 10:
            raise GexgenError(
                f"batch_size must be a positive multiple of 10 (CTGAN's pac), got {self.batch_size}"
            )


@dataclass
class TransformerTimes:
    """Seconds spent in the ctgan DataTransformer (fit, transform, inverse_transform)."""

    fit_seconds: float = 0.0
    transform_seconds: float = 0.0
    inverse_seconds: float = 0.0
    inverse_rows: int = 0
    n_continuous: int = 0
    n_discrete: int = 0
    reused: bool = False  # fit and transform came from a TransformerCache
    n_jobs: int = 1  # processes of the fit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TransformerCache:
    """Fitted transformers and transformed training matrices, keyed by the training data."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)


def _fingerprint(frame: pd.DataFrame, discrete: Sequence[str] = ()) -> str:
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update("\x1f".join(map(str, frame.columns)).encode())
    h.update("\x1f".join(map(str, discrete)).encode())
    return h.hexdigest()


@dataclass
class _Hooks:
    times: TransformerTimes
    cache: TransformerCache | None
    n_jobs: int


def _fit_column(frame: pd.DataFrame, discrete: bool, max_clusters: int, threshold: float) -> Any:
    """One column's fit, as ``DataTransformer.fit`` does it (a plain function: cheap to ship)."""
    from ctgan.data_transformer import DataTransformer

    t = DataTransformer(max_clusters=max_clusters, weight_threshold=threshold)
    return t._fit_discrete(frame) if discrete else t._fit_continuous(frame)


@functools.cache
def _timed_transformer_class() -> type:
    """A DataTransformer subclass that times itself, fits columns in parallel, uses a cache.

    Its hooks (times, cache) live on the instance and are left out when ctgan's
    parallel ``transform`` pickles the transformer for its worker processes.
    """
    from ctgan.data_transformer import DataTransformer

    class TimedDataTransformer(DataTransformer):
        def __init__(self, hooks: _Hooks) -> None:
            super().__init__()
            self._hooks = hooks

        def __getstate__(self) -> dict[str, Any]:
            return {k: v for k, v in self.__dict__.items() if k != "_hooks"}

        def fit(self, raw_data: Any, discrete_columns: Sequence[str] = ()) -> None:
            h, times = self._hooks, self._hooks.times
            key = _fingerprint(raw_data, discrete_columns)
            self._gexgen_key = key
            times.n_discrete = len(discrete_columns)
            times.n_continuous = raw_data.shape[1] - len(discrete_columns)
            times.n_jobs = h.n_jobs
            if h.cache is not None and key in h.cache.entries:
                entry = h.cache.entries[key]
                self.__dict__.update(entry["state"])
                times.fit_seconds, times.reused = entry["fit_seconds"], True
                return
            start = time.perf_counter()
            self._fit_columns(raw_data, list(discrete_columns))
            times.fit_seconds = time.perf_counter() - start
            if h.cache is not None:
                state = {
                    k: v for k, v in self.__dict__.items() if k not in ("_gexgen_key", "_hooks")
                }
                h.cache.entries[key] = {"state": state, "fit_seconds": times.fit_seconds}

        def _fit_columns(self, raw_data: Any, discrete: list[str]) -> None:
            """``DataTransformer.fit`` with the per-column fits spread over ``n_jobs``.

            The same steps as ctgan's own ``fit``; each column's mixture starts
            from rdt's fixed initial random state, so the result does not depend
            on the order or the process a column is fitted in.
            """
            from joblib import Parallel, delayed

            if self._hooks.n_jobs == 1 or not isinstance(raw_data, pd.DataFrame):
                super().fit(raw_data, discrete)
                return
            self.output_info_list, self.output_dimensions, self.dataframe = [], 0, True
            self._column_raw_dtypes = raw_data.infer_objects().dtypes
            args = (self._max_clusters, self._weight_threshold)
            jobs = [delayed(_fit_column)(raw_data[[c]], c in discrete, *args) for c in raw_data]
            self._column_transform_info_list = list(Parallel(n_jobs=self._hooks.n_jobs)(jobs))
            for info in self._column_transform_info_list:
                self.output_info_list.append(info.output_info)
                self.output_dimensions += info.output_dimensions

        def transform(self, raw_data: Any) -> np.ndarray:
            cache, times = self._hooks.cache, self._hooks.times
            entry = cache.entries.get(getattr(self, "_gexgen_key", "")) if cache else None
            if entry is not None and "transformed" in entry:
                times.transform_seconds = entry["transform_seconds"]
                return entry["transformed"]
            start = time.perf_counter()
            # ctgan's own transform switches to joblib above 500 rows and then pickles
            # the whole fitted transformer once per column (quadratic in columns: 62 s
            # vs 5 s serial for 100 genes here); its serial path gives the same matrix
            if isinstance(raw_data, pd.DataFrame):
                parts = self._synchronous_transform(raw_data, self._column_transform_info_list)
                out = np.concatenate(parts, axis=1).astype(float)
            else:
                out = super().transform(raw_data)
            times.transform_seconds = time.perf_counter() - start
            if entry is not None:
                entry["transformed"], entry["transform_seconds"] = out, times.transform_seconds
            return out

        def inverse_transform(self, data: np.ndarray, sigmas: Any = None) -> Any:
            start = time.perf_counter()
            out = super().inverse_transform(data, sigmas)
            self._hooks.times.inverse_seconds += time.perf_counter() - start
            self._hooks.times.inverse_rows += len(data)
            return out

    return TimedDataTransformer


@contextlib.contextmanager
def _patched(module: Any, **attributes: Any) -> Iterator[None]:
    """Replace module attributes for the duration (ctgan looks them up at call time)."""
    originals = {name: getattr(module, name) for name in attributes}
    for name, value in attributes.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in originals.items():
            setattr(module, name, value)


class TabularBaseline:
    """A CTGAN or TVAE synthesizer over gene columns + discrete label columns.

    Examples
    --------
    >>> model = TabularBaseline("tvae", TabularConfig(epochs=10))  # doctest: +SKIP
    >>> model.fit(x_train, genes, labels_train)  # doctest: +SKIP
    >>> x, labels = model.sample(100)  # doctest: +SKIP
    """

    def __init__(
        self,
        kind: TabularKind,
        config: TabularConfig | None = None,
        cache: TransformerCache | None = None,
        verbose: bool = False,
    ) -> None:
        if kind not in TABULAR_KINDS:
            raise GexgenError(f"unknown tabular baseline {kind!r}; valid: {list(TABULAR_KINDS)}")
        self.kind = kind
        self.config = config or TabularConfig()
        self.cache = cache
        self.verbose = verbose  # the package's per-epoch progress bar
        self.times = TransformerTimes()
        self.fit_seconds: float | None = None
        self.genes: list[str] = []
        self.label_names: list[str] = []
        self._model: Any = None

    def _module(self) -> Any:
        try:
            if self.kind == "ctgan":
                from ctgan.synthesizers import ctgan as module
            else:
                from ctgan.synthesizers import tvae as module
        except ImportError as exc:
            raise GexgenError(
                f"the {self.kind} baseline needs the ctgan package: pip install 'gexgen[baselines]'"
            ) from exc
        return module

    def fit(self, expression: np.ndarray, genes: Sequence[str], labels: pd.DataFrame) -> float:
        """Fit on raw expression [n, genes] and label columns; returns wall seconds."""
        expression = np.asarray(expression, dtype=np.float64)
        self.genes, self.label_names = [str(g) for g in genes], [str(c) for c in labels.columns]
        if expression.ndim != 2 or expression.shape[1] != len(self.genes):
            raise GexgenError(
                f"expected expression of shape (n, {len(self.genes)}), got {expression.shape}"
            )
        if len(labels) != len(expression):
            raise GexgenError(f"{len(labels)} label rows for {len(expression)} profiles")
        clash = sorted(set(self.genes) & set(self.label_names))
        if clash:
            raise GexgenError(f"label column(s) {clash} share a name with genes; rename them")
        frame = pd.DataFrame(expression, columns=self.genes)
        for name in self.label_names:
            frame[name] = labels[name].astype(str).to_numpy()
        module = self._module()
        cfg = self.config
        if self.kind == "ctgan":
            cls = fast_ctgan_class() if cfg.fast_loops else module.CTGAN
        else:
            cls = module.TVAE
        model = cls(
            epochs=cfg.epochs, batch_size=cfg.batch_size, enable_gpu=False, verbose=self.verbose
        )
        model.set_random_state(cfg.seed)
        self.times = TransformerTimes()
        hooks = _Hooks(self.times, self.cache, cfg.n_jobs)
        transformer_cls = _timed_transformer_class()
        start = time.perf_counter()
        patches: dict[str, Any] = {"DataTransformer": lambda: transformer_cls(hooks)}
        if self.kind == "tvae" and cfg.fast_loops:
            patches["_loss_function"] = split_loss_function
        with _patched(module, **patches):
            model.fit(frame, discrete_columns=self.label_names)
        self.fit_seconds = time.perf_counter() - start
        self._model = model
        return self.fit_seconds

    def sample(
        self, n: int, condition: tuple[str, str] | None = None
    ) -> tuple[np.ndarray, pd.DataFrame]:
        """``n`` rows: (expression float32 [n, genes], labels DataFrame).

        ``condition=(label, value)`` asks CTGAN to favour that value (its
        conditional vector; not a guarantee); TVAE cannot condition and ignores it.
        """
        if self._model is None:
            raise GexgenError(f"the {self.kind} baseline is not fitted: call fit() first")
        if n < 1:
            raise GexgenError(f"n must be >= 1, got {n}")
        if self.kind == "ctgan" and condition is not None:
            frame = self._model.sample(
                n, condition_column=condition[0], condition_value=condition[1]
            )
        else:
            frame = self._model.sample(n)
        x = frame[self.genes].to_numpy(dtype=np.float32)
        labels = frame[self.label_names].astype(str).reset_index(drop=True)
        return x, labels
