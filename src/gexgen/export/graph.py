"""The torch module that becomes the ONNX generator graph.

``GeneratorGraph`` wraps any decoder with the interface
``decoder(z, one_hot) -> standardized profile`` (the CVAE decoder, the WGAN-GP
generator) and adds what makes the file self-contained: the one-hot encoding
of integer label codes, optional observation noise ``eps * exp(0.5 * logvar)``,
the inverse standardization to log2 space and the inverse of log2(x + 1).

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

    @property
    def n_labels(self) -> int:
        return len(self.label_sizes)

    def invalid_rows(self, codes: torch.Tensor) -> torch.Tensor:
        """float32 [n, 1]: 0 where every code is in its vocabulary, NaN where one is not."""
        sizes = torch.tensor(self.label_sizes, dtype=codes.dtype, device=codes.device)
        valid = ((codes >= 0) & (codes < sizes)).all(dim=1, keepdim=True)
        zero = torch.zeros((), dtype=torch.float32, device=codes.device)
        return torch.where(valid, zero, torch.full_like(zero, float("nan")))

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
        # pow(2, x) rather than exp2: the TorchScript fallback exporter has no exp2
        expression = torch.clamp(torch.pow(2.0, log_expression) - 1.0, min=0.0)
        return log_expression + nan_if_invalid, expression + nan_if_invalid
