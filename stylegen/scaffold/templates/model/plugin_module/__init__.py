"""PLUGIN_DIST: PLUGIN_DESCRIPTION.

Once installed (`pip install -e .` here):

    PLUGIN_USAGE
"""

from __future__ import annotations

from typing import Any

from stylegen.config import config_from
from stylegen.hookspecs import RegisterModel, hookimpl

__version__ = "0.1.0"
#: The plugin contract this package was written for (stylegen.hookspecs.HOOKSPEC_VERSION).
STYLEGEN_HOOKSPEC_VERSION = 1


class PluginClass:
    """Builds the model from `stylegen train` options (--hidden, --layers, --embed, --dropout, --model-opt)."""

    name = "PLUGIN_NAME"
    description = "PLUGIN_DESCRIPTION"

    def build(self, vocab_size: int, **config: Any) -> Any:
        from plugin_module.model import Config, Model  # torch is imported there, only when a model is built

        # each option checked against Config's fields: a one-line error for an unknown option, a size
        # below 1 or a dropout outside [0, 1)
        return Model(vocab_size, config_from(Config, config, owner=f"model {self.name!r}"))


@hookimpl
def register_models(register: RegisterModel) -> None:
    register(PluginClass())
