"""Pictures with NumPy alone: a PNG encoder and decoder, colour maps, grids of tiles, a bitmap
font for captions, lines, dots and rectangles.

Images are uint8 arrays of shape (H, W, 3) (RGB), (H, W, 4) (RGBA) or (H, W) (grey), row 0 at
the top. Nothing here knows about models; `features` and `plots` compose these pieces.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence

import numpy as np

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)
INK: Color = (34, 34, 34)
# Where a picture has no data (a receptive field hanging over the image border).
OUTSIDE: Color = (196, 176, 150)

# ------------------------------------------------------------------------------------- PNG
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)
_CHANNELS = {v: k for k, v in _COLOR_TYPES.items()}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def as_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 as is; bool as 0/255; floats read as [0, 1] (clipped, NaN as 0)."""
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        return (np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    raise TypeError(f"write_png: expected a uint8, bool or float image, got dtype {a.dtype}")


def encode_png(image: np.ndarray) -> bytes:
    """The bytes of an 8-bit PNG of `image` ((H, W) grey, (H, W, 1|2|3|4) channels)."""
    a = as_uint8(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _COLOR_TYPES or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"write_png: expected an (H, W) or (H, W, 1-4) image with H, W >= 1, "
                         f"got shape {np.shape(image)}")
    h, w, c = a.shape
    # Filter type 0 (none) on every row; zlib does the compressing.
    rows = np.concatenate([np.zeros((h, 1), np.uint8), a.reshape(h, w * c)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPES[c], 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + _chunk(b"IEND", b""))


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write `image` as a PNG file (atomically: a partial file never replaces a good one)."""
    data = encode_png(image)
    tmp = f"{os.fspath(path)}.partial"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a.astype(np.int16) + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c)).astype(np.uint8)


def decode_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit, non-interlaced PNG (any filter, any of the four direct colour types) to
    (H, W, C) uint8. Enough to read back what `encode_png` and most tools write."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("decode_png: not a PNG file (bad signature)")
    pos, idat, header = len(_SIGNATURE), [], None
    while pos + 8 <= len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"decode_png: bad CRC in chunk {kind.decode('latin-1')!r}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ValueError("decode_png: no IHDR chunk")
    w, h, depth, ctype, _, _, interlace = header
    if depth != 8 or ctype not in _CHANNELS or interlace:
        raise ValueError(f"decode_png: only 8-bit non-interlaced grey/RGB(A) PNGs are read, got "
                         f"bit depth {depth}, colour type {ctype}, interlace {interlace}")
    c = _CHANNELS[ctype]
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), np.uint8)
    prev = np.zeros(w * c, np.uint8)
    for r in range(h):
        kind, line = raw[r, 0], raw[r, 1:].copy()
        if kind == 1:      # sub: add the byte one pixel to the left (a running sum per channel)
            line = np.cumsum(line.reshape(w, c), axis=0, dtype=np.uint64).astype(np.uint8).ravel()
        elif kind == 2:    # up
            line = line + prev
        elif kind in (3, 4):  # average / Paeth depend on the decoded left pixel: a loop
            for i in range(w * c):
                left = line[i - c] if i >= c else np.uint8(0)
                if kind == 3:
                    line[i] = (int(line[i]) + (int(left) + int(prev[i])) // 2) & 0xFF
                else:
                    upleft = prev[i - c] if i >= c else np.uint8(0)
                    pred = _paeth(np.array(left), np.array(prev[i]), np.array(upleft))
                    line[i] = (int(line[i]) + int(pred)) & 0xFF
        elif kind != 0:
            raise ValueError(f"decode_png: unknown filter type {kind} in row {r}")
        out[r] = line
        prev = line
    return out.reshape(h, w, c)


def read_png(path: str | os.PathLike) -> np.ndarray:
    """A PNG file as (H, W, C) uint8 (see `decode_png`)."""
    with open(path, "rb") as f:
        return decode_png(f.read())


# ----------------------------------------------------------------------------- colour maps
# Anchor colours, interpolated linearly. Diverging: blue for negative, white at zero, red for
# positive (a colour-blind-safe pair). Sequential: dark violet through teal to yellow, bright for
# large values, readable in grey too.
_MAPS: dict[str, np.ndarray] = {
    "gray": np.array([[0, 0, 0], [255, 255, 255]], np.float64),
    "diverging": np.array([[5, 48, 97], [67, 147, 195], [247, 247, 247], [214, 96, 77],
                           [103, 0, 31]], np.float64),
    "sequential": np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98],
                            [253, 231, 37]], np.float64),
    "blues": np.array([[247, 251, 255], [158, 202, 225], [49, 130, 189], [8, 48, 107]],
                      np.float64),
}
CMAPS = tuple(_MAPS)


def colorize(values: np.ndarray, cmap: str = "gray", vmin: float | None = None,
             vmax: float | None = None, nan_color: Color = OUTSIDE) -> np.ndarray:
    """Map an (H, W) array to (H, W, 3) uint8 colours; vmin/vmax default to the finite range."""
    if cmap not in _MAPS:
        raise ValueError(f"colorize: unknown colour map {cmap!r}; choose from {', '.join(CMAPS)}")
    v = np.asarray(values, np.float64)
    finite = np.isfinite(v)
    lo = float(np.min(v[finite])) if vmin is None and finite.any() else (vmin or 0.0)
    hi = float(np.max(v[finite])) if vmax is None and finite.any() else (vmax or 1.0)
    t = (v - lo) / (hi - lo) if hi > lo else np.full_like(v, 0.5)
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    anchors = _MAPS[cmap]
    pos = t * (len(anchors) - 1)
    i = np.minimum(pos.astype(np.int64), len(anchors) - 2)
    f = (pos - i)[..., None]
    rgb = anchors[i] * (1 - f) + anchors[i + 1] * f
    out = (rgb + 0.5).astype(np.uint8)
    out[~finite] = nan_color
    return out


def color_of(cmap: str, t: float) -> Color:
    """The colour at position t ∈ [0, 1] of a colour map."""
    r, g, b = colorize(np.array([[t]]), cmap, 0.0, 1.0)[0, 0]
    return int(r), int(g), int(b)


def symmetric_limits(values: np.ndarray) -> tuple[float, float]:
    """(−m, m) with m the largest |value|: zero sits at a diverging map's centre."""
    v = np.asarray(values, np.float64)
    m = float(np.max(np.abs(v[np.isfinite(v)]))) if np.isfinite(v).any() else 1.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


# --------------------------------------------------------------------------- composition
def canvas(h: int, w: int, color: Color = WHITE) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    img[:] = color
    return img


def to_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 1|3|4) uint8 as (H, W, 3) (alpha composited on white)."""
    a = as_uint8(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.shape[2] == 1:
        return np.repeat(a, 3, axis=2)
    if a.shape[2] == 4:
        alpha = a[:, :, 3:].astype(np.float64) / 255
        return (a[:, :, :3] * alpha + 255 * (1 - alpha) + 0.5).astype(np.uint8)
    return a[:, :, :3]


def zoom(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement: each pixel becomes a factor × factor block."""
    if factor < 1:
        raise ValueError(f"zoom: factor must be >= 1, got {factor}")
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def paste(dst: np.ndarray, src: np.ndarray, top: int, left: int) -> None:
    """Copy src into dst at (top, left), clipped to dst."""
    h, w = src.shape[:2]
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + h, dst.shape[0]), min(left + w, dst.shape[1])
    if t1 > t0 and l1 > l0:
        dst[t0:t1, l0:l1] = src[t0 - top:t1 - top, l0 - left:l1 - left]


def grid(tiles: Sequence[np.ndarray], ncols: int, gap: int = 2, border: int = 0,
         background: Color = WHITE) -> np.ndarray:
    """Equal-sized (h, w, 3) tiles in rows of `ncols`, `gap` pixels apart."""
    if not tiles:
        raise ValueError("grid: no tiles")
    h, w = tiles[0].shape[:2]
    ncols = max(1, min(ncols, len(tiles)))
    nrows = -(-len(tiles) // ncols)
    out = canvas(2 * border + nrows * h + (nrows - 1) * gap,
                 2 * border + ncols * w + (ncols - 1) * gap, background)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, ncols)
        paste(out, tile, border + r * (h + gap), border + c * (w + gap))
    return out


def stack_vertical(parts: Sequence[np.ndarray], gap: int = 0, align: str = "left",
                   background: Color = WHITE) -> np.ndarray:
    """Images one below the other, aligned left or centred."""
    width = max(p.shape[1] for p in parts)
    out = canvas(sum(p.shape[0] for p in parts) + gap * (len(parts) - 1), width, background)
    top = 0
    for p in parts:
        paste(out, p, top, 0 if align == "left" else (width - p.shape[1]) // 2)
        top += p.shape[0] + gap
    return out


def stack_horizontal(parts: Sequence[np.ndarray], gap: int = 0, align: str = "top",
                     background: Color = WHITE) -> np.ndarray:
    """Images side by side, aligned at the top or centred."""
    height = max(p.shape[0] for p in parts)
    out = canvas(height, sum(p.shape[1] for p in parts) + gap * (len(parts) - 1), background)
    left = 0
    for p in parts:
        paste(out, p, 0 if align == "top" else (height - p.shape[0]) // 2, left)
        left += p.shape[1] + gap
    return out


def pad_image(image: np.ndarray, top: int = 0, bottom: int = 0, left: int = 0, right: int = 0,
              color: Color = WHITE) -> np.ndarray:
    out = canvas(image.shape[0] + top + bottom, image.shape[1] + left + right, color)
    paste(out, image, top, left)
    return out


def rectangle(image: np.ndarray, top: int, left: int, bottom: int, right: int, color: Color,
              width: int = 1) -> None:
    """Outline of the half-open box [top, bottom) × [left, right), drawn inside it, clipped."""
    h, w = image.shape[:2]
    for k in range(width):
        t, b, lft, r = top + k, bottom - 1 - k, left + k, right - 1 - k
        if t > b or lft > r:
            break
        c0, c1 = max(lft, 0), min(r, w - 1) + 1
        r0, r1 = max(t, 0), min(b, h - 1) + 1
        if 0 <= t < h:
            image[t, c0:c1] = color
        if 0 <= b < h:
            image[b, c0:c1] = color
        if 0 <= lft < w:
            image[r0:r1, lft] = color
        if 0 <= r < w:
            image[r0:r1, r] = color


def dots(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, colors: np.ndarray,
         radius: float = 3.0, edge: Color | None = WHITE) -> None:
    """Filled discs at (rows, cols) (floats, pixel units), each with its colour and an edge."""
    h, w = image.shape[:2]
    r = int(np.ceil(radius)) + 1
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    dist = np.hypot(dy, dx)
    for y, x, color in zip(rows, cols, colors, strict=True):
        cy, cx = int(round(float(y))), int(round(float(x)))
        for ring, fill in (((dist <= radius + 1), edge), ((dist <= radius), color)):
            if fill is None:
                continue
            yy, xx = cy + dy[ring], cx + dx[ring]
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            image[yy[ok], xx[ok]] = fill


def line(image: np.ndarray, y0: float, x0: float, y1: float, x1: float, color: Color,
         width: int = 1) -> None:
    """A straight segment, sampled densely enough to leave no gaps."""
    n = int(max(abs(y1 - y0), abs(x1 - x0)) * 2) + 2
    ys, xs = np.linspace(y0, y1, n), np.linspace(x0, x1, n)
    h, w = image.shape[:2]
    lo = -(width // 2)
    for oy in range(lo, lo + width):
        for ox in range(lo, lo + width):
            yy, xx = np.rint(ys).astype(int) + oy, np.rint(xs).astype(int) + ox
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            image[yy[ok], xx[ok]] = color


# ------------------------------------------------------------------------------ bitmap font
# A 5×7 font of our own (an 8th row for descenders), enough for captions: digits, letters and
# common punctuation. '#' is ink.
_GLYPHS = {
    "0": ".###./#...#/#..##/#.#.#/##..#/#...#/.###.",
    "1": "..#../.##../..#../..#../..#../..#../.###.",
    "2": ".###./#...#/....#/...#./..#../.#.../#####",
    "3": "#####/...#./..#../...#./....#/#...#/.###.",
    "4": "...#./..##./.#.#./#..#./#####/...#./...#.",
    "5": "#####/#..../####./....#/....#/#...#/.###.",
    "6": "..##./.#.../#..../####./#...#/#...#/.###.",
    "7": "#####/....#/...#./..#../.#.../.#.../.#...",
    "8": ".###./#...#/#...#/.###./#...#/#...#/.###.",
    "9": ".###./#...#/#...#/.####/....#/...#./.##..",
    "a": "...../...../.###./....#/.####/#...#/.####",
    "b": "#..../#..../#.##./##..#/#...#/#...#/####.",
    "c": "...../...../.###./#..../#..../#...#/.###.",
    "d": "....#/....#/.##.#/#..##/#...#/#...#/.####",
    "e": "...../...../.###./#...#/#####/#..../.###.",
    "f": "..##./.#..#/.#.../###../.#.../.#.../.#...",
    "g": "...../...../.####/#...#/#...#/.####/....#/.###.",
    "h": "#..../#..../#.##./##..#/#...#/#...#/#...#",
    "i": "..#../...../.##../..#../..#../..#../.###.",
    "j": "...#./...../..##./...#./...#./...#./#..#./.##..",
    "k": "#..../#..../#..#./#.#../##.../#.#../#..#.",
    "l": ".##../..#../..#../..#../..#../..#../.###.",
    "m": "...../...../##.#./#.#.#/#.#.#/#...#/#...#",
    "n": "...../...../#.##./##..#/#...#/#...#/#...#",
    "o": "...../...../.###./#...#/#...#/#...#/.###.",
    "p": "...../...../####./#...#/#...#/####./#..../#....",
    "q": "...../...../.####/#...#/#...#/.####/....#/....#",
    "r": "...../...../#.##./##..#/#..../#..../#....",
    "s": "...../...../.####/#..../.###./....#/####.",
    "t": ".#.../.#.../###../.#.../.#.../.#..#/..##.",
    "u": "...../...../#...#/#...#/#...#/#..##/.##.#",
    "v": "...../...../#...#/#...#/#...#/.#.#./..#..",
    "w": "...../...../#...#/#...#/#.#.#/#.#.#/.#.#.",
    "x": "...../...../#...#/.#.#./..#../.#.#./#...#",
    "y": "...../...../#...#/#...#/#...#/.####/....#/.###.",
    "z": "...../...../#####/...#./..#../.#.../#####",
    "A": ".###./#...#/#...#/#####/#...#/#...#/#...#",
    "B": "####./#...#/#...#/####./#...#/#...#/####.",
    "C": ".###./#...#/#..../#..../#..../#...#/.###.",
    "D": "####./#...#/#...#/#...#/#...#/#...#/####.",
    "E": "#####/#..../#..../####./#..../#..../#####",
    "F": "#####/#..../#..../####./#..../#..../#....",
    "G": ".###./#...#/#..../#.###/#...#/#...#/.####",
    "H": "#...#/#...#/#...#/#####/#...#/#...#/#...#",
    "I": ".###./..#../..#../..#../..#../..#../.###.",
    "J": "..###/...#./...#./...#./...#./#..#./.##..",
    "K": "#...#/#..#./#.#../##.../#.#../#..#./#...#",
    "L": "#..../#..../#..../#..../#..../#..../#####",
    "M": "#...#/##.##/#.#.#/#.#.#/#...#/#...#/#...#",
    "N": "#...#/#...#/##..#/#.#.#/#..##/#...#/#...#",
    "O": ".###./#...#/#...#/#...#/#...#/#...#/.###.",
    "P": "####./#...#/#...#/####./#..../#..../#....",
    "Q": ".###./#...#/#...#/#...#/#.#.#/#..#./.##.#",
    "R": "####./#...#/#...#/####./#.#../#..#./#...#",
    "S": ".####/#..../#..../.###./....#/....#/####.",
    "T": "#####/..#../..#../..#../..#../..#../..#..",
    "U": "#...#/#...#/#...#/#...#/#...#/#...#/.###.",
    "V": "#...#/#...#/#...#/#...#/#...#/.#.#./..#..",
    "W": "#...#/#...#/#...#/#.#.#/#.#.#/#.#.#/.#.#.",
    "X": "#...#/#...#/.#.#./..#../.#.#./#...#/#...#",
    "Y": "#...#/#...#/.#.#./..#../..#../..#../..#..",
    "Z": "#####/....#/...#./..#../.#.../#..../#####",
    " ": "...../...../...../...../...../...../.....",
    ".": "...../...../...../...../...../.##../.##..",
    ",": "...../...../...../...../.##../.##../..#../.#...",
    "-": "...../...../...../.###./...../...../.....",
    "+": "...../..#../..#../#####/..#../..#../.....",
    ":": "...../.##../.##../...../.##../.##../.....",
    "%": "##.../##..#/...#./..#../.#.../#..##/...##",
    "(": "...#./..#../.#.../.#.../.#.../..#../...#.",
    ")": ".#.../..#../...#./...#./...#./..#../.#...",
    "=": "...../...../#####/...../#####/...../.....",
    "/": "...../....#/...#./..#../.#.../#..../.....",
    "_": "...../...../...../...../...../...../#####",
    "#": ".#.#./.#.#./#####/.#.#./#####/.#.#./.#.#.",
    "@": ".###./#...#/#.###/#.#.#/#.###/#..../.###.",
    "×": "...../#...#/.#.#./..#../.#.#./#...#/.....",
    "?": ".###./#...#/....#/...#./..#../...../..#..",
    "'": "..#../..#../.#.../...../...../...../.....",
    "!": "..#../..#../..#../..#../..#../...../..#..",
    "<": "...#./..#../.#.../#..../.#.../..#../...#.",
    ">": ".#.../..#../...#./....#/...#./..#../.#...",
    "[": ".###./.#.../.#.../.#.../.#.../.#.../.###.",
    "]": ".###./...#./...#./...#./...#./...#./.###.",
    "±": "..#../..#../#####/..#../..#../...../#####",
    "→": "...../..#../...#./#####/...#./..#../.....",
    "–": "...../...../...../#####/...../...../.....",
}
GLYPH_W, GLYPH_H = 5, 8


def _glyph(ch: str) -> np.ndarray:
    rows = _GLYPHS.get(ch, _GLYPHS.get(ch.lower(), _GLYPHS["?"])).split("/")
    rows += ["....."] * (GLYPH_H - len(rows))
    return np.array([[c == "#" for c in row] for row in rows], np.bool_)


_FONT = {ch: _glyph(ch) for ch in _GLYPHS}


def text_size(text: str, scale: int = 1) -> tuple[int, int]:
    """(height, width) in pixels of `text` drawn on one line."""
    return GLYPH_H * scale, max(len(text) * (GLYPH_W + 1) - 1, 0) * scale


def text_mask(text: str, scale: int = 1) -> np.ndarray:
    """The ink of `text` as an (H, W) bool mask."""
    h, w = text_size(text, 1)
    mask = np.zeros((h, max(w, 1)), np.bool_)
    for k, ch in enumerate(text):
        g = _FONT.get(ch)
        if g is None:
            g = _glyph(ch)
        mask[:, k * (GLYPH_W + 1):k * (GLYPH_W + 1) + GLYPH_W] = g
    return zoom(mask, scale) if scale > 1 else mask


def draw_text(image: np.ndarray, text: str, top: int, left: int, color: Color = INK,
              scale: int = 1, anchor: str = "left") -> None:
    """Draw `text` with its box's top edge at `top`; `left` is the left edge, the centre
    (anchor='center') or the right edge (anchor='right')."""
    mask = text_mask(text, scale)
    if anchor == "center":
        left -= mask.shape[1] // 2
    elif anchor == "right":
        left -= mask.shape[1]
    h, w = image.shape[:2]
    ys, xs = np.nonzero(mask)
    ys, xs = ys + top, xs + left
    ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    image[ys[ok], xs[ok]] = color


def text_image(text: str, scale: int = 1, color: Color = INK, background: Color = WHITE,
               pad: int = 0) -> np.ndarray:
    """A tight picture of `text` on `background`."""
    h, w = text_size(text, scale)
    out = canvas(h + 2 * pad, w + 2 * pad, background)
    draw_text(out, text, pad, pad, color, scale)
    return out


def colorbar(cmap: str, vmin: float, vmax: float, length: int, thickness: int = 12,
             scale: int = 1) -> np.ndarray:
    """A horizontal colour bar with its two limits (and zero, when it lies inside) written
    under it."""
    ramp = colorize(np.tile(np.linspace(vmin, vmax, length), (thickness, 1)), cmap, vmin, vmax)
    rectangle(ramp, 0, 0, thickness, length, (120, 120, 120))
    th = text_size("0", scale)[0]
    out = canvas(thickness + 3 + th, length)
    paste(out, ramp, 0, 0)
    draw_text(out, format_number(vmin), thickness + 3, 0, INK, scale)
    draw_text(out, format_number(vmax), thickness + 3, length, INK, scale, anchor="right")
    if vmin < 0 < vmax:
        x = int(round(-vmin / (vmax - vmin) * (length - 1)))
        out[thickness - 3:thickness + 1, x] = INK
        label_w = text_size(format_number(vmin), scale)[1]
        if x - text_size("0", scale)[1] // 2 > label_w + 4:
            draw_text(out, "0", thickness + 3, x, INK, scale, anchor="center")
    return out


def format_number(v: float) -> str:
    """Short, readable numbers for captions: 3 significant digits."""
    if v == 0 or not np.isfinite(v):
        return str(0 if v == 0 else v)
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.2e}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"
