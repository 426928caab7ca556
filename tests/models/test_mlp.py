"""The MLP builder: layer sizes, activations, torch-compatible state_dict keys."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn


def test_mlp_784_256_10_shapes_and_parameter_count() -> None:
    m = models.mlp(784, (256,), 10)
    assert [tuple(p.shape) for p in m.parameters()] == [(256, 784), (256,), (10, 256), (10,)]
    assert sum(p.numel() for p in m.parameters()) == 784 * 256 + 256 + 256 * 10 + 10
    assert m(cr.randn(5, 1, 28, 28)).shape == (5, 10)


@pytest.mark.parametrize("name", sorted(models.ACTIVATIONS))
def test_every_lecture_activation_is_selectable(name: str) -> None:
    m = models.mlp(4, (3, 3), 2, name)
    assert isinstance(m[2], models.ACTIVATIONS[name])
    assert m(cr.randn(2, 4)).shape == (2, 2)


def test_unknown_names_raise_clearly() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        models.mlp(4, (3,), 2, "swish")
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        models.get_model("vgg")
    with pytest.raises(ValueError, match="hidden sizes must be positive"):
        models.mlp(4, (0,), 2)


def test_state_dict_keys_and_outputs_match_torch(torch) -> None:
    ours = models.mlp(784, (32,), 10)
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.ReLU(),
                                 torch.nn.Linear(32, 10))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    assert isinstance(ours, nn.Sequential)
