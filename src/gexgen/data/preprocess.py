"""log2(x + 1), optionally a per-gene quantile map to normal scores, then per-gene
standardization; invertible (the quantile map up to the ties it spreads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from gexgen.data.marginals import N_KNOTS, fit_quantiles, from_gaussian, to_gaussian
from gexgen.errors import GexgenError

__all__ = ["LogStandardScaler", "log2p1", "inverse_log2p1", "MARGINALS"]

Space = Literal["expression", "log2"]
MARGINALS = ("gaussian", "quantile")  # the model's space: log2 values, or normal scores


def log2p1(x: np.ndarray) -> np.ndarray:
    """``log2(x + 1)`` in float32 (expression units -> log2 space)."""
    return np.log2(np.asarray(x, dtype=np.float32) + np.float32(1.0))


def inverse_log2p1(y: np.ndarray) -> np.ndarray:
    """``max(2**y - 1, 0)`` in float32 (log2 space -> expression units)."""
    out = np.exp2(np.asarray(y, dtype=np.float32)) - np.float32(1.0)
    return np.maximum(out, np.float32(0.0), out=out)


@dataclass
class LogStandardScaler:
    """log2(x + 1) (unless the input is already log-scaled), then z-scores per gene.

    Fit on the training split only. ``inverse_transform`` maps standardized
    values back to log2 space or to expression units.

    Parameters
    ----------
    log_input
        True when X is already on the log2(x + 1) scale: the log step is skipped.
    marginals
        ``"gaussian"``: standardize log2 values. ``"quantile"``: first map each
        gene through its fitted quantiles to normal scores
        (:mod:`gexgen.data.marginals`), so the inverse reproduces the real
        marginals (point masses at 0 included).

    ``floor_`` is the smallest log2 value the inverse returns: 0 when the
    fitted values are log2(x + 1) of non-negative expression (every raw cohort,
    and a log-scaled one with no value below 0), else None (no floor).

    Examples
    --------
    >>> scaler = LogStandardScaler().fit(x_train)  # doctest: +SKIP
    >>> z = scaler.transform(x_test)               # doctest: +SKIP
    >>> x_back = scaler.inverse_transform(z)       # doctest: +SKIP
    """

    log_input: bool = False
    marginals: str = "gaussian"
    mean_: np.ndarray | None = field(default=None, repr=False)
    std_: np.ndarray | None = field(default=None, repr=False)
    quantiles_: np.ndarray | None = field(default=None, repr=False)  # [n_genes, n_knots]
    floor_: float | None = None

    def __post_init__(self) -> None:
        if self.marginals not in MARGINALS:
            raise GexgenError(f"marginals must be one of {list(MARGINALS)}, got {self.marginals!r}")

    def to_log(self, x: np.ndarray) -> np.ndarray:
        """Input units -> log2 space (identity when ``log_input``)."""
        x = np.asarray(x, dtype=np.float32)
        return x.copy() if self.log_input else log2p1(x)

    def fit(self, x: np.ndarray, n_knots: int = N_KNOTS) -> LogStandardScaler:
        logx = self.to_log(_check_matrix(x, self.log_input)).astype(np.float64)
        self.floor_ = 0.0 if not self.log_input or logx.min() >= 0 else None
        if self.marginals == "quantile":
            self.quantiles_ = fit_quantiles(logx, n_knots)
            logx = to_gaussian(logx, self.quantiles_).astype(np.float64)
        self.mean_ = logx.mean(axis=0).astype(np.float32)
        std = logx.std(axis=0)
        # a constant gene keeps scale 1 so transform stays finite and invertible
        self.std_ = np.where(std > 0, std, 1.0).astype(np.float32)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        self._check_fitted(np.asarray(x).shape)
        logx = self.to_log(_check_matrix(x, self.log_input))
        if self.quantiles_ is not None:
            logx = to_gaussian(logx, self.quantiles_)
        return ((logx - self.mean_) / self.std_).astype(np.float32)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).transform(x)

    def inverse_transform(self, z: np.ndarray, space: Space = "expression") -> np.ndarray:
        """Standardized values -> log2 space (``space="log2"``) or expression units."""
        if space not in ("expression", "log2"):
            raise GexgenError(f"space must be 'expression' or 'log2', got {space!r}")
        z = np.asarray(z, dtype=np.float32)
        self._check_fitted(z.shape)
        logx = z * self.std_ + self.mean_
        if self.quantiles_ is not None:
            logx = from_gaussian(logx, self.quantiles_)
        if self.floor_ is not None:
            logx = np.maximum(logx, np.float32(self.floor_))
        return logx if space == "log2" else inverse_log2p1(logx)

    @property
    def n_genes(self) -> int:
        return 0 if self.mean_ is None else int(self.mean_.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able parameters (for checkpoints and ONNX metadata)."""
        self._check_fitted(None)
        out: dict[str, Any] = {
            "log_input": bool(self.log_input),
            "mean": self.mean_.astype(float).tolist(),
            "std": self.std_.astype(float).tolist(),
            "marginals": self.marginals,
            "floor": self.floor_,
        }
        if self.quantiles_ is not None:
            out["quantiles"] = self.quantiles_.astype(float).tolist()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LogStandardScaler:
        try:
            quantiles = d.get("quantiles")
            # before the floor was recorded: raw cohorts are non-negative, log ones unknown
            floor = d["floor"] if "floor" in d else (None if d["log_input"] else 0.0)
            return cls(
                log_input=bool(d["log_input"]),
                # checkpoints written before the quantile map have neither key
                marginals=str(d.get("marginals", "gaussian")),
                mean_=np.asarray(d["mean"], dtype=np.float32),
                std_=np.asarray(d["std"], dtype=np.float32),
                quantiles_=None if quantiles is None else np.asarray(quantiles, np.float32),
                floor_=None if floor is None else float(floor),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise GexgenError(f"scaler parameters are incomplete: {exc}") from exc

    def _check_fitted(self, shape: tuple[int, ...] | None) -> None:
        if self.mean_ is None or self.std_ is None:
            raise GexgenError("the scaler is not fitted: call fit(x_train) first")
        if shape is not None and (len(shape) != 2 or shape[1] != self.mean_.shape[0]):
            raise GexgenError(
                f"expected a (samples, {self.mean_.shape[0]}) matrix, got shape {shape}"
            )


def _check_matrix(x: np.ndarray, log_input: bool) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise GexgenError(f"expected a 2-d samples x genes matrix, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise GexgenError(f"expected numeric values, got dtype {x.dtype}")
    if not np.isfinite(x).all():
        raise GexgenError("the matrix has NaN or infinite values; fill or drop them")
    if not log_input and (x < 0).any():
        raise GexgenError(
            "negative values in raw expression; if the data is already log2(x + 1) "
            "scaled, declare it (log_input=True / --log-scaled)"
        )
    return x
