"""The style store: a style is a self-contained folder under `$STYLEGEN_HOME/styles/<name>/`.

style.json          tokenizer + model name/config, corpus hashes, metrics, versions
tokenizer/          the tokenizer's own files
model.safetensors   best-by-validation weights (no pickle anywhere a user may share)
metrics.jsonl       one line per logged step and per validation
checkpoint/         resume state (torch.load with weights_only=True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylegen import home, plugins
from stylegen.errors import NotFoundError, StylegenError, one_line
from stylegen.home import STYLE_JSON as STYLE_JSON
from stylegen.home import shipped_dir as shipped_dir  # tests swap it here: this module reads it from here
from stylegen.home import styles_dir as styles_dir
from stylegen.home import user_style_path as user_style_path
from stylegen.protocols import StepsTokens
from stylegen.records.style import FORMAT_VERSION, StyleRecord

if TYPE_CHECKING:
    from collections.abc import Iterator

    import torch

    from stylegen._chat import ChatSession

WEIGHTS = "model.safetensors"
TOKENIZER_DIR = "tokenizer"


def style_path(name: str) -> Path:
    """The user's style `name` if there is one, else the shipped style of that name, else
    where the user's would be. A style trained under a shipped name takes its place."""
    path = user_style_path(name)
    if not (path / STYLE_JSON).exists() and (shipped_dir() / name / STYLE_JSON).is_file():
        return shipped_dir() / name
    return path


def is_shipped(path: Path) -> bool:
    return path.parent == shipped_dir()


def read_meta(name: str) -> StyleRecord:
    """The style's style.json (`shipped` set for a shipped style); a one-line error if the
    style is unknown or the file damaged."""
    path = style_path(name)
    if not (path / STYLE_JSON).is_file():
        raise NotFoundError(f"no style named {name!r} (see `stylegen styles`)")
    return dataclasses.replace(read_meta_at(path), shipped=is_shipped(path))


def read_meta_at(path: Path) -> StyleRecord:
    """The style.json in folder `path`, checked by `StyleRecord.from_json`: a damaged or
    altered file is a one-line error naming it and the first bad field."""
    return StyleRecord.from_json(home.read_json(path / STYLE_JSON), path / STYLE_JSON)


def list_styles() -> list[StyleRecord]:
    """Every style, the user's and the shipped ones (a user's style hides a shipped one of
    the same name), sorted by name."""
    names: set[str] = set()
    for root in (styles_dir(), shipped_dir()):
        if root.is_dir():
            names.update(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / STYLE_JSON).is_file())
    out = []
    for name in sorted(names):
        try:
            out.append(read_meta(name))
        except StylegenError as e:
            plugins.warn(str(e))
    return out


def remove_style(name: str) -> Path:
    read_meta(name)
    path = style_path(name)
    if is_shipped(path):
        raise StylegenError(f"style {name!r} ships with stylegen and cannot be removed")
    home.remove_tree(path, f"style {name!r}")
    return path


def save_weights(style_dir: Path, model: torch.nn.Module) -> None:
    """Write the model's weights as safetensors, atomically."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    with home.atomic_path(style_dir / WEIGHTS) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt", "stylegen": str(FORMAT_VERSION)})


@dataclass
class Style:
    """A loaded style: its description, tokenizer and model (in eval mode)."""

    name: str
    path: Path
    meta: StyleRecord
    tokenizer: Any
    model: Any = field(repr=False)
    device: str = "cpu"
    precision: str = "fp32"  # the weights' format for generation steps: fp32, fp16 or int8

    def generate(self, prime: str = "", **options: Any) -> Iterator[str]:
        """Stream text in this style; see `stylegen.generate` for the options."""
        from stylegen._generate import generate

        return generate(self, prime, **options)

    def chat(self, **options: Any) -> ChatSession:
        """A `stylegen.ChatSession` with this style (options: user, to, sampler, params, seed...)."""
        from stylegen._chat import ChatSession

        return ChatSession(self, **options)


def build_model(meta: StyleRecord, vocab_size: int) -> Any:
    factory = plugins.get("model", meta.model.name)
    return factory.build(vocab_size, **meta.model.config)


def resolve_device(requested: str) -> str:
    """`auto` -> cuda when there is a CUDA device, else cpu; `cuda` without one is an error."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise StylegenError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return requested


def quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantisation of the model's LSTM, GRU and Linear layers (CPU only).

    Generation at batch 1 reads every recurrent weight at every step, so it is bound by
    memory traffic: int8 weights read a quarter of the bytes. Activations stay float.
    """
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its future move
        return torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.LSTM, torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8
        )


def _unbuildable(path: Path, e: Exception) -> StylegenError:
    """The one-line error for a model or config the plugins reject (style.json was changed)."""
    message = one_line(e)[:200]
    ours = isinstance(e, StylegenError)  # a missing plugin keeps its kind (NotFoundError...)
    why = message if ours else f"{type(e).__name__}: {message}"
    kind = type(e) if isinstance(e, StylegenError) else StylegenError
    return kind(f"{path / STYLE_JSON}: the model cannot be built from its config ({why})")


def _NoInit() -> Any:
    """A torch function mode under which weight initialisation does nothing: `torch.nn.init`'s
    functions and the in-place random fills return their tensor as it is (for a model built
    on the meta device only for its shapes)."""
    from torch.overrides import TorchFunctionMode

    class NoInit(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            if getattr(func, "__module__", "") == "torch.nn.init" or getattr(func, "__name__", "") in _RANDOM_FILLS:
                return args[0] if args else (kwargs or {}).get("tensor")
            return func(*args, **(kwargs or {}))

    return NoInit()


_RANDOM_FILLS = frozenset(
    {"normal_", "uniform_", "bernoulli_", "exponential_", "geometric_", "log_normal_", "cauchy_", "random_"}
)


def check_shapes(path: Path, meta: StyleRecord, vocab_size: int) -> None:
    """Before a real byte of model is allocated: build the model style.json describes on the
    meta device (shapes only), refuse it over `models.MAX_PARAMS` parameters, and check its
    tensors' shapes against model.safetensors' header. A model plugin that cannot be built on
    the meta device is left to the full load's checks."""
    import torch
    from safetensors import SafetensorError, safe_open

    from stylegen.models import MAX_PARAMS

    weights = path / WEIGHTS
    try:
        with safe_open(str(weights), framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise StylegenError(f"{weights}: damaged weights ({one_line(e)})") from None
    try:
        # A hostile config (hidden=10**9) allocates nothing here; the weights' random
        # initialisation is skipped (on the meta device it would import torch's compiler
        # stack, 1.5 s of a 2 s start, to compute nothing).
        with torch.device("meta"), _NoInit():
            model = build_model(meta, vocab_size)
    except StylegenError as e:  # the config refused (a size limit, a bad option): the same on any device
        raise _unbuildable(path, e) from None
    except Exception:
        return  # a plugin that cannot build on the meta device: the full load checks
    params = sum(p.numel() for p in model.parameters())
    if params > MAX_PARAMS:
        raise StylegenError(
            f"{path / STYLE_JSON}: model.config describes {params:,} parameters, "
            f"more than the {MAX_PARAMS:,} a model may have"
        )
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if expected != shapes:
        wrong = sorted(set(expected) ^ set(shapes)) or sorted(k for k in expected if expected[k] != shapes[k])
        raise StylegenError(
            f"{weights}: the tensors do not fit the model {STYLE_JSON} describes "
            f"(first difference: {wrong[0]!r}: {shapes.get(wrong[0])} in the file, {expected.get(wrong[0])} expected)"
        )


def load_style(name: str, device: str = "cpu", int8: bool = False, fp16: bool = False) -> Style:
    """Load a style's tokenizer and best weights; errors name the file and what is wrong.

    `int8` and `fp16` step generation with int8 or float16 weights on the CPU, faster and
    slightly different text (see `reduced_precision`).
    """
    meta = read_meta(name)
    return load_style_at(style_path(name), name, device, int8, meta, fp16=fp16)


def reduced_precision(device: str, int8: bool, fp16: bool) -> str:
    """The precision `--int8` / `--fp16` ask for ("fp32" without either), or a one-line error."""
    if int8 and fp16:
        raise StylegenError("--int8 and --fp16 are two weight formats: choose one")
    if not (int8 or fp16):
        return "fp32"
    flag = "--int8" if int8 else "--fp16"
    if not device.startswith(("cpu", "auto")):
        raise StylegenError(f"{flag} is for generation on the CPU (use --device cpu)")
    import torch

    if fp16 and "fbgemm" not in torch.backends.quantized.supported_engines:
        raise StylegenError("--fp16 needs PyTorch's fbgemm kernels (x86 CPUs); try --int8")
    return "int8" if int8 else "fp16"


def load_style_at(
    path: Path,
    name: str,
    device: str = "cpu",
    int8: bool = False,
    meta: StyleRecord | None = None,
    *,
    fp16: bool = False,
) -> Style:
    """Load the style in folder `path` (see `load_style`); `stylegen styles import` loads its
    staged copy this way before moving it into place."""
    precision = reduced_precision(device, int8, fp16)
    device = "cpu" if precision != "fp32" else resolve_device(device)
    if meta is None:
        meta = read_meta_at(path)
    weights = path / WEIGHTS
    if not weights.is_file():
        raise StylegenError(f"{weights}: missing (the style has no validated weights yet)")
    tokenizer = plugins.get("tokenizer", meta.tokenizer.name).load(path / TOKENIZER_DIR)
    if tokenizer.vocab_size != meta.tokenizer.vocab_size:
        raise StylegenError(
            f"{path / TOKENIZER_DIR}: {tokenizer.vocab_size} tokens, but {STYLE_JSON} says "
            f"{meta.tokenizer.vocab_size} (the tokenizer files were changed)"
        )
    try:  # two plugins with the model's name: their clash, not a fault of style.json
        plugins.registry().entry("model", meta.model.name)
    except NotFoundError:
        pass  # said below, naming style.json
    check_shapes(path, meta, tokenizer.vocab_size)  # nothing real is allocated for a config that does not fit
    try:
        model = build_model(meta, tokenizer.vocab_size)
    except Exception as e:  # a model or config the plugins reject: style.json was changed
        raise _unbuildable(path, e) from None
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise StylegenError(f"{weights}: damaged weights ({e})") from None
    expected = model.state_dict()
    if set(tensors) != set(expected):
        missing = sorted(set(expected) - set(tensors))[:3]
        extra = sorted(set(tensors) - set(expected))[:3]
        raise StylegenError(f"{weights}: tensors do not match the model (missing {missing}, unexpected {extra})")
    for key, value in tensors.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise StylegenError(
                f"{weights}: tensor {key} has shape {tuple(value.shape)}, the model described by "
                f"{STYLE_JSON} expects {tuple(expected[key].shape)}"
            )
    model.load_state_dict(tensors)
    model.to(device).eval()
    if precision != "fp32" and not isinstance(model, StepsTokens):
        if precision == "fp16":
            raise StylegenError(f"model {meta.model.name!r} has no one-token step for --fp16 (try --int8)")
        model = quantize_int8(model)  # a model without its own step: torch's dynamic quantisation
    return Style(name, path, meta, tokenizer, model, device, precision)
