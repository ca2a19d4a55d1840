"""json_default turns numpy values and paths into JSON and rejects anything else."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gexgen._json import json_default


def test_numpy_values_and_paths_round_trip_as_plain_json():
    value = {"a": np.float32(0.5), "b": np.arange(3, dtype=np.int64), "c": Path("x/y.h5ad")}
    assert json.loads(json.dumps(value, default=json_default)) == {
        "a": 0.5, "b": [0, 1, 2], "c": "x/y.h5ad"}  # fmt: skip


def test_other_objects_are_rejected_by_type_name():
    with pytest.raises(TypeError, match="set"):
        json.dumps({"s": {1, 2}}, default=json_default)
