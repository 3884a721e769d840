"""Is a checkpoint one that `--resume` can continue? Checked before anything is restored.

`torch.load(weights_only=True)` unpickles no code, but it returns whatever data the file holds:
an optimizer moment of the wrong shape, a 9-byte random state, `stale: "x"` or other
parameter groups load without complaint and fail later, deep inside torch, with errors that
name neither the file nor what is wrong. `stylegen styles import` (for a checkpoint that
travels in an archive) and `stylegen train --resume` (for the style's own checkpoint) both
run these checks; each problem is one line naming the file and the field.

    check_fields(payload, where)                     what needs no model: positions, config, rng
    check_fits(payload, where, model, optimizer,     the model's tensors, the optimizer's groups
               averager, state)                      and moments, the averaged weights, the
                                                     carried state, against the run's own
"""

from __future__ import annotations

import math
from typing import Any

from stylegen.errors import StylegenError

#: Whole-number fields of the payload, and number fields (inf allowed for "no best yet").
COUNTS = ("step", "epoch", "window", "best_step")
NUMBERS = ("seconds", "best_bpc", "best_loss")
#: The optimizer's per-parameter moments, shaped like their parameter.
MOMENTS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer")


def _bad(where: str, what: str) -> StylegenError:
    return StylegenError(f"{where}: {what}")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_rng(value: Any, where: str, field: str) -> None:
    """A CPU random generator's state: a uint8 tensor that torch accepts."""
    import torch

    if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.dim() != 1:
        raise _bad(where, f"{field} must be a random generator state (a uint8 vector)")
    try:
        torch.Generator().set_state(value)
    except (RuntimeError, ValueError, TypeError):
        raise _bad(where, f"{field} is not a valid random generator state ({value.numel()} bytes)") from None


def check_fields(payload: Any, where: str) -> None:
    """What can be checked without the model: the run's position and figures, its config,
    the random states, and each rank's part for a run saved by several processes."""
    import torch

    from stylegen.training.config import TrainConfig

    if not isinstance(payload, dict) or not isinstance(payload.get("model"), dict):
        raise _bad(where, "not a stylegen checkpoint")
    for key in COUNTS:
        if not _is_count(payload.get(key)):
            raise _bad(where, f"{key} must be a whole number >= 0 (got {payload.get(key)!r})")
    stale = payload.get("stale", 0)
    if not _is_count(stale):
        raise _bad(where, f"stale must be a whole number >= 0 (got {stale!r})")
    for key in NUMBERS:
        value = payload.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise _bad(where, f"{key} must be a number (got {value!r})")
    if not math.isfinite(payload["seconds"]) or payload["seconds"] < 0:
        raise _bad(where, f"seconds must be a finite number >= 0 (got {payload['seconds']!r})")
    config = payload.get("config")
    if not isinstance(config, dict):
        raise _bad(where, "config must be the run's training settings (an object)")
    try:
        TrainConfig.from_dict(config)
    except (TypeError, ValueError, StylegenError) as e:
        raise _bad(where, f"a damaged training configuration ({e})") from None
    world = payload.get("world", 1)
    if not _is_count(world) or world < 1:
        raise _bad(where, f"world must be a whole number >= 1 (got {world!r})")
    parts = [payload] if world == 1 else payload.get("ranks")
    if not isinstance(parts, list) or len(parts) != world or not all(isinstance(p, dict) for p in parts):
        raise _bad(where, f"ranks must hold the state of each of the {world} processes")
    for k, part in enumerate(parts):
        label = "" if world == 1 else f"ranks[{k}]."
        check_rng(part.get("rng"), where, f"{label}rng")
        cuda = part.get("cuda_rng")
        if cuda is not None and (not isinstance(cuda, torch.Tensor) or cuda.dtype != torch.uint8):
            raise _bad(where, f"{label}cuda_rng must be a random generator state (a uint8 vector)")


def check_fits(
    payload: dict[str, Any], where: str, model: Any, optimizer: Any, averager: Any = None, state: Any = None
) -> None:
    """The payload against the run that will continue it: the model's tensors, the optimizer's
    parameter groups, settings and moments (`optimizer` is a fresh one for `model`), the
    averaged weights (`averager`: --ema, or None), and the carried state (`state`: the
    run's initial state, whose shapes the saved one must have; None: any batch size)."""
    _check_model(payload["model"], where, model)
    _check_optimizer(payload.get("optimizer"), where, optimizer)
    ema = payload.get("ema")
    if averager is not None and ema is not None:
        _check_average(ema, where, averager)
    world = payload.get("world", 1)
    parts = [payload] if world == 1 else payload["ranks"]
    for k, part in enumerate(parts):
        label = "state" if world == 1 else f"ranks[{k}].state"
        _check_carried(part.get("state"), where, label, model, state if world == 1 else None)


def _check_model(saved: dict[str, Any], where: str, model: Any) -> None:
    import torch

    expected = model.state_dict()
    if set(saved) != set(expected):
        wrong = sorted(set(saved) ^ set(expected))[0]
        raise _bad(where, f"model does not fit the style's model (tensor {wrong!r} is missing or unexpected)")
    for key, tensor in expected.items():
        value = saved[key]
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(tensor.shape):
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise _bad(where, f"model.{key} is {shape}, the model has {tuple(tensor.shape)}")


def _same_kind(fresh: Any, saved: Any) -> bool:
    """A saved optimizer setting of the kind the optimizer itself holds there."""
    import torch

    if isinstance(fresh, torch.Tensor):
        return isinstance(saved, torch.Tensor) and saved.numel() == fresh.numel()
    if isinstance(fresh, bool) or fresh is None:
        return saved is None or isinstance(saved, bool)
    if isinstance(fresh, int | float):  # lr, eps, weight decay, each beta: finite and >= 0 (a beta < 1)
        return isinstance(saved, int | float) and not isinstance(saved, bool) and 0 <= saved < math.inf
    if isinstance(fresh, tuple | list):
        return (
            isinstance(saved, tuple | list)
            and len(saved) == len(fresh)
            and all(_same_kind(a, b) for a, b in zip(fresh, saved, strict=True))
        )
    return type(saved) is type(fresh)


def _check_optimizer(saved: Any, where: str, optimizer: Any) -> None:
    import torch

    fresh = optimizer.state_dict()
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
        raise _bad(where, "optimizer must be an optimizer state (with its state and param_groups)")
    groups = saved.get("param_groups")
    if not isinstance(groups, list) or len(groups) != len(fresh["param_groups"]):
        count = len(groups) if isinstance(groups, list) else type(groups).__name__
        raise _bad(
            where, f"optimizer.param_groups: {count} groups, the run's optimizer has {len(fresh['param_groups'])}"
        )
    shapes: dict[int, tuple[int, ...]] = {}
    for g, (mine, theirs, live) in enumerate(zip(fresh["param_groups"], groups, optimizer.param_groups, strict=True)):
        if not isinstance(theirs, dict) or theirs.get("params") != mine["params"]:
            raise _bad(where, f"optimizer.param_groups[{g}] holds other parameters than the run's optimizer")
        for key, value in mine.items():
            betas = key == "betas" and not (  # each in [0, 1): Adam divides by 1 - beta**step
                isinstance(theirs.get(key), tuple | list)
                and all(isinstance(b, int | float) and not isinstance(b, bool) and 0 <= b < 1 for b in theirs[key])
            )
            if key != "params" and (betas or not _same_kind(value, theirs.get(key))):
                raise _bad(
                    where, f"optimizer.param_groups[{g}].{key} is {theirs.get(key)!r}, not a setting of its kind"
                )
        shapes.update({i: tuple(p.shape) for i, p in zip(mine["params"], live["params"], strict=True)})
    for index, entry in saved["state"].items():
        if index not in shapes or not isinstance(entry, dict):
            raise _bad(where, f"optimizer.state has an entry {index!r} for no parameter of the model")
        for key, value in entry.items():
            if key in MOMENTS:
                ok = (
                    isinstance(value, torch.Tensor)
                    and value.is_floating_point()
                    and tuple(value.shape) == shapes[index]
                )
                if not ok:
                    shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                    raise _bad(where, f"optimizer.state[{index}].{key} is {shape}, its parameter is {shapes[index]}")
            elif key == "step":
                number = value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value
                if isinstance(number, bool) or not isinstance(number, int | float) or not 0 <= number < math.inf:
                    raise _bad(where, f"optimizer.state[{index}].step must be a finite number >= 0")


def _check_average(saved: Any, where: str, averager: Any) -> None:
    import torch

    mine = averager.state_dict()
    average = saved.get("average") if isinstance(saved, dict) else None
    if (
        not isinstance(average, list)
        or len(average) != len(mine["average"])
        or not all(
            isinstance(a, torch.Tensor) and a.shape == b.shape for a, b in zip(average, mine["average"], strict=True)
        )
        or not _is_count(saved.get("updates"))
    ):
        raise _bad(where, "ema does not fit the model (the averaged weights and their count of updates)")


def _layout(state: Any, leaves: list[Any]) -> Any:
    """The nesting of `state` (tuples, lists, dicts), its leaves appended to `leaves`."""
    if isinstance(state, tuple | list):
        return (type(state).__name__, tuple(_layout(s, leaves) for s in state))
    if isinstance(state, dict):
        return ("dict", tuple((k, _layout(v, leaves)) for k, v in sorted(state.items(), key=lambda kv: repr(kv[0]))))
    leaves.append(state)
    return "leaf"


def _check_carried(saved: Any, where: str, field: str, model: Any, like: Any) -> None:
    """The carried state: the run's own layout and shapes (`like`), or, without it, the
    model's layout with any batch size (the dimensions where 1 and 2 rows differ)."""
    import torch

    got: list[Any] = []
    want: list[Any] = []
    one: list[Any] = []
    two: list[Any] = []
    layout = _layout(saved, got)
    same = layout == _layout(like if like is not None else model.init_state(1, "cpu"), want)
    if not same or not all(isinstance(t, torch.Tensor) and t.is_floating_point() for t in got):
        raise _bad(where, f"{field} is not a recurrent state of this model (its layout differs)")
    if like is not None:
        for t, w in zip(got, want, strict=True):
            if tuple(t.shape) != tuple(w.shape):
                raise _bad(where, f"{field} has a tensor of shape {tuple(t.shape)}, the run carries {tuple(w.shape)}")
        return
    _layout(model.init_state(1, "cpu"), one)
    _layout(model.init_state(2, "cpu"), two)
    batch = None
    for t, a, b in zip(got, one, two, strict=True):
        if t.dim() != a.dim():
            raise _bad(where, f"{field} has a tensor of shape {tuple(t.shape)}, the model's has {a.dim()} dimensions")
        for d, (n, m, k) in enumerate(zip(t.shape, a.shape, b.shape, strict=True)):
            if m != k:  # the batch dimension: one size for every tensor
                batch = n if batch is None else batch
                if n != batch or n < 1:
                    raise _bad(where, f"{field}: its tensors disagree on the number of streams")
            elif n != m:
                raise _bad(where, f"{field} has a tensor of shape {tuple(t.shape)}, dimension {d} should be {m}")
