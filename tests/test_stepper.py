"""The one-token step of generation (stylegen/models/stepper.py) against the models' forward."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from stylegen import plugins
from stylegen._generate import Decoder, stream
from stylegen.errors import StylegenError
from stylegen.models import numpy_step, stepper
from stylegen.models.stepper import Int8Product, NumpyStepper, int8_available
from stylegen.styles import Style, reduced_precision

CASES = [
    ("lstm", {"hidden": 48, "layers": 2, "embed": 16}),
    ("gru", {"hidden": 48, "layers": 2, "embed": 16}),
    ("rnn", {"hidden": 48, "layers": 3, "embed": 16}),
    ("qrnn", {"hidden": 48, "layers": 3, "embed": 16}),
]
VOCAB = 40

# How far a reduced-precision step may be from float32, as a share of the logits' spread.
# fp16 rounds each weight to 11 significant bits (relative error <= 2**-11 = 0.05%); summed
# over a few hundred products, errors of random sign grow like their square root: well under
# 1%. int8 keeps 8 bits per weight (a scale per output row, error <= 1/254 of that row's
# largest weight) and quantises each call's activations to 8 bits over their range, so each
# product carries about 1% relative error and the logits a few percent: 10% is the bound.
TOLERANCE = {"fp32": 1e-5, "fp16": 0.01, "int8": 0.10}


def built(name: str, config: dict[str, Any]) -> Any:
    torch.manual_seed(0)
    return plugins.get("model", name).build(VOCAB, **config).eval()


def stepped_logits(model: Any, ids: torch.Tensor, precision: str) -> torch.Tensor:
    step = model.token_stepper(ids.shape[0], precision)
    assert step is not None
    state = model.init_state(ids.shape[0], "cpu")
    out = []
    for t in range(ids.shape[1]):
        logits, state = step(ids[:, t], state)
        out.append(logits.clone())
    return torch.stack(out, dim=1)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize(("name", "config"), CASES, ids=[c[0] for c in CASES])
def test_step_gives_forwards_logits(name: str, config: dict[str, Any], precision: str) -> None:
    model = built(name, config)
    for batch in (1, 3):
        ids = torch.randint(0, VOCAB, (batch, 30), generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected, _ = model(ids, model.init_state(batch, "cpu"))
        got = stepped_logits(model, ids, precision)
        spread = float(expected.std())
        assert float((got - expected).abs().max()) <= TOLERANCE[precision] * max(spread, 1.0), precision


@pytest.mark.parametrize(("name", "config"), CASES, ids=[c[0] for c in CASES])
def test_step_continues_a_state_from_forward_and_returns_forwards_state(name: str, config: dict[str, Any]) -> None:
    model = built(name, config)
    ids = torch.randint(0, VOCAB, (2, 12), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        _, state = model(ids[:, :8], model.init_state(2, "cpu"))  # a prime through forward
        expected_logits, expected_state = model(ids[:, 8:], state)
        step = model.token_stepper(2, "fp32")
        for t in range(8, 12):
            logits, state = step(ids[:, t], state)
    assert torch.allclose(logits, expected_logits[:, -1], atol=1e-5)
    flat = [expected_state] if isinstance(expected_state, torch.Tensor) else list(expected_state)
    mine = [state] if isinstance(state, torch.Tensor) else list(state)
    assert len(flat) == len(mine) and all(torch.allclose(a, b, atol=1e-5) for a, b in zip(flat, mine, strict=True))


def test_no_step_while_training_or_off_the_cpu() -> None:
    model = built("lstm", CASES[0][1])
    model.train()
    assert model.token_stepper(1, "fp32") is None  # dropout would be skipped
    model.eval()
    model.to("meta")
    assert model.token_stepper(1, "fp32") is None


def style_of(model: Any, name: str, precision: str = "fp32") -> Style:
    from stylegen.records.style import StyleRecord

    tokenizer = plugins.get("tokenizer", "char").train("".join(chr(97 + i % 26) for i in range(VOCAB - 1)) + "\n ")
    meta = StyleRecord.from_json(
        {
            "format_version": 1,
            "name": "t",
            "corpus": {"name": "none"},
            "model": {"name": name, "config": model.config()},
            "tokenizer": {"name": "char", "vocab_size": tokenizer.vocab_size},
            "params": 0,
            "steps": 0,
        },
        "t",
    )
    return Style("t", Path("."), meta, tokenizer, model, "cpu", precision)


@pytest.mark.parametrize(("name", "config"), CASES, ids=[c[0] for c in CASES])
def test_same_seed_same_text_as_the_forward_path(name: str, config: dict[str, Any]) -> None:
    tokenizer_vocab = plugins.get("tokenizer", "char").train("abcdefghij \n").vocab_size
    torch.manual_seed(0)
    model = plugins.get("model", name).build(tokenizer_vocab, **config).eval()
    style = style_of(model, name)
    style.tokenizer = plugins.get("tokenizer", "char").train("abcdefghij \n")
    for batch in (1, 2):
        fast = Decoder(style, sampler="temperature", params={"temperature": 1.0}, seed=11, n=batch)
        slow = Decoder(style, sampler="temperature", params={"temperature": 1.0}, seed=11, n=batch)
        slow._stepper_built = True  # as a model without the one-token step: every token through forward
        a = ["".join(c) for c in zip(*stream(fast, "abc", 300), strict=True)]
        b = ["".join(c) for c in zip(*stream(slow, "abc", 300), strict=True)]
        assert fast.token_stepper() is not None and slow.token_stepper() is None
        assert a == b
        assert torch.equal(fast.counts, slow.counts)  # type: ignore[arg-type]


needs_int8_kernel = pytest.mark.skipif(
    not int8_available(), reason="torch's weight-only int8 kernel is not usable here"
)


@needs_int8_kernel
@pytest.mark.parametrize("width", [13, 24, 64, 97, 576])
def test_int8_product_is_within_its_rounding_at_any_width(width: int) -> None:
    # Unpadded, the kernel returned garbage at widths that are not multiples of 16 (and
    # crashed at one): Int8Product pads. Its error, per output row: each weight rounded to
    # half its row's step (max |w| / 127, the scale rounded to bfloat16, the weights rounded
    # against it), each input and the product rounded to bfloat16 (relative 2**-9, doubled
    # for slack).
    rng = np.random.default_rng(width)
    rows = 300
    w = rng.standard_normal((rows, width + 1), dtype=np.float32)  # [W | b]
    x = numpy_step.with_one(width)
    x[:width] = rng.standard_normal(width, dtype=np.float32)
    out = np.empty(rows, np.float32)
    Int8Product(w, x, out)()
    expected = w.astype(np.float64) @ x
    weights, inputs = np.abs(w[:, :width]).astype(np.float64), np.abs(x[:width])
    step = weights.max(axis=1) / 127 * (1 + 2**-7)
    bound = step / 2 * inputs.sum() + (weights @ inputs) * 2**-8 + np.abs(expected) * 2**-8
    assert np.all(np.abs(out - expected) <= bound)
    assert np.abs(out - expected).max() > 0  # it did run in int8


@needs_int8_kernel
@pytest.mark.parametrize("name", ["lstm", "qrnn"])
def test_batch1_int8_is_the_numpy_step_with_int8_weights(name: str) -> None:
    # hidden 256: the matrices over h are over Int8Product.MIN_WEIGHTS (the head is not, nor
    # the QRNN's first layer, over the 16-wide embedding alone)
    model = built(name, {"hidden": 256, "layers": 2, "embed": 16})
    step = model.token_stepper(1, "int8")  # not wrapped in `timed`: that is for float32
    assert isinstance(step, NumpyStepper)
    products = [layer["product"] for layer in step.step.layers]  # type: ignore[attr-defined]
    assert all(isinstance(p, Int8Product) for p in products[1:]) and products[0] is not None
    ids = torch.randint(0, VOCAB, (1, 40), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected, _ = model(ids, model.init_state(1, "cpu"))
    got = stepped_logits(model, ids, "int8")
    assert float((got - expected).abs().max()) <= TOLERANCE["int8"] * max(float(expected.std()), 1.0)
    assert not torch.allclose(got, expected, atol=1e-5)  # int8, not float32


def test_batch1_int8_without_the_kernel_takes_fbgemm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stepper, "_int8_works", False)
    model = built("lstm", {"hidden": 256, "layers": 1, "embed": 16})
    assert isinstance(model.token_stepper(1, "int8"), stepper.RecurrentStepper)


def test_precision_flags_are_checked() -> None:
    assert reduced_precision("cpu", False, False) == "fp32"
    assert reduced_precision("auto", True, False) == "int8"
    with pytest.raises(StylegenError, match="choose one"):
        reduced_precision("cpu", True, True)
    with pytest.raises(StylegenError, match="--fp16 is for generation on the CPU"):
        reduced_precision("cuda", False, True)
    with pytest.raises(ValueError, match="precision must be one of"):
        built("lstm", CASES[0][1]).token_stepper(1, "fp8")


def test_blas_threads_change_no_result_and_the_faster_choice_is_kept() -> None:
    """The batch-1 step times numpy's BLAS on every core and on one, and keeps the faster;
    the products are the same bits either way, so the samples do not depend on the choice."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from stylegen.models.numpy_step import BlasThreads

    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((1024, 321)).astype(np.float32), rng.standard_normal(321).astype(np.float32)
    with threadpool_limits(1, user_api="blas"):
        one = np.dot(w, x)
    with threadpool_limits(2, user_api="blas"):
        two = np.dot(w, x)
    assert np.array_equal(one, two)

    chooser = BlasThreads(2)
    for trial_seconds in (3e-4, 1e-4):  # two threads slow (a busy machine), one fast
        for _ in range(BlasThreads.TRIAL):
            trial = chooser.before()
            chooser.after(trial, trial_seconds)
    assert chooser.best == 1 and chooser.before() == -1 and chooser.threads == 1
    for _ in range(BlasThreads.PERIOD - 2 * BlasThreads.TRIAL):
        chooser.after(chooser.before(), 1e-4)
    assert chooser.position == 0 and chooser.before() == 0 and chooser.threads == 2  # a new period tries again
