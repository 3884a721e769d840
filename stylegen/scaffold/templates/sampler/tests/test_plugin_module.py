from __future__ import annotations

import torch
from stylegen.testing import Registry, check_sampler


def test_follows_the_sampler_protocol(registry: Registry) -> None:
    check_sampler(registry.get("sampler", "PLUGIN_NAME"))


def test_top_k_of_one_is_the_likeliest_token(registry: Registry) -> None:
    sampler = registry.get("sampler", "PLUGIN_NAME")
    logits = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, float("-inf")]])
    ids = sampler(logits, {"temperature": 1.0, "top_k": 1}, torch.Generator().manual_seed(0))
    assert ids.tolist() == [1, 0]


def test_never_draws_a_banned_id(registry: Registry) -> None:
    sampler = registry.get("sampler", "PLUGIN_NAME")
    logits = torch.zeros(64, 5)
    logits[:, 0] = float("-inf")  # the unknown id
    ids = sampler(logits, {"temperature": 2.0, "top_k": 0}, torch.Generator().manual_seed(0))
    assert 0 not in ids.tolist()
