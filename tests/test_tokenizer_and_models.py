"""The char tokenizer and the stateful-step protocol of the built-in models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from stylegen import plugins
from stylegen.builtin.char import UNK
from stylegen.errors import StylegenError


def test_char_tokenizer_round_trip_and_unknown_id(tmp_path: Path) -> None:
    factory = plugins.get("tokenizer", "char")
    tok = factory.train("hello, wörld\n")
    ids = tok.encode("hello wörld")
    assert tok.decode(ids.tolist()) == "hello wörld"
    assert tok.vocab_size == len(set("hello, wörld\n")) + 1
    unknown = tok.encode("h✓z😀")  # never seen in training
    assert unknown.tolist()[1:] == [0, 0, 0] and tok.unk_id == 0
    assert tok.decode(unknown.tolist()) == "h" + UNK * 3
    tok.save(tmp_path)
    again = factory.load(tmp_path)
    assert again.encode("hello wörld").tolist() == ids.tolist()
    assert tok.token_lengths().tolist() == [1] * tok.vocab_size


def test_char_tokenizer_survives_surrogates_and_nul() -> None:
    tok = plugins.get("tokenizer", "char").train("ab\x00")
    assert tok.encode("a\ud800\x00b").tolist() == [2, 0, 1, 3]


def test_damaged_vocabulary_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "vocab.json").write_text('{"chars": ["b", "a"]}')
    with pytest.raises(StylegenError, match=r"vocab\.json"):
        plugins.get("tokenizer", "char").load(tmp_path)
    (tmp_path / "vocab.json").write_text("{not json")
    with pytest.raises(StylegenError, match=r"vocab\.json: not valid JSON"):
        plugins.get("tokenizer", "char").load(tmp_path)


def test_encode_is_vectorised_for_large_text() -> None:
    tok = plugins.get("tokenizer", "char").train("abc")
    ids = tok.encode("abc" * 1_000_000)
    assert ids.dtype == np.uint16 and len(ids) == 3_000_000


@pytest.mark.parametrize("name", ["lstm", "gru", "rnn"])
def test_stateful_step_protocol(name: str) -> None:
    torch.manual_seed(0)
    model = plugins.get("model", name).build(11, layers=2, hidden=8, embed=4, dropout=0.1).eval()
    ids = torch.randint(0, 11, (3, 7))
    logits, _ = model(ids, model.init_state(3, "cpu"))
    assert logits.shape == (3, 7, 11)
    # Feeding the sequence in two pieces with the state carried equals feeding it at once.
    first, state = model(ids[:, :4], model.init_state(3, "cpu"))
    second, _ = model(ids[:, 4:], state)
    assert torch.allclose(torch.cat([first, second], 1), logits, atol=1e-5)
    rebuilt = plugins.get("model", name).build(11, **model.config())
    assert rebuilt.config() == model.config()


def test_vanilla_rnn_is_the_tanh_recurrence() -> None:
    torch.manual_seed(0)
    model = plugins.get("model", "rnn").build(5, layers=1, hidden=3, embed=2).eval()
    ids = torch.tensor([[1, 4, 2]])
    logits, _ = model(ids, model.init_state(1, "cpu"))
    r = model.rnn
    h = torch.zeros(3)
    for t, i in enumerate(ids[0]):
        x = model.embedding.weight[i]
        h = torch.tanh(r.weight_ih_l0 @ x + r.bias_ih_l0 + r.weight_hh_l0 @ h + r.bias_hh_l0)
        assert torch.allclose(model.head(h), logits[0, t], atol=1e-5)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"hidden": 0}, "hidden must be a whole number >= 1"),
        ({"layers": -1}, "layers"),
        ({"dropout": 1.5}, "dropout"),
        ({"heads": 2}, "unknown option 'heads'"),
    ],
)
def test_model_config_is_checked(config: dict[str, object], message: str) -> None:
    with pytest.raises(StylegenError, match=message):
        plugins.get("model", "lstm").build(10, **config)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["lstm", "gru", "rnn"])
def test_models_run_on_cuda_with_cudnn(name: str) -> None:
    model = plugins.get("model", name).build(11, layers=2, hidden=16).cuda()
    ids = torch.randint(0, 11, (2, 5), device="cuda")
    logits, _ = model(ids, model.init_state(2, "cuda"))
    assert logits.is_cuda and torch.backends.cudnn.is_available()
