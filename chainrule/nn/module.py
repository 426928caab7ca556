"""`Module`: the base of every layer and network, with PyTorch's registration and state_dict rules.

Parameters, buffers and submodules assigned as attributes are registered in order, so
`named_parameters()` and `state_dict()` give the same dotted keys as the equivalent torch module
('0.weight', 'fc1.bias', ...). That is what lets weights move between the two libraries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import (
    Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView,
)
from typing import Any, NamedTuple, cast

import numpy as np

from chainrule import _device
from chainrule._dtypes import DTypeLike, as_dtype
from chainrule.errors import ShapeError
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor, _to_arguments


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """Returned by `register_forward_hook`; `.remove()` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Callable]) -> None:
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def _to_numpy(value: Any) -> np.ndarray:
    """Accept ndarrays, chainrule Tensors and anything with .numpy() (e.g. torch tensors)."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


class Module:
    """Base class for layers and networks: subclass it, assign layers in `__init__`, define
    `forward`. Calling the module runs forward hooks around `forward`."""

    # Set with object.__setattr__ in __init__ (our __setattr__ needs them to exist first).
    # A registered name maps to None after `module.name = None`, as in torch.
    training: bool
    _parameters: OrderedDict[str, Parameter | None]
    _buffers: OrderedDict[str, Tensor | None]
    _modules: OrderedDict[str, Module | None]
    _forward_hooks: OrderedDict[int, Callable[..., Any]]
    _forward_pre_hooks: OrderedDict[int, Callable[..., Any]]

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # ----------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 "assigning attributes")
        # As in torch: re-assigning a registered name keeps its place in the registry (so the
        # state_dict key order stays the same), and a registered parameter or submodule can only
        # be replaced by another one or None (not silently unregistered by a plain value).
        target: OrderedDict[str, Any] | None = None
        if isinstance(value, Parameter):
            target = self._parameters
        elif isinstance(value, Module):
            target = self._modules
        elif name in self._parameters or name in self._modules:
            kind = "parameter" if name in self._parameters else "child module"
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a "
                                f"{type(value).__name__} as {kind} {name!r} (a "
                                f"{'Parameter' if kind == 'parameter' else 'Module'} or None "
                                "expected)")
            target = self._parameters if kind == "parameter" else self._modules
        elif name in self.__dict__.get("_buffer_names", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: buffer {name!r} must be a Tensor")
            target = self._buffers
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not target:
                registry.pop(name, None)
        if target is not None:
            target[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            object.__setattr__(self, name, None)
            self._parameters.pop(name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is state but not learnable (e.g. BatchNorm's running mean)."""
        names = self.__dict__.setdefault("_buffer_names", set())
        names.add(name)
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)
        setattr(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is None:
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    # ----------------------------------------------------------------- running
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]
                              ) -> RemovableHandle:
        """hook(module, inputs, output) runs after forward; a non-None return replaces output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # ----------------------------------------------------------------- traversal
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        stack: list[tuple[str, Module]] = [(prefix, self)]
        seen = set() if memo is None else memo
        while stack:
            name, m = stack.pop()
            if remove_duplicate:
                if id(m) in seen:
                    continue
                seen.add(id(m))
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                        if c is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix) if recurse else iter([(prefix, self)])
        for mod_name, m in mods:
            for k, v in getattr(m, registry).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mod_name}.{k}" if mod_name else k), v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        # _parameters only ever holds Parameters (see __setattr__).
        yield from cast("Iterator[tuple[str, Parameter]]",
                        self._named_members("_parameters", prefix, recurse, remove_duplicate))

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call fn on every submodule (children first) and on self, e.g. for custom init."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------- modes and dtype
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor._make(np.zeros_like(p.grad._data), False, None)

    def to(self, *args: Any, dtype: DTypeLike | None = None, device: Any = None,
           non_blocking: bool = False) -> Module:
        """`.to(dtype)`, `.to(device)` or `.to(device, dtype)`, as in torch: cast every
        floating-point parameter and buffer to `dtype`, in place. The CPU is the only device."""
        dtype = _to_arguments(args, dtype, device, f"{type(self).__name__}.to")
        if dtype is None:
            return self
        dt = as_dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"to: modules can only be cast to floating dtypes, got {dt}")
        for m in self.modules():
            for registry in (m._parameters, m._buffers):
                for t in registry.values():
                    if t is not None and t.dtype.kind == "f":
                        t._data = t._data.astype(dt)
                        if t.grad is not None:
                            t.grad = Tensor._make(t.grad._data.astype(dt), False, None)
        return self

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        _device.check("cuda" if device is None else device, f"{type(self).__name__}.cuda")
        return self

    def float(self) -> Module:
        return self.to("float32")

    def double(self) -> Module:
        return self.to("float64")

    # ----------------------------------------------------------------- state
    def state_dict(self, destination: Any = None, prefix: str = "", keep_vars: bool = False
                   ) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer, keyed like torch ('fc1.weight'): detached
        tensors sharing memory with them, as in torch (the parameters themselves with
        `keep_vars=True`); copy them (`.clone()`) to keep a snapshot while training goes on."""
        out: OrderedDict[str, Tensor] = OrderedDict() if destination is None else destination
        # remove_duplicate=False: a submodule reachable under two names is saved under both,
        # as torch does, so tied models exchange state_dicts with torch.
        for mod_name, m in self.named_modules(prefix=prefix.rstrip("."),
                                              remove_duplicate=False):
            skip = m.__dict__.get("_non_persistent", ())
            for registry in (m._parameters, m._buffers):
                for k, v in registry.items():
                    if v is not None and k not in skip:
                        out[f"{mod_name}.{k}" if mod_name else k] = (
                            v if keep_vars else v.detach())
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy values into the parameters and buffers (in place, keeping their dtypes).

        Values may be NumPy arrays, chainrule tensors or torch tensors. With strict=True, missing
        or unexpected keys raise; a wrong shape always raises, naming the key and both shapes.
        """
        own = self.state_dict_tensors()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"load_state_dict: {type(self).__name__}: " + "; ".join(parts))
        arrays = {}
        for k, t in own.items():
            if k not in state_dict:
                continue
            value = _to_numpy(state_dict[k])
            if value.shape != t.shape:
                raise ShapeError(f"load_state_dict: size mismatch for {k!r}: the checkpoint "
                                 f"has shape {tuple(value.shape)}, the model expects "
                                 f"{tuple(t.shape)}")
            arrays[k] = value
        for k, value in arrays.items():  # validate everything before writing anything
            t = own[k]
            if t._data.flags.writeable and t._data.base is None:
                np.copyto(t._data, value, casting="unsafe")
            else:
                t._data = np.array(value, dtype=t.dtype)
        return IncompatibleKeys(missing, unexpected)

    def state_dict_tensors(self) -> OrderedDict[str, Tensor]:
        """The live tensors behind `state_dict()` (no copies)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for mod_name, m in self.named_modules(remove_duplicate=False):
            skip = m.__dict__.get("_non_persistent", ())
            for registry in (m._parameters, m._buffers):
                for k, v in registry.items():
                    if v is not None and k not in skip:
                        out[f"{mod_name}.{k}" if mod_name else k] = v
        return out

    # ----------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        # torch's layout: a lone one-line extra_repr stays inside the parentheses; otherwise the
        # extra_repr lines and then the children go on indented lines of their own.
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(m).replace("\n", "\n  ")
                       for name, m in self._modules.items()]
        head = f"{type(self).__name__}("
        if len(extra_lines) == 1 and not child_lines:
            return head + extra_lines[0] + ")"
        lines = extra_lines + child_lines
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()))


def _children(container: Module) -> OrderedDict[str, Module]:
    """A container's registry of children. Containers register them with add_module, which never
    stores None there (add_module(name, None) only sets the attribute), so every value is a
    Module unless a caller assigns `setattr(container, name, None)`, as torch allows too."""
    return cast("OrderedDict[str, Module]", container._modules)


class Sequential(Module):
    """Modules applied in order: y = f⁽ᴸ⁾ ∘ … ∘ f⁽¹⁾(x), the lecture's layered network."""

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, child in modules[0].items():
                self.add_module(name, child)
        else:
            for i, m in enumerate(modules):
                # Only Modules belong here: a Mapping is accepted as the sole argument only.
                self.add_module(str(i), cast(Module, m))

    def forward(self, x: Any) -> Any:
        for m in _children(self).values():
            x = m(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(_children(self).values())

    def __getitem__(self, idx: int | slice) -> Any:
        items = list(_children(self).items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        if not -len(items) <= idx < len(items):
            raise IndexError(f"Sequential: index {idx} out of range for {len(items)} modules")
        return items[idx][1]

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered ('0.weight', '1.weight', ...)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(_children(self).values())

    def __getitem__(self, idx: int | slice) -> Module:
        if isinstance(idx, slice):  # a ModuleList, as in torch (not a plain list)
            return ModuleList(list(_children(self).values())[idx])
        return list(_children(self).values())[idx]


class ModuleDict(Module):
    """A dict of modules whose parameters are registered under their keys."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        for k, m in (modules or {}).items():
            self.add_module(k, m)

    def __getitem__(self, key: str) -> Module:
        return _children(self)[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self) -> KeysView[str]:
        return self._modules.keys()

    def values(self) -> ValuesView[Module]:
        return _children(self).values()

    def items(self) -> ItemsView[str, Module]:
        return _children(self).items()
