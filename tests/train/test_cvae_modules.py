"""CVAE modules: shapes, one-hot encoding and the loss against torch.distributions."""

from __future__ import annotations

import math

import pytest
import torch
from torch import distributions as D
from torch.nn import functional as F

from gexgen.errors import GexgenError
from gexgen.train.cvae import (
    CVAE,
    ConditionalPrior,
    CVAEOutput,
    Decoder,
    Encoder,
    combination_temperatures,
    cvae_loss,
    joint_one_hot,
    one_hot_conditions,
    temper_prior,
)

SIZES = (5, 2)


def _codes(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, s, (n,), generator=g) for s in SIZES], dim=1)


def test_one_hot_conditions_matches_torch_one_hot():
    codes = _codes(40)
    want = torch.cat([F.one_hot(codes[:, i], s).float() for i, s in enumerate(SIZES)], dim=1)
    got = one_hot_conditions(codes, SIZES)
    assert got.dtype == torch.float32
    assert torch.equal(got, want)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_module_shapes(batch_norm):
    n, n_genes, n_latent = 7, 30, 5
    enc = Encoder(n_genes, sum(SIZES), (20, 10), n_latent, batch_norm)
    mu, logvar = enc(torch.randn(n, n_genes), one_hot_conditions(_codes(n), SIZES))
    assert mu.shape == logvar.shape == (n, n_latent)
    dec = Decoder(n_latent, sum(SIZES), (10, 20), n_genes, batch_norm)
    assert dec(torch.randn(n, n_latent), one_hot_conditions(_codes(n), SIZES)).shape == (
        n,
        n_genes,
    )
    assert dec.logvar is None and dec.prior is None
    n_bn = sum(isinstance(m, torch.nn.BatchNorm1d) for m in dec.modules())
    assert n_bn == (2 if batch_norm else 0)


def test_paper_shape_cvae():
    model = CVAE(975, (14, 2), (1000, 512, 256), 50, (256, 512, 1000))
    out = model(
        torch.randn(4, 975), torch.tensor([[0, 0], [13, 1], [5, 0], [2, 1]]), torch.randn(4, 50)
    )
    assert isinstance(out, CVAEOutput)
    assert out.mean.shape == (4, 975) and out.mu.shape == (4, 50) and out.logvar.shape == (4, 50)
    assert out.prior_mu is None
    first = model.decoder.hidden[0]
    assert (first.in_features, first.out_features) == (50 + 16, 256)
    assert model.encoder.hidden[0].in_features == 975 + 16


def test_reparameterization_uses_eps():
    model = CVAE(12, SIZES, (8,), 3, (8,), batch_norm=False).eval()
    x, codes = torch.randn(5, 12), _codes(5)
    a = model(x, codes, torch.zeros(5, 3))
    b = model(x, codes, torch.ones(5, 3))
    assert torch.allclose(a.mu, b.mu) and not torch.allclose(a.mean, b.mean)
    # eps = 0 decodes the posterior mean
    c = one_hot_conditions(codes, SIZES)
    assert torch.allclose(a.mean, model.decoder.decode(a.mu, c))


def _reference_kl(out: CVAEOutput) -> torch.Tensor:
    q = D.Normal(out.mu, torch.exp(0.5 * out.logvar))
    if out.prior_mu is None:
        p = D.Normal(torch.zeros_like(out.mu), torch.ones_like(out.mu))
    else:
        p = D.Normal(out.prior_mu, torch.exp(0.5 * out.prior_logvar))
    return D.kl_divergence(q, p).sum(dim=1).mean()


@pytest.mark.parametrize("conditional_prior", [False, True])
def test_loss_matches_reference(conditional_prior):
    torch.manual_seed(0)
    model = CVAE(10, SIZES, (8,), 3, (8,), conditional_prior=conditional_prior)
    if conditional_prior:  # move the prior away from N(0, I) so the test can fail
        torch.nn.init.normal_(model.decoder.prior.linear.weight)
    x = torch.randn(6, 10)
    out = model(x, _codes(6), torch.randn(6, 3))
    total, recon, kl = cvae_loss(x, out, kl_weight=0.5)
    assert torch.allclose(recon, ((x - out.mean) ** 2).sum(dim=1).mean())
    assert torch.allclose(kl, _reference_kl(out), atol=1e-5)
    assert torch.allclose(total, recon + 0.5 * kl)


def test_learned_variance_loss_is_gaussian_nll():
    torch.manual_seed(1)
    model = CVAE(10, SIZES, (8,), 3, (8,), learned_variance=True)
    with torch.no_grad():
        model.decoder.logvar.normal_()
    x = torch.randn(6, 10)
    out = model(x, _codes(6), torch.randn(6, 3))
    _, recon, _ = cvae_loss(x, out, model.decoder.logvar)
    ref = -D.Normal(out.mean, torch.exp(0.5 * model.decoder.logvar)).log_prob(x).sum(1).mean()
    assert torch.allclose(recon, ref, atol=1e-4)
    assert math.isfinite(recon.item())


def test_joint_one_hot_indexes_combinations():
    codes = _codes(30)
    joint = joint_one_hot(one_hot_conditions(codes, SIZES), SIZES)
    want = F.one_hot(codes[:, 0] * SIZES[1] + codes[:, 1], SIZES[0] * SIZES[1]).float()
    assert torch.equal(joint, want)


def test_conditional_prior_starts_standard_and_maps_noise():
    dec = Decoder(3, sum(SIZES), (8,), 10, batch_norm=False, label_sizes=SIZES).eval()
    codes = torch.tensor([[0, 0], [4, 1], [2, 1], [0, 0]])
    c = one_hot_conditions(codes, SIZES)
    z = torch.randn(4, 3)
    assert torch.allclose(dec(z, c), dec.decode(z, c))  # zero-initialized prior = N(0, I)
    with torch.no_grad():  # combination (4, 1) = column 9: mean 2, std exp(0.5 * 2)
        dec.prior.linear.weight[:3, 9] = 2.0
        dec.prior.linear.weight[3:, 9] = 2.0
    shift = torch.zeros(4, 3)
    scale = torch.ones(4, 3)
    shift[1], scale[1] = 2.0, math.exp(1.0)
    assert torch.allclose(dec(z, c), dec.decode(shift + scale * z, c), atol=1e-6)


def _random_prior_decoder() -> tuple[Decoder, torch.Tensor, torch.Tensor]:
    """A decoder whose conditional prior has random weights, four label codes, their one-hot."""
    dec = Decoder(3, sum(SIZES), (8,), 10, batch_norm=False, label_sizes=SIZES).eval()
    with torch.no_grad():
        dec.prior.linear.weight.normal_()
        dec.prior.linear.bias.normal_()
    codes = torch.tensor([[0, 0], [4, 1], [2, 1], [1, 0]])
    return dec, codes, one_hot_conditions(codes, SIZES)


def test_temper_prior_scales_the_sd_of_every_combination():
    dec, _, c = _random_prior_decoder()
    z = torch.randn(4, 3)
    with torch.no_grad():
        mu, logvar = dec.prior(c)
        temper_prior(dec.prior, 1.5)
        mu_t, logvar_t = dec.prior(c)
        # reference: the same mean, 1.5 times the sd, for each row's combination
        torch.testing.assert_close(mu_t, mu)
        torch.testing.assert_close(torch.exp(0.5 * logvar_t), 1.5 * torch.exp(0.5 * logvar))
        torch.testing.assert_close(dec(z, c), dec.decode(mu + 1.5 * torch.exp(0.5 * logvar) * z, c))
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(GexgenError, match="temperature"):
            temper_prior(dec.prior, bad)


def test_temper_prior_per_combination_scales_each_combination_alone():
    dec, codes, c = _random_prior_decoder()
    combo = codes[:, 0] * SIZES[1] + codes[:, 1]  # joint order: the first label varies slowest
    temperatures = torch.linspace(0.5, 2.0, SIZES[0] * SIZES[1])
    with torch.no_grad():
        mu, logvar = dec.prior(c)
        temper_prior(dec.prior, temperatures.tolist())
        mu_t, logvar_t = dec.prior(c)
    torch.testing.assert_close(mu_t, mu)
    want = temperatures[combo, None] * torch.exp(0.5 * logvar)
    torch.testing.assert_close(torch.exp(0.5 * logvar_t), want)
    with pytest.raises(GexgenError, match="one value per label combination"):
        temper_prior(dec.prior, [1.5, 1.5])
    with pytest.raises(GexgenError, match="temperature"):
        temper_prior(dec.prior, [0.0] * len(temperatures))
    assert combination_temperatures([3, 30, 24, 25, 0], 1.5, 25) == [1.5, 1.0, 1.5, 1.0, 1.0]
    assert combination_temperatures([3, 30], 2.0, 0) == 2.0


def test_conditional_prior_refuses_too_many_combinations():
    with pytest.raises(GexgenError, match="too large"):
        ConditionalPrior((100, 100), 4)


def test_package_exports_resolve_without_importing_torch_first():
    import subprocess
    import sys

    code = (
        "import sys, gexgen.train as t; from gexgen.train.config import TrainConfig; "
        "assert 'torch' not in sys.modules; "
        "[getattr(t, name) for name in t.__all__]; assert 'torch' in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
