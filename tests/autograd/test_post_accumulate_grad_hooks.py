"""Tensor.register_post_accumulate_grad_hook, as torch's: after each backward pass has added
into a leaf's .grad (DistributedDataParallel starts its allreduces from it)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import chainrule as cr


def test_hook_sees_the_accumulated_grad_each_backward():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(
        lambda t: seen.append(t.grad.detach().numpy().copy()))
    (w * w).sum().backward()
    (3 * w).sum().backward()
    np.testing.assert_allclose(seen, [[2.0, 4.0], [5.0, 7.0]])   # the sum so far, as torch
    handle.remove()
    w.sum().backward()
    assert len(seen) == 2


def test_hook_runs_once_per_pass_after_fan_out_and_not_for_autograd_grad():
    w = cr.tensor([1.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(float(t.grad.item())))
    (w * 2 + w * 3).sum().backward()
    assert calls == [5.0]
    cr.autograd.grad((w * w).sum(), w)      # nothing is accumulated: no hook
    assert calls == [5.0]


@pytest.mark.torch
def test_matches_torch_and_refuses_non_leaves(torch):
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    tw = torch.tensor([1.0, -2.0], requires_grad=True)
    ours, theirs = [], []
    w.register_post_accumulate_grad_hook(lambda t: ours.append(t.grad.detach().numpy().copy()))
    tw.register_post_accumulate_grad_hook(lambda t: theirs.append(t.grad.numpy().copy()))
    for _ in range(2):
        (w * w * w).sum().backward()
        (tw * tw * tw).sum().backward()
    np.testing.assert_allclose(ours, theirs)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)


def test_a_dead_leafs_hooks_do_not_reach_a_new_tensor():
    from chainrule.autograd import engine

    w = cr.tensor([1.0], requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda t: None)
    key = id(w)
    del w
    gc.collect()
    assert key not in engine._POST_ACCUMULATE
