"""`Optimizer`: the base class of the update rules, with torch's parameter groups and state dicts.

An optimizer holds `param_groups`, a list of dicts, each with a list of parameters under
'params' and that group's hyperparameters (lr, momentum, ...), and `state`, a dict from each
parameter to its running buffers. `step()` reads `p.grad` and writes `p._data` in place, so
views and references to a parameter's array stay valid; it never writes into a gradient.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

import numpy as np

from chainrule.autograd.grad_mode import enable_grad
from chainrule.autograd.inplace import bump_version
from chainrule.tensor import Tensor

ParamsT: TypeAlias = (
    Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]
)
StateDict: TypeAlias = dict[str, Any]


class _RequiredParameter:
    """Sentinel for a hyperparameter every parameter group must give (no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: `step()` walks the parameters; a subclass states its update rule.

    For each parameter group the base class reads the hyperparameters once
    (`_hyperparameters(group)`), then, for every parameter with a gradient, negates the gradient
    when the group says `maximize`, creates the parameter's state on its first step
    (`_init_state`) and applies the subclass's rule (`_update`), which updates the parameter's
    array and its state in place. A subclass may instead override `step` or `_update_group`.

    Args:
        params: an iterable of tensors, of `(name, tensor)` pairs, or of dicts that each define a
            parameter group: {'params': [...], 'lr': ..., ...}; a group's own hyperparameters
            override `defaults`.
        defaults: the hyperparameters of groups that do not set them.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        if isinstance(params, dict):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a dict; wrap a single parameter group "
                            "in a list: [{'params': ...}]")
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        given: list[Any] = list(params)
        if len(given) == 0:
            raise ValueError("optimizer got an empty parameter list")
        groups: list[dict[str, Any]] = given if isinstance(given[0], dict) else [
            {"params": given}]
        for group in groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Record that step() ran, for the schedulers' "scheduler.step() before optimizer.step()"
        # warning, also when a subclass overrides step.
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_records_call", False):
            @functools.wraps(step)
            def recorded_step(self: Optimizer, *args: Any, **kw: Any) -> Any:
                self._opt_called = True
                return step(self, *args, **kw)

            recorded_step._records_call = True  # type: ignore[attr-defined]
            cls.step = recorded_step  # type: ignore[method-assign]

    # ----------------------------------------------------------------- groups
    def _error(self, message: str) -> ValueError:
        return ValueError(f"{type(self).__name__}: {message}")

    def _validate_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for invalid hyperparameters in `group` (subclasses extend this)."""

    def _check_number(self, group: dict[str, Any], key: str, what: str,
                      lower: float = 0.0, upper: float | None = None,
                      upper_inclusive: bool = False) -> None:
        """Check lower <= group[key] (< or <=) upper, with torch's 'Invalid <what>: v' message."""
        value = group[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{type(self).__name__}: {key} must be a real number, got "
                            f"{type(value).__name__} {value!r}")
        v = float(value)
        ok = v >= lower and not math.isnan(v)
        if upper is not None:
            ok = ok and (v <= upper if upper_inclusive else v < upper)
        if not ok:
            raise self._error(f"Invalid {what}: {value}")

    def _check_betas(self, group: dict[str, Any]) -> None:
        """Adam-style (β₁, β₂): a pair of numbers in [0, 1), with torch's messages."""
        betas = group["betas"]
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise self._error(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):
            self._check_number({"beta": b}, "beta", f"beta parameter at index {i}", upper=1.0)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own hyperparameters, to `param_groups`.

        Hyperparameters the group does not give are taken from `defaults`. A parameter may
        belong to one group only.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry with the parameters")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        tensors: list[Tensor] = []
        names: list[str] = []
        for p in params:
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
                names.append(p[0])
                p = p[1]
            tensors.append(p)
        group = dict(param_group)
        group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not (p.is_leaf or p._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._validate_group(group)

        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "they will be updated once per occurrence", stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in group):
                kind = "with names" if "param_names" in group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {kind} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ----------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's `.grad`: to None, or to a fresh zero tensor.

        The old gradient array is never written (gradient arrays may be shared).
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = Tensor._make(np.zeros(p.grad.shape, p.grad.dtype), False, None)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a `.grad`.

        `closure`, if given, re-evaluates the model and returns the loss (run with gradients
        enabled before the update); its result is returned.
        """
        self._opt_called = True
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    step._records_call = True  # type: ignore[attr-defined]

    def _update_group(self, group: dict[str, Any]) -> None:
        """Apply the update rule to each parameter of `group` that has a gradient."""
        hyper = self._hyperparameters(group)
        maximize = group.get("maximize", False)
        states = self.state
        init_state, update = self._init_state, self._update
        for p in group["params"]:
            if p.grad is None:
                continue
            param = p._data
            grad = self._grad(p)
            bump_version(p)  # a graph that used the old value can no longer backpropagate
            if maximize:
                grad = -grad
            state = states.get(p)  # .get: no entry for a parameter without state (as in torch)
            if state:
                update(param, grad, state, hyper)
                continue
            if state is None:
                state = {}
            init_state(param, state, hyper)
            update(param, grad, state, hyper)
            if state:  # a rule without state (SGD without momentum) leaves no entry
                states[p] = state

    def _hyperparameters(self, group: dict[str, Any]) -> Any:
        """`group`'s hyperparameters as `_init_state` and `_update` read them (read once per step
        and group, not once per parameter); the group itself unless a subclass says otherwise."""
        return group

    def _init_state(self, param: np.ndarray, state: dict[str, Any], hyper: Any) -> None:
        """Fill the empty `state` of `param` before its first update (nothing by default)."""

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                hyper: Any) -> None:
        """The update rule: change `param` (p._data) and `state` in place from `grad` (already
        negated for `maximize`; read it only, it may be shared)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    @staticmethod
    def _buffer(state: dict[str, Any], key: str, param: np.ndarray) -> np.ndarray:
        """state[key], first set to zeros like `param` when missing (an optional buffer that a
        loaded state dict may lack, or that a changed hyperparameter now needs)."""
        buf = state.get(key)
        if buf is None:
            buf = state[key] = np.zeros_like(param)
        return buf

    def _grad(self, p: Tensor) -> np.ndarray:
        """p's gradient as an array of p's dtype and shape (read-only use: it may be shared)."""
        g = p.grad._data  # type: ignore[union-attr]
        if g.shape != p._data.shape:
            raise ValueError(f"{type(self).__name__}.step: a parameter of shape "
                             f"{tuple(p._data.shape)} has a gradient of shape {tuple(g.shape)}")
        if g.dtype != p._data.dtype:
            g = g.astype(p._data.dtype)
        return g

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        """The state entries a parameter of `group` needs once it has any (checked on load)."""
        return ()

    # ----------------------------------------------------------------- state dicts
    def state_dict(self) -> StateDict:
        """The optimizer's state in torch's layout, as a snapshot (arrays are copies).

        {'state': {index: {name: ndarray or Python scalar}},
         'param_groups': [{hyperparameter: value, ..., 'params': [index, ...]}]}
        Parameters are numbered in the order they appear across `param_groups`.
        """
        mapping: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            key = mapping[id(p)] if isinstance(p, Tensor) else p
            state[key] = {k: v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v)
                          for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Restore state and hyperparameters saved by `state_dict()` (for the same parameters).

        Arrays are copied and cast to their parameter's dtype; the numbers and sizes of the
        parameter groups and the shapes of the state arrays must match this optimizer's.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: loaded state dict has a different number of parameter "
                             f"groups ({len(saved_groups)}) than the optimizer "
                             f"({len(self.param_groups)})")
        id_map: dict[int, Tensor] = {}
        new_groups = []
        for gi, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}: loaded state dict contains a parameter group that "
                                 f"doesn't match the size of optimizer's group: group {gi} has "
                                 f"{len(saved['params'])} parameters in the state dict but "
                                 f"{len(group['params'])} in the optimizer")
            for idx, p in zip(saved["params"], group["params"], strict=True):
                id_map[int(idx)] = p
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
            for k, default in self.defaults.items():
                if default is not required:
                    new.setdefault(k, default)
            self._validate_group(new)
            new_groups.append(new)

        group_of = {id(p): g for g in new_groups for p in g["params"]}
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entries in state_dict["state"].items():
            try:
                index = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"{name}: state keys must be parameter indices, got "
                                 f"{key!r}") from None
            if index not in id_map:
                raise ValueError(f"{name}: state refers to parameter index {index}, which no "
                                 "parameter group lists")
            p = id_map[index]
            state[p] = {k: self._load_value(name, index, p, k, v) for k, v in entries.items()}
            if state[p]:
                missing = [k for k in self._state_keys(group_of[id(p)]) if k not in state[p]]
                if missing:
                    raise ValueError(f"{name}: state of parameter {index} lacks {missing} "
                                     f"(has {sorted(state[p])})")
        self.param_groups = new_groups
        self.state = state

    @staticmethod
    def _load_value(name: str, index: int, p: Tensor, key: str, value: Any) -> Any:
        if key == "step":
            return float(np.asarray(value).item()) if not isinstance(value, float) else value
        if isinstance(value, Tensor):
            value = value._data
        if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
            arr = np.asarray(value)
            if arr.shape != p._data.shape:
                raise ValueError(f"{name}: state {key!r} of parameter {index} has shape "
                                 f"{tuple(arr.shape)} but the parameter has shape "
                                 f"{tuple(p._data.shape)}")
            dtype = p._data.dtype if p._data.dtype.kind == "f" else arr.dtype
            return np.array(arr, dtype=dtype, copy=True)
        return copy.deepcopy(value)

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        out = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        return out + ")"

