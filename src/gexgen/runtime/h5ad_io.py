"""Stream profiles into, and slice them out of, AnnData ``.h5ad`` files with h5py.

``anndata.write_h5ad`` needs the whole matrix and obs in memory; here ``X`` and
the obs columns are preallocated datasets filled chunk by chunk, with the
element attributes of AnnData's on-disk spec (encoding-type / -version), so the
file is read back by ``anndata.read_h5ad``. Small elements (var, uns) go
through ``anndata.io.write_elem``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np
import pandas as pd

from gexgen.errors import GexgenError

__all__ = ["H5adRowWriter", "read_obs", "read_uns", "read_var_names", "read_x_rows", "x_shape"]

_ARRAY = {"encoding-type": "array", "encoding-version": "0.2.0"}
_STRINGS = {"encoding-type": "string-array", "encoding-version": "0.2.0"}


def _code_dtype(n_categories: int) -> np.dtype:
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


class H5adRowWriter:
    """Write an AnnData file of ``n`` rows whose X and obs are filled by row ranges.

    Parameters
    ----------
    file
        An ``h5py.File`` opened for writing (empty).
    n, genes, entrez_ids
        Number of profiles, gene symbols (var index) and Entrez IDs (or None).
    label_values
        Label name -> vocabulary (categories, in code order).
    uns
        The whole ``uns`` (e.g. ``anndata_conventions.anndata_uns``), in types
        ``write_elem`` stores.
    obs_prefix
        Row ``i`` is named ``f"{obs_prefix}{i}"`` (``"syn-<seed>-"`` for generations).
    """

    def __init__(
        self,
        file: h5py.File,
        n: int,
        genes: Sequence[str],
        entrez_ids: Sequence[int | None] | None,
        label_values: Mapping[str, Sequence[str]],
        uns: Mapping[str, Any],
        obs_prefix: str = "",
    ) -> None:
        from anndata.io import write_elem

        from gexgen.runtime.anndata_conventions import var_frame

        self.file = file
        file.attrs.update({"encoding-type": "anndata", "encoding-version": "0.1.0"})
        write_elem(file, "var", var_frame(genes, entrez_ids))
        write_elem(file, "uns", dict(uns))
        for name in ("obsm", "obsp", "varm", "varp", "layers"):
            write_elem(file, name, {})
        self.x = file.create_dataset("X", shape=(n, len(genes)), dtype=np.float32)
        self.x.attrs.update(_ARRAY)
        obs = file.create_group("obs")
        obs.attrs.update(
            {
                "encoding-type": "dataframe",
                "encoding-version": "0.2.0",
                "_index": "_index",
                # anndata writes an empty float array when there are no columns
                "column-order": np.array(list(label_values), dtype=object)
                if label_values
                else np.array([]),
            }
        )
        # row names "<prefix>0", "<prefix>1", ... as fixed-width ASCII: 10x faster to
        # write than variable-length strings, and read back by anndata as str all the same
        self._prefix = obs_prefix.encode("ascii")
        self._width = len(self._prefix) + len(str(max(n - 1, 0)))
        self.index = obs.create_dataset(
            "_index", shape=(n,), dtype=h5py.string_dtype("ascii", self._width)
        )
        self.index.attrs.update(_STRINGS)
        self.codes: dict[str, h5py.Dataset] = {}
        for name, values in label_values.items():
            group = obs.create_group(name)
            group.attrs.update(
                {"encoding-type": "categorical", "encoding-version": "0.2.0", "ordered": False}
            )
            cats = group.create_dataset(
                "categories",
                data=np.array([str(v) for v in values], dtype=object),
                dtype=h5py.string_dtype(),
            )
            cats.attrs.update(_STRINGS)
            codes = group.create_dataset("codes", shape=(n,), dtype=_code_dtype(len(values)))
            codes.attrs.update(_ARRAY)
            self.codes[name] = codes

    def write_rows(self, start: int, values: np.ndarray, codes: Mapping[str, np.ndarray]) -> None:
        """Fill rows ``start : start + len(values)`` of X, the obs index and label codes."""
        stop = start + len(values)
        self.x.write_direct(
            np.ascontiguousarray(values, dtype=np.float32), dest_sel=np.s_[start:stop]
        )
        names = np.arange(start, stop).astype(f"S{self._width}")
        if self._prefix:
            names = np.char.add(self._prefix, names).astype(f"S{self._width}")
        self.index[start:stop] = names
        for name, dataset in self.codes.items():
            dataset[start:stop] = codes[name]


def x_shape(file: h5py.File) -> tuple[int, int]:
    """(n_obs, n_vars) of X, dense or sparse."""
    x = file["X"]
    if isinstance(x, h5py.Dataset):
        return int(x.shape[0]), int(x.shape[1])
    return tuple(int(s) for s in x.attrs["shape"])  # type: ignore[return-value]


def read_x_rows(file: h5py.File, rows: slice | np.ndarray) -> np.ndarray:
    """Rows of X as a dense float32 array (``rows``: a step-1 slice or sorted indices)."""
    x = file["X"]
    if isinstance(x, h5py.Dataset):
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(x.shape[0])
            out = np.empty((max(stop - start, 0), x.shape[1]), dtype=x.dtype)
            if len(out):
                x.read_direct(out, source_sel=np.s_[start:stop])
            return out.astype(np.float32, copy=False)
        return np.asarray(x[rows], dtype=np.float32)
    from anndata.io import sparse_dataset

    block = sparse_dataset(x)[rows]
    return np.asarray(block.toarray(), dtype=np.float32)


def read_var_names(file: h5py.File) -> list[str]:
    var = file["var"]
    index_key = var.attrs.get("_index", "_index")
    return [str(s) for s in var[index_key].asstr()[:]]


def read_uns(file: h5py.File) -> dict[str, Any]:
    """``uns["gexgen"]`` as a plain dict ({} when absent)."""
    if "uns" not in file or "gexgen" not in file["uns"]:
        return {}
    from anndata.io import read_elem

    return _plain(read_elem(file["uns"]["gexgen"]))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_obs(file: h5py.File, with_index: bool = True) -> pd.DataFrame:
    """obs as a DataFrame; categorical columns are built from their codes directly.

    ``with_index=False`` skips the (possibly millions of) row names and keeps
    a RangeIndex.
    """
    from anndata.io import read_elem

    obs = file["obs"]
    columns = [str(c) for c in np.atleast_1d(obs.attrs.get("column-order", []))]
    missing = [c for c in columns if c not in obs]
    if missing:
        raise GexgenError(
            f"{file.filename!r}: obs's column-order names {missing[:3]}, which obs does not "
            "hold; the file is damaged: rewrite it with anndata"
        )
    data: dict[str, Any] = {}
    for name in columns:
        element = obs[name]
        if isinstance(element, h5py.Group) and element.attrs.get("encoding-type") == "categorical":
            categories = read_elem(element["categories"])
            data[name] = pd.Categorical.from_codes(
                element["codes"][:],
                categories=pd.Index(categories),
                ordered=bool(element.attrs.get("ordered", False)),
            )
        else:
            data[name] = read_elem(element)
    index = None
    if with_index:
        index = pd.Index(obs[obs.attrs.get("_index", "_index")].asstr()[:], dtype=object)
    n = x_shape(file)[0]
    return pd.DataFrame(data, index=index if index is not None else pd.RangeIndex(n))
