"""The object API: ``CVAE`` and ``WGANGP`` with fit / sample / save / load / export / evaluate.

Importing this package does not import torch; ``fit``, ``save``, ``load`` and
``export`` do (the ``train`` extra).
"""

from __future__ import annotations

from gexgen.model.generator_model import CVAE, WGANGP, GeneratorModel

__all__ = ["CVAE", "WGANGP", "GeneratorModel"]
