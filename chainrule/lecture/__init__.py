"""The lecture, runnable: every example, exercise, claim and table of
spec/neural-networks-lecture.txt as a small program that prints what the slide says and what it
measured, and draws its pictures.

    >>> from chainrule import lecture
    >>> [e.name for e in lecture.examples(section=2)][:2]
    ['deep-linear-collapse', 'xor-threshold']
    >>> result = lecture.run("xor-threshold", quick=True)
    >>> result.measured["truth_table_correct"]
    True

Each section of the lecture is one module (`units`, `expressive`, `backprop`, `convolution`,
`conv_layers`, `lenet`); an example is a function decorated with `@example`, taking a `Context`
and returning a `Result`. `chainrule lecture` lists them and `chainrule lecture NAME` runs one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the lecture's sections, in order, with the module that holds each one's examples
SECTIONS: dict[int, tuple[str, str]] = {
    1: ("units", "Units and activation functions"),
    2: ("expressive", "Expressive power"),
    3: ("backprop", "Backpropagation"),
    4: ("convolution", "The convolution operator"),
    5: ("conv_layers", "Convolutional layers and the size of a network"),
    6: ("lenet", "LeNet-5 on MNIST"),
}


@dataclass
class Context:
    """How an example runs.

    quick: the small version CI runs (fewer sizes, epochs and repeats); the slide's claims are
    asserted on it all the same. out: the folder pictures go to (None: draw nothing).
    data_root: where MNIST lives (None: chainrule's usual search, CHAINRULE_DATA included).
    """

    quick: bool = False
    out: Path | None = None
    data_root: str | None = None
    seed: int = 0

    def picture(self, filename: str) -> Path | None:
        """The path to write a picture to, or None when no pictures are wanted."""
        if self.out is None:
            return None
        self.out.mkdir(parents=True, exist_ok=True)
        return self.out / filename


@dataclass
class Result:
    """What an example found.

    says: what the slide says (quoted or paraphrased, in the lecture's notation).
    lines: what the program measured, as the lines `chainrule lecture NAME` prints.
    measured: the same numbers by name, for tests and the docs.
    pictures: the files written.
    """

    says: str
    lines: list[str] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)
    pictures: list[Path] = field(default_factory=list)

    def text(self) -> str:
        parts = ["The slide: " + self.says, "", *self.lines]
        if self.pictures:
            parts += ["", "Pictures: " + ", ".join(str(p) for p in self.pictures)]
        return "\n".join(parts) + "\n"


def save_picture(ctx: Context, result: Result, filename: str, content: Any) -> Path | None:
    """Write a picture into the example's folder, when it has one, and list it in `result`:
    an RGB/grey array as a PNG (NumPy alone), a str as it is (an SVG drawing)."""
    path = ctx.picture(filename)
    if path is None:
        return None
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        from chainrule.inspect._image import write_png

        write_png(path, content)
    result.pictures.append(path)
    return path


@dataclass(frozen=True)
class Example:
    name: str
    section: int
    title: str
    slide: str  # the slide's heading in the lecture text, for a reader to find it
    run: Callable[[Context], Result]


_REGISTRY: dict[str, Example] = {}


def example(name: str, *, section: int, title: str, slide: str
            ) -> Callable[[Callable[[Context], Result]], Callable[[Context], Result]]:
    """Register `fn(ctx) -> Result` as the lecture example `name`."""
    if section not in SECTIONS:
        raise ValueError(f"lecture.example {name!r}: section {section} is not one of "
                         f"{sorted(SECTIONS)}")

    def register(fn: Callable[[Context], Result]) -> Callable[[Context], Result]:
        if name in _REGISTRY and _REGISTRY[name].run is not fn:
            raise ValueError(f"lecture.example: {name!r} is registered twice")
        _REGISTRY[name] = Example(name, section, title, slide, fn)
        return fn
    return register


def _load() -> None:
    for module, _ in SECTIONS.values():
        importlib.import_module(f"{__name__}.{module}")


def examples(section: int | None = None) -> list[Example]:
    """Every example in lecture order (by section, then in the order its module defines them)."""
    _load()
    found = [e for e in _REGISTRY.values() if section is None or e.section == section]
    return sorted(found, key=lambda e: e.section)  # stable: definition order within a section


def get(name: str) -> Example:
    _load()
    if name not in _REGISTRY:
        raise KeyError(f"chainrule lecture: no example {name!r}; `chainrule lecture` lists "
                       f"them ({', '.join(sorted(_REGISTRY))})")
    return _REGISTRY[name]


def run(name: str, *, quick: bool = False, out: str | Path | None = None,
        data_root: str | None = None, seed: int = 0) -> Result:
    """Run one example and return what it found (pictures go to `out` when given)."""
    ctx = Context(quick=quick, out=None if out is None else Path(out), data_root=data_root,
                  seed=seed)
    return get(name).run(ctx)


def add_lecture_parser(sub: Any) -> None:
    """The `chainrule lecture` subcommand (`sub`: the CLI's subparsers)."""
    p = sub.add_parser("lecture", help="list or run the lecture's examples",
                       description="Without NAME, list the lecture's runnable examples by "
                       "section. With NAME, run one: print what the slide says and what the "
                       "program measured, and write its pictures into --out.")
    p.add_argument("name", nargs="?", help="the example to run (or `all`)")
    p.add_argument("--quick", action="store_true", help="the small version CI runs")
    p.add_argument("--out", metavar="DIR", default="lecture-out",
                   help="folder for the pictures (default lecture-out)")
    p.add_argument("--no-pictures", action="store_true", help="draw nothing")
    p.add_argument("--section", type=int, choices=sorted(SECTIONS),
                   help="list (or with `all`, run) only this section")
    p.add_argument("--data-root", metavar="DIR")
    p.add_argument("--seed", type=int, default=0)


def lecture_command(args: Any) -> int:
    """Run `chainrule lecture [NAME]`."""
    if args.name is None:
        for number, (_, heading) in SECTIONS.items():
            if args.section not in (None, number):
                continue
            print(f"{number}. {heading}")
            for e in examples(number):
                print(f"   {e.name:<28} {e.title}")
        return 0
    chosen = (examples(args.section) if args.name == "all" else [get(args.name)])
    out = None if args.no_pictures else Path(args.out)
    for i, e in enumerate(chosen):
        if i:
            print()
        print(f"== {e.name} (section {e.section}, slide \"{e.slide}\"): {e.title}")
        ctx = Context(quick=args.quick, out=out, data_root=args.data_root, seed=args.seed)
        print(e.run(ctx).text(), end="")
    return 0
