"""The conditional WGAN-GP of Viñas et al. 2022 as torch modules (tensors in, tensors out).

Generator and critic are MLPs (two hidden layers of 256, ReLU). Each condition
label goes through its own embedding of size ``int(sqrt(vocabulary)) + 1``,
concatenated to the input of both networks. The embedding is written as a
bias-free ``Linear`` on the label's one-hot block, so the generator has the
same interface as the CVAE decoder, ``generator(z, one_hot) -> standardized
profile``, and exports through the same path (the one-hot encoding of the
integer codes stays inside the ONNX graph).

Reference: Viñas, Andrés-Terré, Liò & Bryson, "Adversarial generation of gene
expression data", Bioinformatics 38(3):730 (2022); public code
rvinas/adversarial-gene-expression (Keras).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from gexgen.errors import GexgenError

__all__ = [
    "embedding_size",
    "LabelEmbeddings",
    "Generator",
    "Critic",
    "WGANGP",
    "gradient_penalty",
    "build_wgan",
    "generator_from_checkpoint",
]


def embedding_size(vocabulary: int) -> int:
    """Embedding width of a label with ``vocabulary`` values: ``int(sqrt(v)) + 1``.

    Examples
    --------
    >>> embedding_size(15), embedding_size(2)
    (4, 2)
    """
    return int(math.sqrt(vocabulary)) + 1


class LabelEmbeddings(nn.Module):
    """One embedding per label, applied to its block of the concatenated one-hot.

    ``forward(one_hot [n, sum(sizes)]) -> [n, sum(embedding_size(s))]``. Each
    embedding is a bias-free Linear, so a one-hot row selects one column of its
    weight, exactly as an embedding lookup does.
    """

    def __init__(self, label_sizes: Sequence[int]) -> None:
        super().__init__()
        self.label_sizes = tuple(int(s) for s in label_sizes)
        self.tables = nn.ModuleList(
            nn.Linear(size, embedding_size(size), bias=False) for size in self.label_sizes
        )
        self.n_out = sum(embedding_size(s) for s in self.label_sizes)

    def forward(self, one_hot: torch.Tensor) -> torch.Tensor:
        parts, start = [], 0
        for size, table in zip(self.label_sizes, self.tables, strict=True):
            parts.append(table(one_hot[:, start : start + size]))
            start += size
        return torch.cat(parts, dim=1)


def _mlp(n_in: int, hidden: Sequence[int], n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), nn.ReLU()]
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """G(z, c): MLP on [z, embeddings(c)] -> standardized profile (linear output).

    Has the attributes export reads from a decoder: ``n_latent``,
    ``n_condition`` (width of the one-hot input), ``n_genes`` and ``logvar``
    (always None: the WGAN-GP has no observation noise).
    """

    def __init__(
        self, n_latent: int, label_sizes: Sequence[int], hidden: Sequence[int], n_genes: int
    ) -> None:
        super().__init__()
        self.n_latent = int(n_latent)
        self.n_genes = int(n_genes)
        self.embeddings = LabelEmbeddings(label_sizes)
        self.n_condition = sum(self.embeddings.label_sizes)
        self.net = _mlp(self.n_latent + self.embeddings.n_out, hidden, self.n_genes)
        self.logvar = None

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embeddings(c)], dim=1))


class Critic(nn.Module):
    """D(x, c): MLP on [x, embeddings(c)] -> one unbounded score per sample."""

    def __init__(self, n_genes: int, label_sizes: Sequence[int], hidden: Sequence[int]) -> None:
        super().__init__()
        self.embeddings = LabelEmbeddings(label_sizes)
        self.net = _mlp(int(n_genes) + self.embeddings.n_out, hidden, 1)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, self.embeddings(c)], dim=1)).squeeze(1)


class WGANGP(nn.Module):
    """Generator + critic. Initialized as Keras does in the reference code.

    Dense layers: Glorot-uniform weights, zero biases; embeddings: uniform in
    [-0.05, 0.05].
    """

    def __init__(
        self,
        n_genes: int,
        label_sizes: Sequence[int],
        n_latent: int = 64,
        generator_hidden: Sequence[int] = (256, 256),
        critic_hidden: Sequence[int] = (256, 256),
    ) -> None:
        super().__init__()
        self.label_sizes = tuple(int(s) for s in label_sizes)
        self.generator = Generator(n_latent, self.label_sizes, generator_hidden, n_genes)
        self.critic = Critic(n_genes, self.label_sizes, critic_hidden)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, LabelEmbeddings):
                for table in module.tables:
                    nn.init.uniform_(table.weight, -0.05, 0.05)
            elif isinstance(module, nn.Sequential):
                for layer in module:
                    if isinstance(layer, nn.Linear):
                        nn.init.xavier_uniform_(layer.weight)
                        nn.init.zeros_(layer.bias)


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    c: torch.Tensor,
    alpha: torch.Tensor,
) -> torch.Tensor:
    """Mean of ``(||grad_x D(x_hat, c)||_2 - 1)**2`` at ``x_hat = real + alpha * (fake - real)``.

    ``alpha`` is uniform noise [n, 1]; the conditions are not interpolated.
    The graph is kept (``create_graph``) so the penalty trains the critic.
    """
    x_hat = (real + alpha * (fake - real)).requires_grad_(True)
    scores = critic(x_hat, c)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return (torch.linalg.vector_norm(grad, dim=1) - 1.0).pow(2).mean()


def build_wgan(model_config: dict[str, Any]) -> WGANGP:
    """A freshly initialized WGAN-GP of the shape in a checkpoint's ``model_config``."""
    try:
        return WGANGP(
            n_genes=int(model_config["n_genes"]),
            label_sizes=[int(s) for s in model_config["label_sizes"]],
            n_latent=int(model_config["n_latent"]),
            generator_hidden=[int(w) for w in model_config["generator_hidden"]],
            critic_hidden=[int(w) for w in model_config["critic_hidden"]],
        )
    except (KeyError, TypeError) as exc:
        raise GexgenError(f"WGAN-GP model_config is incomplete: missing {exc}") from exc


def generator_from_checkpoint(ckpt: dict[str, Any]) -> Generator:
    """The trained generator in eval mode: ``generator(z, one_hot) -> standardized profile``.

    Examples
    --------
    >>> from gexgen.train import load_checkpoint  # doctest: +SKIP
    >>> g = generator_from_checkpoint(load_checkpoint("runs/wgan"))  # doctest: +SKIP
    """
    if ckpt.get("model_type") != "wgan-gp":
        raise GexgenError(
            f"expected a checkpoint with model_type 'wgan-gp', got {ckpt.get('model_type')!r}"
        )
    model = build_wgan(ckpt["model_config"])
    try:
        model.load_state_dict(ckpt["model_state"])
    except (RuntimeError, KeyError) as exc:
        raise GexgenError(f"WGAN-GP weights do not match its model_config: {exc}") from exc
    return model.generator.eval()
