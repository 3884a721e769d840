"""stylegen-tcn: a temporal convolutional network (dilated causal convolutions) for stylegen.

    pip install ./plugins/stylegen-tcn
    stylegen train bard --model tcn --layers 6 --hidden 128 --model-opt kernel=3

Options (`--layers`, `--hidden`, `--embed`, `--dropout`, and `--model-opt KEY=VALUE` for the
rest): see `TCNConfig` in `config.py`. The model lives in `model.py`; this module stays free
of torch so that `stylegen --help` and `stylegen plugins` stay instant.
"""

from __future__ import annotations

from typing import Any

from stylegen.hookspecs import RegisterModel, hookimpl

__version__ = "0.1.0"
#: The plugin contract this package was written for (`stylegen.hookspecs.HOOKSPEC_VERSION`).
STYLEGEN_HOOKSPEC_VERSION = 1


class TCNFactory:
    name = "tcn"
    description = "Temporal convolutional network (Bai et al. 2018): dilated causal convolutions, buffers as state"

    def build(self, vocab_size: int, **config: Any) -> Any:
        from stylegen_tcn.config import make_config
        from stylegen_tcn.model import TCNLanguageModel

        return TCNLanguageModel(vocab_size, make_config(config))


@hookimpl
def register_models(register: RegisterModel) -> None:
    register(TCNFactory())
