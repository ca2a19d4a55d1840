"""metrics._umap.umap_2d: umap-learn's embedding on exact neighbours it is handed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("umap")

from gexgen.metrics._umap import umap_2d  # noqa: E402


def _clusters(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    return rng.normal(size=(n, 8)) + 6.0 * labels[:, None], labels


def test_the_neighbour_graph_is_the_one_umap_learn_builds_itself():
    """Same fuzzy graph as ``UMAP().fit`` (its own exact search below 4,096 points)."""
    import umap

    x, _ = _clusters()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = umap.UMAP(n_neighbors=15, min_dist=0.3, random_state=0, n_jobs=1).fit(
            x.astype(np.float32)
        )
    from sklearn.neighbors import NearestNeighbors

    d, i = NearestNeighbors(n_neighbors=15).fit(x).kneighbors(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        handed = umap.UMAP(
            n_neighbors=15,
            min_dist=0.3,
            random_state=0,
            n_jobs=1,
            precomputed_knn=(i, d.astype(np.float32), None),
        ).fit(x.astype(np.float32))
    diff = abs(own.graph_ - handed.graph_)
    assert diff.max() < 1e-4 and own.graph_.nnz == handed.graph_.nnz


def test_embedding_is_seeded_two_dimensional_and_keeps_clusters_apart():
    x, labels = _clusters()
    a, b = umap_2d(x, seed=3), umap_2d(x, seed=3)
    assert a.shape == (len(x), 2) and np.array_equal(a, b)
    centres = np.array([a[labels == c].mean(axis=0) for c in range(3)])
    spread = max(np.linalg.norm(a[labels == c] - centres[c], axis=1).mean() for c in range(3))
    gaps = [np.linalg.norm(centres[p] - centres[q]) for p, q in ((0, 1), (0, 2), (1, 2))]
    assert min(gaps) > 2 * spread


def test_a_handful_of_points_uses_fewer_neighbours():
    x, _ = _clusters(n=6)
    assert umap_2d(x).shape == (6, 2)
