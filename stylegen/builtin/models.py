"""Built-in model plugins: `lstm`, `gru` and `rnn` (stackable; torch's fused kernels, cuDNN on
CUDA), and `qrnn` (matrix products over all steps at once, an elementwise recurrence)."""

from __future__ import annotations

from typing import Any

from stylegen.config import config_from
from stylegen.hookspecs import RegisterModel, hookimpl


class RecurrentModel:
    """Factory for one recurrent cell type."""

    def __init__(self, cell: str, description: str) -> None:
        self.name = cell
        self.description = description

    def build(self, vocab_size: int, **config: Any) -> Any:
        from stylegen.models.rnn import RNNConfig, RNNLanguageModel

        return RNNLanguageModel(self.name, vocab_size, config_from(RNNConfig, config, owner=f"model {self.name!r}"))


class QuasiRecurrentModel:
    """Factory for the QRNN (stylegen.models.qrnn)."""

    name = "qrnn"
    description = (
        "Stacked QRNN: gates from all steps in one matrix product, an elementwise recurrence (Bradbury et al. 2016)"
    )

    def build(self, vocab_size: int, **config: Any) -> Any:
        from stylegen.models.qrnn import QRNNConfig, QRNNLanguageModel

        return QRNNLanguageModel(vocab_size, config_from(QRNNConfig, config, owner="model 'qrnn'"))


@hookimpl
def register_models(register: RegisterModel) -> None:
    register(RecurrentModel("lstm", "Stacked LSTM (torch.nn.LSTM; cuDNN on CUDA)"))
    register(RecurrentModel("gru", "Stacked GRU (torch.nn.GRU; cuDNN on CUDA)"))
    register(RecurrentModel("rnn", "Stacked vanilla tanh RNN, h = tanh(W_hh h + W_xh x) (torch.nn.RNN)"))
    register(QuasiRecurrentModel())
