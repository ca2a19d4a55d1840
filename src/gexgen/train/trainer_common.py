"""What every trainer (CVAE, WGAN-GP) does the same way around its epochs."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

__all__ = ["EarlyStopping", "torch_threads", "epoch_bar", "state_copy"]


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` CPU threads (``None``: leave torch's setting), then restore it.

    On a busy machine one thread per process is often faster than two: OpenMP
    threads that wait for a descheduled partner waste their time slices.

    Examples
    --------
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def epoch_bar(total: int, desc: str, *, initial: int = 0, enabled: bool = True) -> Any:
    """A tqdm bar over epochs on stderr (a no-op object when ``enabled`` is false)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=min(initial, total),
        desc=desc,
        unit="epoch",
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
    )


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``model``'s weights, on the model's device."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class EarlyStopping:
    """Mixin: a run stops once ``since_best`` validation checks in a row brought nothing better.

    The host sets ``config.patience`` (``None``: never stop) and counts
    ``since_best``; ``stopped_early`` is derived from them, so a resumed run
    with a larger patience simply goes on.
    """

    config: Any
    since_best: int

    @property
    def stopped_early(self) -> bool:
        patience = self.config.patience
        return patience is not None and self.since_best >= patience
