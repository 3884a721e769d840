"""PLUGIN_DIST: PLUGIN_DESCRIPTION.

Once installed (`pip install -e .` here):

    PLUGIN_USAGE
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl

__version__ = "0.1.0"
#: The plugin contract this package was written for (stylegen.hookspecs.HOOKSPEC_VERSION).
STYLEGEN_HOOKSPEC_VERSION = 1


class PluginClass:
    """Builds the model from `stylegen train` options (--hidden, --layers, --embed, --dropout, --model-opt)."""

    name = "PLUGIN_NAME"
    description = "PLUGIN_DESCRIPTION"

    def build(self, vocab_size: int, **config: Any) -> Any:
        from plugin_module.model import Config, Model  # torch is imported there, only when a model is built

        known = {f.name for f in dataclasses.fields(Config)}
        unknown = sorted(set(config) - known)
        if unknown:
            known_list = ", ".join(sorted(known))
            raise StylegenError(f"model {self.name!r}: unknown option {unknown[0]!r} (known: {known_list})")
        cfg = Config(**config)
        if min(cfg.hidden, cfg.layers, cfg.embed) < 1 or not 0.0 <= cfg.dropout < 1.0:
            raise StylegenError(f"model {self.name!r}: sizes must be >= 1 and dropout in [0, 1) (got {config})")
        return Model(vocab_size, cfg)


@hookimpl
def register_models(register: Register) -> None:
    register(PluginClass())
