"""Linear-time versions of two ctgan loops over output spans, with identical results.

ctgan builds its output activations (CTGAN) and its reconstruction loss (TVAE)
with one slice ``data[:, st:ed]`` per span: two spans per gene. In the
backward pass every slice materializes a gradient as wide as the whole
output and adds it in, so a step costs O(genes^2): with 975 genes one
forward + backward of CTGAN's activations took 17 s here. ``torch.split``
hands out the same views and backpropagates with one concatenation: the
same values, the same gradients (the tests compare them exactly), 12x
faster. Only the loops change; networks, losses, noise draws and their
order are ctgan's own.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

__all__ = ["split_loss_function", "fast_ctgan_class"]


def _spans(output_info: Any) -> list[Any]:
    return [span for column_info in output_info for span in column_info]


def split_loss_function(
    recon_x: torch.Tensor,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    output_info: Any,
    factor: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``ctgan.synthesizers.tvae._loss_function`` with ``torch.split`` instead of slices."""
    from torch.nn.functional import cross_entropy

    spans = _spans(output_info)
    sizes = [span.dim for span in spans]
    if sum(sizes) != recon_x.size()[1]:
        raise ValueError(f"output spans cover {sum(sizes)} columns, data has {recon_x.size()[1]}")
    parts = zip(
        spans,
        torch.split(recon_x, sizes, dim=1),
        torch.split(x, sizes, dim=1),
        torch.split(sigmas, sizes),
        strict=True,
    )
    loss = []
    for span, recon, real, sigma in parts:
        if span.activation_fn != "softmax":
            std = sigma[0]
            eq = real[:, 0] - torch.tanh(recon[:, 0])
            loss.append((eq**2 / 2 / (std**2)).sum())
            loss.append(torch.log(std) * x.size()[0])
        else:
            loss.append(cross_entropy(recon, torch.argmax(real, dim=-1), reduction="sum"))
    kld = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
    return sum(loss) * factor / x.size()[0], kld / x.size()[0]


@functools.cache
def fast_ctgan_class() -> type:
    """``ctgan.CTGAN`` whose ``_apply_activate`` splits the output once."""
    from ctgan.synthesizers.ctgan import CTGAN

    class SplitActivateCTGAN(CTGAN):
        def _apply_activate(self, data: torch.Tensor) -> torch.Tensor:
            spans = _spans(self._transformer.output_info_list)
            parts = torch.split(data, [span.dim for span in spans], dim=1)
            out = []
            for span, part in zip(spans, parts, strict=True):
                if span.activation_fn == "tanh":
                    out.append(torch.tanh(part))
                elif span.activation_fn == "softmax":
                    out.append(self._gumbel_softmax(part, tau=0.2))
                else:
                    raise ValueError(f"Unexpected activation function {span.activation_fn}.")
            return torch.cat(out, dim=1)

    return SplitActivateCTGAN
