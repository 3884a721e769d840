"""PLUGIN_DIST: PLUGIN_DESCRIPTION.

Once installed (`pip install -e .` here):

    PLUGIN_USAGE
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import Param

if TYPE_CHECKING:
    import torch

__version__ = "0.1.0"
#: The plugin contract this package was written for (stylegen.hookspecs.HOOKSPEC_VERSION).
STYLEGEN_HOOKSPEC_VERSION = 1


class PluginClass:
    """Sample from softmax(logits / temperature) among the top_k likeliest tokens."""

    name = "PLUGIN_NAME"
    description = "PLUGIN_DESCRIPTION"
    params = (
        Param("temperature", float, 1.0, 1e-3, 10.0, "divide the logits by this; lower is more conservative"),
        Param("top_k", int, 40, 0, None, "sample among the k likeliest tokens (0: all)"),
    )

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        """logits (B, V) float32 -> ids (B,) int64, drawn with `generator` (one seed, one text).

        Ids stylegen never writes (the unknown id) arrive with logit -inf: keep them at -inf.
        """
        import torch  # here, not at the top: importing the plugin must stay cheap

        logits = logits / float(params["temperature"])  # (B, V)
        k = int(params["top_k"])
        if 0 < k < logits.size(-1):
            kth = logits.topk(k, dim=-1).values[:, -1:]  # (B, 1) the k-th largest
            logits = logits.masked_fill(logits < kth, float("-inf"))
        return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)  # (B,)


@hookimpl
def register_samplers(register: Register) -> None:
    register(PluginClass())
