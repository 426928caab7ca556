"""Errors are catchable as the class torch raises for the same bad call (RuntimeError for shapes,
dtypes and bad argument values, IndexError for a dim out of range, ValueError or TypeError where
torch uses those), and chainrule's message still names the op and the values involved.

Each case is one call written against the API both libraries share; it runs on torch (which
must raise) and on chainrule (which must raise an instance of torch's class, with a message
matching the pattern). Where torch raises NotImplementedError because a kernel is missing for a
dtype, its base RuntimeError is what a script can rely on, and what is required here.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def F(m):  # noqa: N802  (torch.nn.functional is imported as F)
    return m.nn.functional


CASES = [
    # ------------------------------------------------------------- shapes: RuntimeError
    ("add broadcast", lambda m: m.ones(2, 3) + m.ones(4), r"^add: .*\(2, 3\), \(4,\)"),
    ("mul broadcast", lambda m: m.ones(2, 3) * m.ones(2), r"^mul: "),
    ("eq broadcast", lambda m: m.ones(2, 3) == m.ones(2), r"^eq: "),
    ("maximum broadcast", lambda m: m.maximum(m.ones(2, 3), m.ones(4)), r"^maximum: "),
    ("where broadcast", lambda m: m.where(m.tensor([True, False]), m.ones(3), m.zeros(2)),
     r"^where: condition, a and b of shapes \(2,\), \(3,\) and \(2,\)"),
    ("matmul inner", lambda m: m.ones(2, 3) @ m.ones(4, 2), r"^matmul: shapes \(2, 3\) and "
                                                           r"\(4, 2\) are not aligned"),
    ("matmul 0-d", lambda m: m.matmul(m.ones(()), m.ones(3)), r"^matmul: both operands"),
    ("mm inner", lambda m: m.mm(m.ones(2, 3), m.ones(4, 2)), r"^mm: shapes \(2, 3\) and "
                                                            r"\(4, 2\) cannot be multiplied"),
    ("mm vector", lambda m: m.mm(m.ones(3), m.ones(3, 2)), r"^mm: expects a matrix \(2-D\)"),
    ("mm dtypes", lambda m: m.mm(m.ones(2, 3, dtype=m.float64), m.ones(3, 2)),
     r"^mm: both operands must have the same dtype, got float64 and float32"),
    ("bmm batch", lambda m: m.bmm(m.ones(2, 2, 3), m.ones(3, 3, 2)), r"^bmm: shapes "),
    ("bmm rank", lambda m: m.bmm(m.ones(2, 3), m.ones(2, 3, 2)), r"^bmm: expects a batch"),
    ("mv", lambda m: m.mv(m.ones(2, 3), m.ones(2)), r"^mv: matrix of shape \(2, 3\)"),
    ("dot lengths", lambda m: m.dot(m.ones(3), m.ones(2)), r"^dot: vectors of shapes"),
    ("dot rank", lambda m: m.dot(m.ones(3, 1), m.ones(3)), r"^dot: expects a vector"),
    ("outer rank", lambda m: m.outer(m.ones(2, 3), m.ones(2)), r"^outer: expects two vectors"),
    ("t of 3-d", lambda m: m.ones(2, 3, 4).t(), r"^t: expects a tensor with at most 2 dims"),
    ("linear", lambda m: F(m).linear(m.ones(2, 3), m.ones(4, 2)), r"^linear: input of shape"),
    ("linear bias", lambda m: F(m).linear(m.ones(2, 3), m.ones(4, 3), m.ones(3)),
     r"^linear: bias of shape \(3,\)"),
    ("reshape", lambda m: m.ones(2, 3).reshape(4, 2), r"^reshape: cannot reshape"),
    ("view two -1", lambda m: m.ones(2, 3).view(-1, -1), r"^reshape: "),
    ("permute length", lambda m: m.ones(2, 3, 4).permute(0, 1), r"^permute: got 2 dims"),
    ("flatten order", lambda m: m.ones(2, 3).flatten(1, 0), r"^flatten: start_dim 1 comes"),
    ("expand", lambda m: m.ones(2, 3).expand(3, 3), r"^broadcast_to: cannot broadcast"),
    ("expand fewer", lambda m: m.ones(2, 3).expand(3), r"^broadcast_to: "),
    ("sum_to_size", lambda m: m.ones(2, 3).sum_to_size(4), r"^sum_to_size: size \(4,\)"),
    ("cat shapes", lambda m: m.cat([m.ones(2, 3), m.ones(3, 2)]), r"^cat: shapes"),
    ("stack shapes", lambda m: m.stack([m.ones(2, 3), m.ones(3, 2)]), r"^stack: all tensors"),
    ("split sections", lambda m: m.ones(2, 3).split([1, 1], dim=1), r"^split: sections"),
    ("repeat fewer", lambda m: m.ones(2, 3).repeat(2), r"^repeat: 1 repeat sizes \(2,\)"),
    ("repeat negative", lambda m: m.ones(2, 3).repeat(-1, 1), r"^repeat: repeat sizes"),
    ("flip repeated", lambda m: m.ones(3).flip((0, 0)), r"^flip: dims \(0, 0\) contain"),
    ("pad odd", lambda m: F(m).pad(m.ones(2, 3), (1,)), r"^pad: pad \(1,\) must have an even"),
    ("pad long", lambda m: F(m).pad(m.ones(2, 3), (1,) * 6), r"^pad: pad "),
    ("pad crops too much", lambda m: F(m).pad(m.ones(2, 3), (-2, -2)),
     r"^pad: negative padding \(-2, -2\) crops more than the 3 entries of dim 1"),
    ("gather ndim", lambda m: m.gather(m.ones(3, 2), 1, m.tensor([1])),
     r"^gather: index of shape \(1,\) must have as many dims"),
    ("gather larger", lambda m: m.gather(m.ones(3, 2), 1, m.tensor([[1, 1, 1]] * 4)),
     r"^gather: index of shape \(4, 3\) must be no larger than the input"),
    ("gather bounds", lambda m: m.gather(m.ones(3), 0, m.tensor([3])),
     r"^gather: index 3 is out of bounds for dim 0 with size 3"),
    ("gather negative", lambda m: m.gather(m.ones(3), 0, m.tensor([-1])),
     r"^gather: index -1 is out of bounds"),
    ("scatter bounds", lambda m: m.ones(2, 3).scatter(1, m.tensor([[3]]), 1.0),
     r"^scatter: index 3 is out of bounds"),
    ("scatter src small", lambda m: m.zeros(2, 3).scatter(1, m.tensor([[0], [2]]), m.ones(1, 1)),
     r"^scatter: index of shape \(2, 1\) must be no larger than src"),
    ("scatter_add bounds", lambda m: m.zeros(3).scatter_add(0, m.tensor([5]), m.ones(1)),
     r"^scatter_add: index 5"),
    ("topk k", lambda m: m.topk(m.ones(5), 6), r"^topk: k=6 is out of range for dim 0 of size 5"),
    ("topk k negative", lambda m: m.ones(5).topk(-1), r"^topk: k=-1"),
    ("masked_fill value", lambda m: m.ones(2, 3).masked_fill(m.tensor([True, False, True]),
                                                             m.tensor([1.0, 2.0, 3.0])),
     r"^masked_fill: value must be a number or a 0-d tensor"),
    ("masked_fill broadcast", lambda m: m.ones(2, 3).masked_fill(m.tensor([True, False]), 0.0),
     r"^masked_fill: mask of shape \(2,\)"),
    ("isclose broadcast", lambda m: m.isclose(m.ones(2), m.ones(3)), r"^isclose: shapes"),
    ("norm fro dims", lambda m: m.norm(m.ones(2, 3, 4), p="fro", dim=(0, 1, 2)),
     r"^norm: p='fro' takes at most 2 dims"),
    ("norm repeated dims", lambda m: m.ones(2, 3).norm(p=2, dim=(0, 0)), r"^norm: .*repeated"),
    ("norm order", lambda m: m.ones(2, 3).norm(p="abc"), r"^norm: p='abc' is not supported"),
    ("conv2d channels", lambda m: F(m).conv2d(m.ones(1, 3, 5, 5), m.ones(4, 2, 3, 3)),
     r"^conv2d: weight \(4, 2, 3, 3\) expects 2 input channels"),
    ("conv2d small", lambda m: F(m).conv2d(m.ones(1, 3, 2, 2), m.ones(4, 3, 3, 3)),
     r"^conv2d: input \(1, 3, 2, 2\)"),
    ("unfold small", lambda m: F(m).unfold(m.ones(1, 1, 2, 2), 3), r"^unfold: input"),
    ("max_pool2d small", lambda m: F(m).max_pool2d(m.ones(1, 1, 2, 2), 3),
     r"^max_pool2d: input \(1, 1, 2, 2\) is too small"),
    ("max_pool2d padding", lambda m: F(m).max_pool2d(m.ones(1, 1, 6, 6), 2, padding=2),
     r"^max_pool2d: padding \(2, 2\) should be at most half"),
    ("avg_pool2d padding", lambda m: F(m).avg_pool2d(m.ones(1, 1, 6, 6), 2, padding=2),
     r"^avg_pool2d: padding"),
    ("max_pool2d 2-d input", lambda m: F(m).max_pool2d(m.ones(5, 5), 2), r"^max_pool2d: expected"),
    ("max_unpool2d index", lambda m: F(m).max_unpool2d(*F(m).max_pool2d(
        m.arange(49.0).reshape(1, 1, 7, 7), 2, return_indices=True), 2),
     r"^max_unpool2d: index 40 is out of range for an output of size 6x6"),
    ("max_unpool2d shapes", lambda m: F(m).max_unpool2d(m.ones(1, 1, 2, 2),
                                                        m.zeros(1, 2, 2, dtype=m.int64), 2),
     r"^max_unpool2d: indices must be a tensor of the input's shape"),
    ("max of empty", lambda m: m.ones(0).max(), r"^max: cannot reduce an empty tensor"),
    ("amax of empty", lambda m: m.ones(0).amax(), r"^amax: "),
    # ------------------------------------------------------------- dims out of range: IndexError
    ("sum dim", lambda m: m.ones(2, 3).sum(2),
     r"^sum: dim 2 is out of range for a tensor with 2 dimension\(s\) \(expected to be in "
     r"range of \[-2, 1\]\)"),
    ("sum negative dim", lambda m: m.ones(2, 3).sum(-3), r"^sum: dim -3 is out of range"),
    ("mean dims", lambda m: m.ones(2, 3).mean(dim=(0, 5)), r"^mean: dim 5"),
    ("softmax dim", lambda m: m.ones(2, 3).softmax(2), r"^softmax: dim 2"),
    ("log_softmax dim", lambda m: F(m).log_softmax(m.ones(2, 3), dim=-3), r"^log_softmax: "),
    ("max dim", lambda m: m.ones(2, 3).max(2), r"^max: dim 2"),
    ("argmax dim", lambda m: m.ones(2, 3).argmax(2), r"^argmax: dim 2"),
    ("argmax of empty", lambda m: m.ones(0).argmax(), r"^argmax: cannot reduce an empty"),
    ("transpose dim", lambda m: m.ones(2, 3).transpose(0, 2), r"^transpose: dim 2"),
    ("permute dim", lambda m: m.ones(2, 3, 4).permute(0, 1, 3), r"^permute: dim 3"),
    ("squeeze dim", lambda m: m.ones(2, 3).squeeze(2), r"^squeeze: dim 2"),
    ("unsqueeze dim", lambda m: m.ones(2, 3).unsqueeze(3), r"^unsqueeze: dim 3 is out of range "
                                                         r"for a tensor with 3 dimension"),
    ("flatten dim", lambda m: m.ones(2, 3).flatten(0, 2), r"^flatten: dim 2"),
    ("cat dim", lambda m: m.cat([m.ones(2, 3)], dim=2), r"^cat: dim 2"),
    ("stack dim", lambda m: m.stack([m.ones(2, 3)], dim=3), r"^stack: dim 3"),
    ("split dim", lambda m: m.ones(2, 3).split(1, dim=2), r"^split: dim 2"),
    ("chunk dim", lambda m: m.ones(2, 3).chunk(2, dim=-3), r"^chunk: dim -3"),
    ("size dim", lambda m: m.ones(2, 3).size(2), r"^size: dimension out of range"),
    ("cumsum dim", lambda m: m.ones(2, 3).cumsum(2), r"^cumsum: dim 2"),
    ("any dim", lambda m: m.ones(2, 3).any(2), r"^any: dim 2"),
    ("norm dim", lambda m: m.ones(2, 3).norm(2, 3), r"^norm: dim 3"),
    ("sort dim", lambda m: m.ones(2, 3).sort(2), r"^sort: dim 2"),
    ("argsort dim", lambda m: m.ones(2, 3).argsort(-3), r"^argsort: dim -3"),
    ("topk dim", lambda m: m.ones(2, 3).topk(1, 2), r"^topk: dim 2"),
    ("gather dim", lambda m: m.gather(m.ones(3, 2), 2, m.tensor([[1]])), r"^gather: dim 2"),
    ("flip dim", lambda m: m.ones(2, 3).flip(2), r"^flip: dim 2"),
    ("index_select dim", lambda m: m.ones(2, 3).index_select(2, m.tensor([0])),
     r"^index_select: dim 2"),
    ("unbind 0-d", lambda m: m.ones(()).unbind(), r"^unbind: a 0-d tensor"),
    # ------------------------------------------------------------- indices: IndexError
    ("index", lambda m: m.ones(2, 3)[2], r"^getitem: index 2 is out of bounds"),
    ("index dim 1", lambda m: m.ones(2, 3)[:, 3], r"^getitem: index 3"),
    ("too many indices", lambda m: m.ones(2, 3)[0, 0, 0], r"^getitem: too many indices"),
    ("index_select bounds", lambda m: m.ones(3).index_select(0, m.tensor([3])),
     r"^index_select: index 3 is out of bounds for dim 0 with size 3"),
    ("index_select negative", lambda m: m.ones(3).index_select(0, m.tensor([-1])),
     r"^index_select: index -1"),
    ("cross_entropy target", lambda m: F(m).cross_entropy(m.ones(2, 3), m.tensor([0, 3])),
     r"^nll_loss: target 3 is out of bounds"),
    # ------------------------------------------------------------- dtypes: RuntimeError
    ("where condition", lambda m: m.where(m.tensor([1, 0]), m.ones(2), m.zeros(2)),
     r"^where: condition must be a bool tensor, got dtype int64"),
    ("masked_fill mask", lambda m: m.ones(2, 3).masked_fill(m.tensor([1, 0, 1]), 0.0),
     r"^masked_fill: mask must be a bool tensor, got dtype int64"),
    ("masked_select mask", lambda m: m.ones(2, 3).masked_select(m.tensor([1, 0, 1])),
     r"^masked_select: mask must be a bool tensor"),
    ("scatter dtypes", lambda m: m.zeros(2, 3).scatter(1, m.tensor([[0], [2]]),
                                                       m.ones(2, 1, dtype=m.float64)),
     r"^scatter: src has dtype float64 but the input has float32"),
    ("topk bool", lambda m: m.tensor([True, False]).topk(1), r"^topk: bool tensors"),
    ("isclose dtypes", lambda m: m.isclose(m.ones(1), m.ones(1, dtype=m.float64)),
     r"^isclose: dtypes float32 and float64 differ"),
    ("norm of ints", lambda m: m.norm(m.tensor([1, 2])), r"^norm: needs a floating-point"),
    ("norm narrowing", lambda m: m.ones(2, dtype=m.float64).norm(dtype=m.float32),
     r"^norm: dtype float32 must be"),
    ("mean of ints", lambda m: m.ones(2, dtype=m.int64).mean(), r"^mean: needs a floating"),
    ("softmax of ints", lambda m: m.ones(3, dtype=m.int64).softmax(0), r"^softmax: needs a "),
    ("log_softmax of ints", lambda m: F(m).log_softmax(m.ones(3, dtype=m.int64), 0),
     r"^log_softmax: needs a "),
    ("max_unpool2d int32", lambda m: F(m).max_unpool2d(m.ones(1, 1, 2, 2),
                                                       m.zeros(1, 1, 2, 2, dtype=m.int32), 2),
     r"^max_unpool2d: indices must be int64"),
    # ------------------------------------------------------------- argument values
    ("conv2d stride 0", lambda m: F(m).conv2d(m.ones(1, 1, 5, 5), m.ones(1, 1, 3, 3), stride=0),
     r"^conv2d: stride and dilation must be positive"),
    ("conv2d dilation 0", lambda m: F(m).conv2d(m.ones(1, 1, 5, 5), m.ones(1, 1, 3, 3),
                                                dilation=0), r"^conv2d: stride and dilation"),
    ("conv2d padding -1", lambda m: F(m).conv2d(m.ones(1, 1, 5, 5), m.ones(1, 1, 3, 3),
                                                padding=-1), r"^conv2d: padding must be non-neg"),
    ("conv2d same strided", lambda m: F(m).conv2d(m.ones(1, 1, 5, 5), m.ones(1, 1, 3, 3),
                                                  stride=2, padding="same"),
     r"^conv2d: padding='same' is not supported for strided"),
    ("conv2d padding name", lambda m: F(m).conv2d(m.ones(1, 1, 5, 5), m.ones(1, 1, 3, 3),
                                                  padding="foo"), r"^conv2d: padding must be"),
    ("max_pool2d stride 0", lambda m: F(m).max_pool2d(m.ones(1, 1, 5, 5), 2, stride=0),
     r"^max_pool2d: kernel_size and stride must be positive"),
    ("max_pool2d dilation 0", lambda m: F(m).max_pool2d(m.ones(1, 1, 5, 5), 2, dilation=0),
     r"^max_pool2d: kernel_size, stride and dilation must be positive"),
    ("max_unpool2d size", lambda m: F(m).max_unpool2d(*F(m).max_pool2d(
        m.ones(1, 1, 7, 7), 2, return_indices=True), 2, output_size=(9, 9)),
     r"^max_unpool2d: output_size \(9, 9\) is invalid: dim 0 must be between 4 and 8"),
    ("stack empty", lambda m: m.stack([]), r"^stack: expected a non-empty sequence"),
    ("cat empty", lambda m: m.cat([]), r"^cat: expected a non-empty sequence"),
    ("split size 0", lambda m: m.ones(3).split(0), r"^split: split_size must be positive"),
    ("chunk 0", lambda m: m.ones(3).chunk(0), r"^chunk: chunks must be positive"),
    ("clamp unbounded", lambda m: m.ones(3).clamp(), r"^clip: at least one of min and max"),
    ("hardtanh bounds", lambda m: F(m).hardtanh(m.ones(3), 2.0, 1.0), r"^hardtanh: min_val"),
    ("cross_entropy batch", lambda m: F(m).cross_entropy(m.ones(2, 3), m.tensor([0, 1, 2])),
     r"^nll_loss: target shape \(3,\)"),
    ("dim of a float", lambda m: m.ones(3).sum(1.5), r"^sum: dim must be an int, got float"),
    ("operand of a str", lambda m: m.ones(3) + "a", r"^add: unsupported operand of type str"),
    # ------------------------------------------------------------- tensors as Python values
    ("bool of many", lambda m: bool(m.ones(2)), r"^bool: the truth value"),
    ("len of 0-d", lambda m: len(m.ones(())), r"^len\(\) of a 0-d tensor"),
    ("backward of non-scalar", lambda m: (m.ones(2, requires_grad=True) * 2).backward(),
     r"^backward: grad can be implicitly created only for scalar outputs"),
    ("backward without grad", lambda m: m.ones(2).sum().backward(), r"^backward: the tensor"),
]


@pytest.mark.parametrize("call, pattern", [pytest.param(c, p, id=i) for i, c, p in CASES])
def test_chainrule_raises_what_torch_raises(torch, call, pattern):
    with pytest.raises(Exception) as expected:
        call(torch)
    kind = expected.type
    if kind is NotImplementedError:  # a missing dtype kernel in torch: its base class
        kind = RuntimeError
    with pytest.raises(kind, match=pattern):
        call(cr)


def test_the_error_classes_keep_the_classes_chainrule_raised_before():
    assert issubclass(cr.ShapeError, ValueError) and issubclass(cr.ShapeError, RuntimeError)
    for cls, old, new in [(cr.errors.DimensionError, cr.ShapeError, IndexError),
                          (cr.errors.DTypeError, TypeError, RuntimeError),
                          (cr.errors.ArgumentError, ValueError, RuntimeError)]:
        assert issubclass(cls, old) and issubclass(cls, new), cls
    with pytest.raises(cr.ShapeError):  # a dim out of range is still a ShapeError
        cr.ones(2, 3).sum(2)
    with pytest.raises(ValueError):
        cr.ones(2, 3) + cr.ones(4)


def test_a_dim_out_of_range_on_a_0d_tensor_is_torchs_index_error(torch):
    for m in (torch, cr):
        with pytest.raises(IndexError):
            m.ones(()).sum(1)
        m.ones(()).sum(0)
        m.ones(()).sum(-1)


def test_reductions_over_no_dims_reduce_everything_as_in_torch(torch):
    x = np.arange(6.0).reshape(2, 3)
    for op in ("sum", "mean", "amax", "amin", "var", "std"):
        for dim in ((), []):
            c, t = getattr(cr.tensor(x), op)(dim=dim), getattr(torch.tensor(x), op)(dim=dim)
            assert c.shape == tuple(t.shape) == ()
            np.testing.assert_allclose(c.detach().numpy(), t.numpy(), rtol=1e-12)
    # any/all are the exception in torch: no dims means nothing is reduced
    assert cr.ones(2, 3).any(dim=()).shape == tuple(torch.ones(2, 3).any(dim=()).shape)
