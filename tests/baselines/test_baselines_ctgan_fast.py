"""The linear-time span loops give exactly ctgan's values and gradients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from ctgan.data_transformer import SpanInfo
from ctgan.synthesizers.ctgan import CTGAN
from ctgan.synthesizers.tvae import _loss_function

from gexgen.baselines import TabularBaseline, TabularConfig
from gexgen.baselines._ctgan_fast import fast_ctgan_class, split_loss_function

OUTPUT_INFO = [[SpanInfo(1, "tanh"), SpanInfo(3, "softmax")] for _ in range(6)] + [
    [SpanInfo(4, "softmax")],
    [SpanInfo(2, "softmax")],
]
WIDTH = 6 * 4 + 4 + 2


def _one_hot_rows(n: int, rng: np.random.Generator) -> torch.Tensor:
    """Transformed-data-like rows: a value then one-hot blocks, per span."""
    cols = []
    for column in OUTPUT_INFO:
        for span in column:
            if span.activation_fn == "tanh":
                cols.append(rng.uniform(-1, 1, size=(n, 1)))
            else:
                cols.append(np.eye(span.dim)[rng.integers(0, span.dim, n)])
    return torch.tensor(np.concatenate(cols, axis=1), dtype=torch.float32)


def test_split_loss_equals_ctgan_loss_with_gradients():
    rng = np.random.default_rng(0)
    x = _one_hot_rows(16, rng)
    results = []
    for fn in (_loss_function, split_loss_function):
        torch.manual_seed(0)
        recon = torch.randn(16, WIDTH, requires_grad=True)
        sigmas = (torch.rand(WIDTH) * 0.5 + 0.1).requires_grad_(True)
        mu, logvar = torch.randn(16, 4), torch.randn(16, 4)
        rec, kld = fn(recon, x, sigmas, mu, logvar, OUTPUT_INFO, 2)
        rec.backward()
        results.append((rec.detach(), kld, recon.grad, sigmas.grad))
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)


def test_split_activate_equals_ctgan_activate_with_gradients():
    class Transformer:
        output_info_list = OUTPUT_INFO

    results = []
    for cls in (CTGAN, fast_ctgan_class()):
        model = cls(enable_gpu=False)
        model._transformer = Transformer()
        torch.manual_seed(1)
        data = torch.randn(16, WIDTH, requires_grad=True)
        out = model._apply_activate(data)  # the gumbel noise is drawn in the same order
        (out * torch.arange(WIDTH)).sum().backward()
        results.append((out.detach(), data.grad))
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)
    assert results[0][0].shape == (16, WIDTH)


@pytest.mark.parametrize("kind", ["ctgan", "tvae"])
def test_a_fit_with_fast_loops_samples_exactly_like_ctgan(kind: str):
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 10.0, size=(40, 3))
    labels = pd.DataFrame({"tissue": np.array(["a", "b"])[np.arange(40) % 2]})
    samples = []
    for fast in (False, True):
        config = TabularConfig(epochs=2, batch_size=20, n_jobs=1, fast_loops=fast)
        model = TabularBaseline(kind, config)  # type: ignore[arg-type]
        model.fit(x, ["g0", "g1", "g2"], labels)
        samples.append(model.sample(30))
    np.testing.assert_array_equal(samples[0][0], samples[1][0])
    pd.testing.assert_frame_equal(samples[0][1], samples[1][1])
