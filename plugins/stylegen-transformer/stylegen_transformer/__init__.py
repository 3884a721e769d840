"""stylegen-transformer: a small decoder-only Transformer for stylegen, as a plugin.

    pip install ./plugins/stylegen-transformer
    stylegen train bard --model transformer --layers 4 --hidden 128 --model-opt context=256

Options (`--layers`, `--hidden`, `--dropout`, and `--model-opt KEY=VALUE` for the rest):
see `TransformerConfig` in `config.py`. The model lives in `model.py`; this module stays
free of torch so that `stylegen --help` and `stylegen plugins` stay instant.
"""

from __future__ import annotations

from typing import Any

from stylegen.hookspecs import RegisterModel, hookimpl

__version__ = "0.1.0"
#: The plugin contract this package was written for (`stylegen.hookspecs.HOOKSPEC_VERSION`).
STYLEGEN_HOOKSPEC_VERSION = 1


class TransformerFactory:
    name = "transformer"
    description = "Decoder-only Transformer: causal self-attention over a sliding window, KV cache as state"

    def build(self, vocab_size: int, **config: Any) -> Any:
        from stylegen_transformer.config import make_config
        from stylegen_transformer.model import TransformerLanguageModel

        return TransformerLanguageModel(vocab_size, make_config(config))


@hookimpl
def register_models(register: RegisterModel) -> None:
    register(TransformerFactory())
