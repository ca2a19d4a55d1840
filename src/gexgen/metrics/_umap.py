"""A 2-d UMAP of at most a few thousand points, without umap-learn's per-process compile.

umap-learn compiles its numba kernels in every new process: about 13 s on 2
cores for a 2,300-point report figure, most of it ``fast_knn_indices`` (the
exact neighbours it computes below 4,096 points) and ``smooth_knn_dist``. Here
the exact neighbours come from scikit-learn (a BLAS product, 0.1 s) and are
handed over as ``precomputed_knn`` (the same neighbour graph umap-learn builds
itself), and the kernels that do not depend on the data's size are cached on
disk like gexgen's own (numba's ``enable_caching``, what ``cache=True`` does),
so a second evaluation loads them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["umap_2d"]

# module-level umap-learn kernels compiled on every first call; cached on disk here
_CACHED_KERNELS = ("smooth_knn_dist", "compute_membership_strengths")


def _cache_kernels(umap_module: Any) -> None:
    for name in _CACHED_KERNELS:
        kernel = getattr(umap_module, name, None)
        if type(getattr(kernel, "_cache", None)).__name__ != "NullCache":
            continue  # not a numba dispatcher, or already cached
        try:
            kernel.enable_caching()
        except Exception:  # noqa: BLE001 - e.g. no writable cache folder: compile as before
            pass


def umap_2d(points: np.ndarray, *, seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """2-d UMAP (``min_dist=0.3``, seeded, one thread) of ``points`` on exact Euclidean neighbours.

    The embedding umap-learn's ``UMAP(...).fit_transform(points)`` draws, from
    the same exact neighbour graph, without compiling its neighbour search.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> umap_2d(rng.normal(size=(60, 5))).shape  # doctest: +SKIP
    (60, 2)
    """
    import umap
    import umap.umap_
    from sklearn.neighbors import NearestNeighbors

    _cache_kernels(umap.umap_)
    x = np.ascontiguousarray(points, dtype=np.float32)
    k = int(min(n_neighbors, x.shape[0] - 1))
    distances, indices = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x)
    reducer = umap.UMAP(
        n_neighbors=k,
        min_dist=0.3,
        random_state=seed,
        n_jobs=1,
        precomputed_knn=(indices, distances.astype(np.float32), None),
    )
    with warnings.catch_warnings():  # "precomputed_knn ... no search index" and n_jobs notes
        warnings.simplefilter("ignore")
        return reducer.fit_transform(x)
