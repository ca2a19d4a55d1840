"""fresh_matrix: a new float32 matrix of its own memory, large ones mapped anonymously."""

from __future__ import annotations

import gc
import mmap

import numpy as np
import pytest

from gexgen.runtime.fresh_memory import MMAP_MIN_BYTES, fresh_matrix


@pytest.mark.parametrize("shape", [(0, 5), (3, 7), (2048, 1000), (1, MMAP_MIN_BYTES // 4)])
def test_fresh_matrix_is_a_writable_float32_matrix_like_np_empty(shape):
    m = fresh_matrix(*shape)
    reference = np.empty(shape, np.float32)
    assert m.shape == reference.shape and m.dtype == reference.dtype
    assert m.flags.c_contiguous and m.flags.writeable
    values = np.arange(m.size, dtype=np.float32).reshape(shape)
    m[...] = values
    np.testing.assert_array_equal(m, values)


def _owner(array: np.ndarray) -> object:
    """The object at the end of the array's base chain (a memoryview's ``obj``)."""
    owner: object = array
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    return owner.obj if isinstance(owner, memoryview) else owner


def test_large_matrices_are_mapped_small_ones_are_not():
    large = fresh_matrix(2048, 1000)
    small = fresh_matrix(10, 10)
    if hasattr(mmap, "MAP_ANONYMOUS"):
        assert isinstance(_owner(large), mmap.mmap)
    assert isinstance(_owner(small), np.ndarray)


def test_matrices_do_not_share_memory_and_outlive_the_call():
    a, b = fresh_matrix(2048, 1000), fresh_matrix(2048, 1000)
    assert not np.shares_memory(a, b)
    a[:] = 1.0
    b[:] = 2.0
    view = a[5:7]  # a view keeps the mapping alive after the matrix goes
    del a
    gc.collect()
    assert (view == 1.0).all() and (b == 2.0).all()
