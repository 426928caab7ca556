"""Each op's rules read from the one place they are declared: the op's docstring.

An op's docstring states its value and its local derivatives in the lecture's notation,
``y = a · b.   ā = ȳ · b,   b̄ = ȳ · a.`` Its parents are the parameters of ``forward`` (``a``,
``b``); the rule for parent ``a`` is the expression after ``ā =``, for ``b`` after ``b̄ =``.
The trace and the graph drawings show these rules with the graph's own names substituted for
the op's symbols, so what they print is what the docstring (and so the code review) says.
"""

from __future__ import annotations

import math
import inspect as pyinspect
import re
import unicodedata
from dataclasses import dataclass, field

from chainrule.autograd.function import Function

BAR = "\u0304"  # combining macron: ā is "a" + BAR
_SUBSCRIPTS = "ᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₀₁₂₃₄₅₆₇₈₉"
#: words that mark a trailing parenthesis as a remark about the rule, not part of its formula
_REMARK_WORDS = frozenset({"where", "the", "as", "at", "summed", "sums", "done", "same", "and",
                           "with", "its", "when", "groups", "rules", "tensor", "slices"})
_OPEN, _CLOSE = "([{", ")]}"


def is_letter(ch: str) -> bool:
    """A letter that can be a symbol: Latin, Greek or letterlike (ℓ); not ᵀ or other modifiers."""
    return unicodedata.category(ch) in ("Lu", "Ll")


def _is_greek(ch: str) -> bool:
    return "\u0370" <= ch <= "\u03ff"


@dataclass(frozen=True)
class Token:
    text: str
    symbol: bool  # a one-letter symbol (with its bars), as opposed to a word or punctuation


def tokenize(text: str) -> list[Token]:
    """Split a formula into one-letter symbols (``a``, ``ȳ``, ``β``), words (``log``, ``sign``)
    and everything else. A Greek letter is always a symbol of its own (``βz`` is β times z)."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if is_letter(ch):
            j = i + 1
            if not _is_greek(ch):
                while j < n and (is_letter(text[j]) and not _is_greek(text[j])
                                 or unicodedata.combining(text[j])):
                    j += 1
            while j < n and unicodedata.combining(text[j]):
                j += 1
            word = text[i:j]
            letters = sum(1 for c in word if not unicodedata.combining(c))
            out.append(Token(word, letters == 1))
            i = j
        else:
            out.append(Token(ch, False))
            i += 1
    return out


def _is_word(t: Token | None) -> bool:
    return t is not None and not t.symbol and is_letter(t.text[0])


def substitute(text: str, mapping: dict[str, str]) -> str:
    """Replace whole symbols of `text` by their values in `mapping`, and words (never parts of
    words) that are keys too, in any normal form; the result is NFC. The article in 'of a new
    shape' is left alone: an 'a' between two words."""
    mapping = {unicodedata.normalize("NFD", k): v for k, v in mapping.items()}
    tokens = tokenize(unicodedata.normalize("NFD", text))
    out = []
    for i, t in enumerate(tokens):
        if t.text in mapping and (t.symbol or _is_word(t)):
            if t.text == "a" and _is_word(_neighbour(tokens, i, -1)) \
                    and _is_word(_neighbour(tokens, i, 1)):
                out.append(t.text)
                continue
            out.append(mapping[t.text])
        else:
            out.append(t.text)
    return unicodedata.normalize("NFC", "".join(out))


def _neighbour(tokens: list[Token], i: int, step: int) -> Token | None:
    """The token next to tokens[i] across one space (None at an end or across punctuation)."""
    j = i + step
    if 0 <= j < len(tokens) and tokens[j].text == " ":
        j += step
        return tokens[j] if 0 <= j < len(tokens) else None
    return None


def _scan_expression(text: str, start: int, commas: bool = True) -> str:
    """The formula that starts at `start`: up to a top-level ',' (if `commas`), ';', ': ', '. ',
    ' = ', ' — ', two spaces, the end of the paragraph or of the text, brackets kept balanced."""
    depth, i, n = 0, start, len(text)
    while i < n:
        ch = text[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            if depth == 0:
                break
            depth -= 1
        elif depth == 0:
            nxt = text[i + 1] if i + 1 < n else " "
            if ch == "," and (commas or _word_follows(text, i + 1)) or ch in ";\n" \
                    or (ch in ":." and nxt.isspace()) \
                    or text.startswith(("  ", " = ", " — "), i) or (ch == "." and i + 1 == n):
                break
        i += 1
    return _drop_remark(text[start:i].strip())


def _word_follows(text: str, i: int) -> bool:
    """A word of two or more letters comes next (', and y = z', ', computed as'), not a
    formula (', α(e^z − 1) otherwise')."""
    tokens = tokenize(text[i:i + 24].lstrip())
    return bool(tokens) and not tokens[0].symbol and is_letter(tokens[0].text[0])


def _drop_remark(expr: str) -> str:
    """Remove a trailing '(…)' that is prose about the rule ('(0 where b = 0)'), keep maths."""
    if not expr.endswith(")"):
        return expr
    depth = 0
    for i in range(len(expr) - 1, -1, -1):
        if expr[i] == ")":
            depth += 1
        elif expr[i] == "(":
            depth -= 1
            if depth == 0:
                inner = expr[i + 1:-1]
                words = {t.text for t in tokenize(inner) if not t.symbol}
                if i > 0 and expr[i - 1] == " " and words & _REMARK_WORDS or "`" in inner:
                    return expr[:i].rstrip()
                return expr
    return expr


_SUB = rf"(?:_\{{[^}}]*\}}|_\w+|\[[^\]]*\]|[{_SUBSCRIPTS}]+)?"
# ā, ȳ̄ (the error signal of ȳ), s̄rc (a longer parameter name, barred on its first letter)
_BARRED = re.compile(rf"(?<![^\W\d_])([^\W\d_]{BAR}{BAR}?[^\W\d_]*){_SUB} = ")
_VALUE = re.compile(rf"(?<![^\W\d_])([^\W\d_]{BAR}?){_SUB} = ")


@dataclass(frozen=True)
class OpRule:
    """What an op's docstring declares, by the names its `forward` gives its parents."""

    op: type[Function]
    params: tuple[str, ...]        # forward's parameter names: the parents, in order
    varargs: bool                  # forward(*arrays): every parent shares one rule
    output: str                    # the docstring's symbol for the op's value (y)
    output_bar: str                # ... and for its error signal (ȳ)
    forward: str | None            # the formula of the value: "a · b"
    backward: dict[str, str] = field(default_factory=dict)  # parent -> "ȳ · b"
    aliases: dict[str, str] = field(default_factory=dict)   # symbol in the text -> parameter
    constants: dict[str, str] = field(default_factory=dict)  # symbol in the text -> setting

    def parent_rule(self, i: int) -> str | None:
        """The rule for parent i's term v̄_j ∂v_j/∂v_i, in the docstring's symbols."""
        if self.varargs:
            return next(iter(self.backward.values()), None)
        return self.backward.get(self.params[i]) if i < len(self.params) else None

    def symbols(self, parents: list[str], value: str, value_bar: str,
                settings: dict[str, object] | None = None) -> dict[str, str]:
        """The substitution of the graph's names for the docstring's symbols, and of the
        node's numeric settings for the symbols that stand for them (p → 2 in a^p)."""
        m: dict[str, str] = {}
        for sym, name in self.constants.items():
            v = (settings or {}).get(name)
            if isinstance(v, float) and not math.isfinite(v):  # softplus's threshold=inf
                m[sym] = "nan" if math.isnan(v) else ("∞" if v > 0 else "−∞")
            elif isinstance(v, int | float) and not isinstance(v, bool):
                m[sym] = f"{v:.4g}" if isinstance(v, float) and v != int(v) else str(int(v))
        names = dict(zip(self.params, parents, strict=False))
        for p, name in names.items():
            m[p] = name
            if len(p) == 1:
                m[p.upper() if p.islower() else p.lower()] = name
        for sym, p in self.aliases.items():
            if p in names:
                m[sym] = names[p]
        m[self.output] = value
        if self.output.islower() and self.output.upper() not in m:
            m[self.output.upper()] = value
        m[self.output_bar] = value_bar
        m[self.output_bar.upper()] = value_bar
        return m


def _doc_text(op: type[Function]) -> str:
    doc = op.__dict__.get("__doc__") or ""
    doc = unicodedata.normalize("NFD", pyinspect.cleandoc(doc))  # ā is a + U+0304 from here
    # One paragraph per line; a line break inside a paragraph is a space.
    return "\n".join(re.sub(r"\s*\n\s*", " ", p) for p in doc.split("\n\n"))


_CACHE: dict[type[Function], OpRule] = {}


def rule_of(op: type[Function]) -> OpRule:
    """The op's declared rules (cached: docstrings do not change)."""
    if op not in _CACHE:
        _CACHE[op] = _parse(op)
    return _CACHE[op]


def _parse(op: type[Function]) -> OpRule:
    sig = pyinspect.signature(op.forward)
    params, varargs = [], False
    for p in list(sig.parameters.values())[1:]:
        if p.kind is p.VAR_POSITIONAL:
            varargs = True
        else:
            params.append(p.name)
    text = _doc_text(op)
    lowered = {p.lower() for p in params}
    backward: dict[str, str] = {}
    aliases: dict[str, str] = {}
    barred = list(_BARRED.finditer(text))
    barred_found = [(m.group(1), _scan_expression(text, m.end())) for m in barred]
    # A parameter holding an error signal (second-order ops: forward(self, z, g)) is written
    # ȳ in the docstring, and its own rule ȳ̄.
    if "g" in params and not any(s == "g" + BAR for s, _ in barred_found) \
            and any(s in ("y" + BAR * 2, "Y" + BAR * 2) for s, _ in barred_found):
        aliases["y" + BAR] = "g"
        aliases["Y" + BAR] = "g"
    if aliases:  # such a docstring opens with the value it computes: "x̄ = col2im(Wᵀ ȳ)"
        barred_found = barred_found[1:]
    for sym, expr in barred_found:
        if sym.count(BAR) == 2:
            key = "g" if aliases and sym[0] in "yY" else None
        else:
            base = sym.replace(BAR, "")
            key = next((p for p in params if p == base), None) or next(
                (p for p in params if p.lower() == base.lower()), None)
            if key is None and varargs and base.lower() not in ("y", "g", "x"):
                key = "*" + base
        if key is not None and key not in backward:
            backward[key] = expr
    first = barred[0] if aliases else _VALUE.search(text)
    forward = None
    output = "y"
    if first is not None:
        output = first.group(1)
        if output.rstrip(BAR).lower() in lowered and not aliases:
            output = "y"  # the first formula is a parent's rule: no value formula stated
        else:
            forward = _scan_expression(text, first.end(), commas=False)
            forward = re.split(r" for an? ", forward)[0]  # '... for a constant number p
    exprs = " ".join(backward.values())
    symbols_used = {t.text for t in tokenize(exprs) if t.symbol}
    output_bar = next((s for s in ("y" + BAR, "Y" + BAR, "L" + BAR, "g" + BAR, "H")
                       if s in symbols_used and s not in aliases
                       and s[0].lower() not in lowered), output + BAR)
    if output.endswith(BAR) and output_bar == output + BAR:
        output_bar = output + BAR
    constants = _setting_symbols(op, text, forward, set(params) | {output, output_bar})

    def nfc(x: str) -> str:
        return unicodedata.normalize("NFC", x)

    return OpRule(op, tuple(params), varargs, nfc(output), nfc(output_bar),
                  None if forward is None else nfc(forward),
                  {k: nfc(v) for k, v in backward.items()},
                  {nfc(k): v for k, v in aliases.items()},
                  {nfc(k): v for k, v in constants.items()})


_KNOWN = frozenset({"e", "π", "σ", "φ", "Φ", "Σ", "i", "j", "k", "N", "D", "n"})


def _setting_symbols(op: type[Function], text: str, forward: str | None,
                     taken: set[str]) -> dict[str, str]:
    """Which symbols of the docstring stand for the op's settings: a symbol or word spelled as
    the setting ('lo'), a Greek letter named as it ('β' for beta), one the docstring declares
    ('a = negative_slope'), or else the one free symbol of the value's formula when the op has
    a single setting ('p' in 'a^p' for the exponent)."""
    settings = sorted(op.settings)
    out: dict[str, str] = {}
    words = {t.text for t in tokenize(text) if not t.symbol or len(t.text) == 1}
    for name in settings:
        if name in words:
            out[name] = name
    for t in {t.text for t in tokenize(text) if t.symbol and _is_greek(t.text[0])}:
        spoken = unicodedata.name(t[0], "").split()[-1].lower()
        if spoken in settings:
            out[t] = spoken
    for m in re.finditer(r"(?<![^\W\d_])([^\W\d_][^\s,()]{0,2}) = (\w+)(?=[),;]|\. |\.?$)",
                         text):
        if m.group(2) in settings and m.group(1) not in taken:
            out.setdefault(m.group(1), m.group(2))
    scalar = [s for s in settings if s not in out.values()]
    if forward is not None and len(settings) == 1 and scalar:
        free = [t.text for t in tokenize(forward) if t.symbol and t.text not in taken
                and t.text not in _KNOWN and t.text not in out]
        if len(set(free)) == 1:
            out[free[0]] = scalar[0]
    return out


def all_ops() -> list[type[Function]]:
    """Every op class defined in chainrule (the engine's SumToShape included)."""
    import chainrule.autograd.engine  # noqa: F401  (SumToShape)
    import chainrule.ops  # noqa: F401

    seen: list[type[Function]] = []
    stack = list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    # (a node without a forward of its own, such as the one behind PyTorch-style custom
    # Functions, states no rule: its backward is the user's)
    return sorted((c for c in seen if c.__module__.startswith("chainrule.")
                   and c.forward is not Function.forward),
                  key=lambda c: (c.__module__, c.__name__))


def missing_rules(op: type[Function]) -> list[str]:
    """The parents of `op` whose rule its docstring does not state (empty when complete)."""
    r = rule_of(op)
    if r.varargs:
        return [] if r.backward else ["*" + "args"]
    optional = {p.name for p in list(pyinspect.signature(op.forward).parameters.values())[1:]
                if p.default is not p.empty}
    return [p for p in r.params if p not in r.backward and p not in optional
            or (p in optional and p not in r.backward)]
