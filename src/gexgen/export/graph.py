"""The torch module that becomes the ONNX generator graph.

``GeneratorGraph`` wraps any decoder with the interface
``decoder(z, one_hot) -> standardized profile`` (the CVAE decoder, the WGAN-GP
generator) and adds what makes the file self-contained: the one-hot encoding
of integer label codes, optional observation noise ``eps * exp(0.5 * logvar)``,
the inverse standardization, the inverse per-gene quantile map when the model
learned in normal scores (``gexgen.data.marginals``: ``Phi`` by ``Erf``, the
knot pair by ``Gather``), the floor of log2 values at 0 for a non-negative
cohort, and the inverse of log2(x + 1).

A row whose code of any label lies outside that label's vocabulary (``-1``,
``99``) comes out as NaN in both outputs, so that a caller of the raw graph
who passes a wrong code cannot mistake the result for a profile.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from gexgen.train.cvae import joint_one_hot, one_hot_conditions

__all__ = ["GeneratorGraph"]


class GeneratorGraph(nn.Module):
    """``forward(z, *codes[, eps]) -> (log_expression, expression)``.

    Parameters
    ----------
    decoder
        Module mapping ``(z [n, n_latent], one_hot [n, sum(label_sizes)])`` to a
        standardized profile ``[n, n_genes]``; put in eval mode here.
    label_sizes
        Vocabulary size of each label, in input order.
    scaler_mean, scaler_std
        Per-gene log2-space mean and scale of the standardization.
    logvar
        Log variance of the observation noise (standardized units), per gene
        ``[n_genes]`` or per label combination and gene ``[n_combinations,
        n_genes]`` (row-major over ``label_sizes``, as ``joint_one_hot``); when
        given, the graph takes a third kind of input ``eps`` (standard normals
        ``[n, n_genes]``) and adds ``eps * exp(0.5 * logvar)`` to the decoder mean.
    factors, gains
        The correlation of the noise (see ``gexgen.train.calibrate``).
    offset
        Calibrated offset per label combination and gene ``[n_combinations,
        n_genes]`` (standardized units), added to the decoder mean with or
        without noise.
    quantiles
        Per-gene quantile table ``[n_genes, n_knots]`` of a model that learned in
        normal scores (``gexgen.data.marginals.from_gaussian``); None: log2 space.
    floor
        Smallest log2 value the graph returns (0 for a non-negative cohort); None: none.
    """

    def __init__(
        self,
        decoder: nn.Module,
        label_sizes: Sequence[int],
        scaler_mean: np.ndarray,
        scaler_std: np.ndarray,
        logvar: torch.Tensor | None = None,
        factors: torch.Tensor | None = None,
        gains: torch.Tensor | None = None,
        offset: torch.Tensor | None = None,
        quantiles: np.ndarray | None = None,
        floor: float | None = None,
    ) -> None:
        super().__init__()
        self.decoder = decoder.eval()
        self.label_sizes = tuple(int(s) for s in label_sizes)
        self.register_buffer("mean", torch.as_tensor(np.asarray(scaler_mean, dtype=np.float32)))
        self.register_buffer("std", torch.as_tensor(np.asarray(scaler_std, dtype=np.float32)))
        self.noise_input = logvar is not None
        self.noise_per_combination = logvar is not None and logvar.dim() == 2
        if logvar is not None:
            self.register_buffer("noise_scale", torch.exp(0.5 * logvar.detach().float()))
        self.correlated = factors is not None and gains is not None and factors.shape[1] > 0
        if self.correlated:
            assert factors is not None and gains is not None
            self.register_buffer("noise_factors", factors.detach().float())
            self.register_buffer("noise_gains", gains.detach().float())
        self.offset = offset is not None
        self.by_combination = self.offset or self.noise_per_combination
        if offset is not None:
            self.register_buffer("mean_offset", offset.detach().float())
        self.quantile = quantiles is not None
        if quantiles is not None:
            table = torch.as_tensor(np.asarray(quantiles, dtype=np.float32))
            self.n_knots = int(table.shape[1])
            # one row per knot: its value and the step to the next knot, so that one
            # Gather fetches both (two 1-D Gathers measured slower)
            step = torch.diff(table, dim=1, append=table[:, -1:])
            self.register_buffer("knot_pairs", torch.stack([table, step], dim=-1).reshape(-1, 2))
            starts = torch.arange(table.shape[0], dtype=torch.int64) * self.n_knots
            self.register_buffer("knot_starts", starts)
        self.floor = None if floor is None else float(floor)

    @property
    def n_labels(self) -> int:
        return len(self.label_sizes)

    def invalid_rows(self, codes: torch.Tensor) -> torch.Tensor:
        """float32 [n, 1]: 0 where every code is in its vocabulary, NaN where one is not."""
        sizes = torch.tensor(self.label_sizes, dtype=codes.dtype, device=codes.device)
        valid = ((codes >= 0) & (codes < sizes)).all(dim=1, keepdim=True)
        zero = torch.zeros((), dtype=torch.float32, device=codes.device)
        return torch.where(valid, zero, torch.full_like(zero, float("nan")))

    def from_normal_scores(self, t: torch.Tensor) -> torch.Tensor:
        """``gexgen.data.marginals.from_gaussian`` in graph operations."""
        k = self.n_knots
        pos = 0.5 * (1.0 + torch.erf(t * (2.0**-0.5))) * k - 0.5
        index = torch.clamp(torch.floor(pos), 0.0, float(k - 2))
        frac = pos - index
        flat = (index.to(torch.int64) + self.knot_starts).reshape(-1)
        # index_select on a flat index exports as a plain ONNX Gather (tensor indexing
        # gave GatherND: 29% of the graph's onnxruntime time, against 10% + 4% Split)
        pairs = self.knot_pairs.index_select(0, flat).reshape(*t.shape, 2)
        return pairs[..., 0] + frac * pairs[..., 1]

    def forward(self, z: torch.Tensor, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = torch.stack(inputs[: self.n_labels], dim=1)
        nan_if_invalid = self.invalid_rows(codes)  # added to both outputs: x + 0 == x
        one_hot = one_hot_conditions(codes, self.label_sizes)
        standardized = self.decoder(z, one_hot)
        joint = joint_one_hot(one_hot, self.label_sizes) if self.by_combination else None
        if self.offset:  # the calibrated centre of each label combination
            standardized = standardized + joint @ self.mean_offset
        if self.noise_per_combination:  # a row of the table per label combination
            eps = inputs[self.n_labels]
            if self.correlated:
                eps = eps + ((eps @ self.noise_factors) * self.noise_gains) @ self.noise_factors.T
            scale = joint @ self.noise_scale
            standardized = standardized + eps * scale
        elif self.noise_input:
            standardized = standardized + inputs[self.n_labels] * self.noise_scale
        log_expression = standardized * self.std + self.mean
        if self.quantile:
            log_expression = self.from_normal_scores(log_expression)
        if self.floor is not None:
            log_expression = torch.clamp(log_expression, min=self.floor)
        # pow(2, x) rather than exp2: the TorchScript fallback exporter has no exp2
        expression = torch.clamp(torch.pow(2.0, log_expression) - 1.0, min=0.0)
        return log_expression + nan_if_invalid, expression + nan_if_invalid
