"""Built-in model plugins `lstm`, `gru` and `rnn` (stackable; torch's fused kernels, cuDNN on CUDA)."""

from __future__ import annotations

import dataclasses
from typing import Any

from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl


def check_config(model: str, fields: dict[str, type], config: dict[str, Any]) -> None:
    """Raise a one-line error for an unknown option or a value out of range."""
    for key, value in config.items():
        if key not in fields:
            raise StylegenError(f"model {model!r}: unknown option {key!r} (known: {', '.join(sorted(fields))})")
        kind = fields[key]
        if kind is int and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise StylegenError(f"model {model!r}: {key} must be a whole number >= 1 (got {value!r})")
        if kind is float and (not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0):
            raise StylegenError(f"model {model!r}: {key} must be in [0, 1) (got {value!r})")


class RecurrentModel:
    """Factory for one recurrent cell type."""

    def __init__(self, cell: str, description: str) -> None:
        self.name = cell
        self.description = description

    def build(self, vocab_size: int, **config: Any) -> Any:
        from stylegen.models.rnn import RNNConfig, RNNLanguageModel

        fields: dict[str, type] = {
            f.name: (int if f.type in (int, "int") else float) for f in dataclasses.fields(RNNConfig)
        }
        check_config(self.name, fields, config)
        values: dict[str, Any] = {k: (float(v) if fields[k] is float else v) for k, v in config.items()}
        cfg = RNNConfig(**values)
        return RNNLanguageModel(self.name, vocab_size, cfg)


@hookimpl
def register_models(register: Register) -> None:
    register(RecurrentModel("lstm", "Stacked LSTM (torch.nn.LSTM; cuDNN on CUDA)"))
    register(RecurrentModel("gru", "Stacked GRU (torch.nn.GRU; cuDNN on CUDA)"))
    register(RecurrentModel("rnn", "Stacked vanilla tanh RNN, h = tanh(W_hh h + W_xh x) (torch.nn.RNN)"))
