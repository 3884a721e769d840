"""The optimizers `stylegen train --optimizer` offers: AdamW, and Muon for the hidden matrices.

adamw  AdamW (Loshchilov & Hutter 2019), betas (0.9, 0.99); weight decay on matrices only.
muon   Muon (Jordan et al. 2024, "Muon: an optimizer for hidden layers in neural networks";
       the scaling of Liu et al. 2025, "Muon is scalable for LLM training"): each hidden
       matrix takes its Nesterov momentum, orthogonalised by a Newton-Schulz iteration, so
       every direction of the update moves by about as much, scaled by 0.2 sqrt(max(rows,
       cols)) so that its RMS matches AdamW's and the same learning rate and schedule serve
       both. The embedding, the output head and every vector (biases, gains) keep AdamW:
       orthogonalising a lookup table or the logits' rows is not what the method is for.

Both are one `torch.optim.Optimizer`, so the schedule sets `group["lr"]` on every group, and
the checkpoint saves and restores one state dict. The moments are `exp_avg`, `exp_avg_sq`
(AdamW) and `momentum_buffer` (Muon), each shaped like its parameter.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from stylegen.errors import StylegenError
from stylegen.training.config import OPTIMIZERS

BETAS = (0.9, 0.99)
#: Muon's momentum, and the quintic Newton-Schulz coefficients and step count of its
#: reference description (they push small singular values up fast, to about 0.7-1.2, rather
#: than converge exactly to 1, which the method does not need).
MOMENTUM = 0.95
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5


def hidden_matrices(model: Any) -> dict[int, int]:
    """{id: gate blocks} of the model's hidden matrices: 2-D parameters that are not an
    embedding's table and not the output head's (the model's `head`, or where it has none, a
    Linear whose outputs are the vocabulary).

    A matrix whose rows stack several gates (an LSTM's four, a GRU's or a QRNN's three) is
    orthogonalised gate by gate, since each gate is its own map: torch's recurrent layers say
    so by their hidden size, any other module by a `gate_blocks` attribute, for the matrices it
    holds and its children hold (QRNNLayer's; a plugin model can set one on its own modules)."""
    head = getattr(model, "head", None)
    vocab = getattr(model, "vocab_size", None)
    skip: set[int] = set()
    blocks: dict[int, int] = {}
    for module in model.modules():
        own = list(module.parameters(recurse=False))
        is_head = (
            module is head
            if isinstance(head, torch.nn.Module)
            else (isinstance(module, torch.nn.Linear) and vocab is not None and module.out_features == vocab)
        )
        if isinstance(module, torch.nn.Embedding) or is_head:
            skip.update(id(p) for p in own)
        elif isinstance(module, torch.nn.RNNBase):
            blocks.update({id(p): p.shape[0] // module.hidden_size for p in own if p.dim() == 2})
        elif isinstance(getattr(module, "gate_blocks", None), int):  # its matrices, its children's too
            blocks.update({id(p): module.gate_blocks for p in module.parameters() if p.dim() == 2})
    found = {}
    for p in model.parameters():
        if p.dim() == 2 and id(p) not in skip:
            k = blocks.get(id(p), 1)
            found[id(p)] = k if k >= 1 and p.shape[0] % k == 0 else 1
    return found


def make(model: Any, name: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """The optimizer `name` over the model's parameters. Weight decay on matrices only."""
    if name not in OPTIMIZERS:
        raise StylegenError(f"optimizer must be one of {', '.join(OPTIMIZERS)} (got {name!r})")
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    if name == "adamw":
        return torch.optim.AdamW(
            [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=lr,
            betas=BETAS,
        )
    hidden = hidden_matrices(model)
    muon = [
        {"params": [p for p in decay if hidden.get(id(p)) == k], "weight_decay": weight_decay, "blocks": k}
        for k in sorted(set(hidden.values()))
    ]
    groups = [
        *({**group, "muon": True} for group in muon),
        {"params": [p for p in decay if id(p) not in hidden], "weight_decay": weight_decay, "muon": False},
        {"params": no_decay, "weight_decay": 0.0, "muon": False},
    ]
    return MuonAdamW([g for g in groups if g["params"]], lr=lr)


def orthogonalise(g: torch.Tensor, blocks: int = 1, steps: int = NS_STEPS) -> torch.Tensor:
    """An approximately orthogonal matrix with g's singular vectors, for each of `blocks`
    equal bands of g's rows: X <- aX + b(XX^T)X + c(XX^T)^2 X from X = g/|g|_F, on the wide
    orientation (so XX^T is the small Gram matrix), in bfloat16 where the CPU or GPU multiplies
    it fast (on the 2-core Zen 4 CPU of benchmarks/RESULTS.md a QRNN 3x384 layer's three
    384x768 gates take 17 ms in bf16, 73 in float32). Returns g's dtype and shape."""
    a, b, c = NS_COEFFICIENTS
    x = g.to(torch.bfloat16).reshape(blocks, g.size(0) // blocks, g.size(1))  # (k, m, n)
    tall = x.size(1) > x.size(2)
    if tall:
        x = x.mT
    x = x / torch.linalg.vector_norm(x, dim=(1, 2), keepdim=True).clamp(min=1e-7)
    for _ in range(steps):
        gram = x @ x.mT
        poly = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)  # b G + c G^2
        x = torch.baddbmm(x, poly, x, beta=a)  # a X + (b G + c G^2) X
    if tall:
        x = x.mT
    return x.reshape(g.shape).to(g.dtype)


class MuonAdamW(torch.optim.Optimizer):
    """Muon on the groups marked `muon`, AdamW on the others (see the module's docstring)."""

    def __init__(self, groups: list[dict[str, Any]], lr: float, eps: float = 1e-8) -> None:
        defaults = {"lr": lr, "betas": BETAS, "momentum": MOMENTUM, "eps": eps, "muon": False, "blocks": 1}
        super().__init__(groups, defaults)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if wd:
                    p.mul_(1.0 - lr * wd)
                if group["muon"]:
                    self._muon(p, state, lr, group["momentum"], group["blocks"])
                else:
                    self._adamw(p, state, lr, group["betas"], group["eps"])
        return loss

    @staticmethod
    def _muon(p: torch.Tensor, state: dict[str, Any], lr: float, momentum: float, blocks: int) -> None:
        grad = p.grad
        assert grad is not None
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(p)
        buf = state["momentum_buffer"]
        buf.lerp_(grad, 1.0 - momentum)
        update = grad.lerp(buf, momentum)  # Nesterov: the gradient pushed on by the momentum
        scale = 0.2 * math.sqrt(max(p.shape[0] // blocks, p.shape[1]))
        p.add_(orthogonalise(update, blocks), alpha=-lr * scale)

    @staticmethod
    def _adamw(p: torch.Tensor, state: dict[str, Any], lr: float, betas: tuple[float, float], eps: float) -> None:
        grad = p.grad
        assert grad is not None
        if "exp_avg" not in state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        b1, b2 = betas
        state["step"] += 1
        step = float(state["step"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1.0 - b1)
        v.mul_(b2).addcmul_(grad, grad, value=1.0 - b2)
        denom = (v / (1.0 - b2**step)).sqrt_().add_(eps)
        p.addcdiv_(m, denom, value=-lr / (1.0 - b1**step))
