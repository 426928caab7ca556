"""Section 4: the convolution operator — the slides' 1-D and 2-D examples by both methods
(translate-and-scale, flip-and-filter) with every step printed and drawn, convolution as a
matrix, its algebra, and the four classic filters on a digit and a photograph.

Everything is computed with `chainrule.signal` (convolve1d/2d, conv_matrix, filter_image); the
steps are spelled out with plain NumPy next to it, so a reader sees the two agree.
"""

from __future__ import annotations

import numpy as np

from chainrule import signal
from chainrule.data._errors import DataError
from chainrule.inspect import _image as im
from chainrule.lecture import Context, Result, example
from chainrule.lecture._s456_util import caption, digits, framed, number_grid, number_text, row
from chainrule.lecture import save_picture as save
from chainrule.lecture._s456_util import text

#: the slides' 1-D example: (2, −1, 1) ∗ (1, 1, 2) = (2, 1, 4, −1, 2)
A1 = np.array([2.0, -1.0, 1.0])
B1 = np.array([1.0, 1.0, 2.0])
#: the slides' 2-D example
A2 = np.array([[1.0, 3.0, 1.0], [0.0, -1.0, 1.0], [2.0, 2.0, -1.0]])
B2 = np.array([[1.0, 2.0], [0.0, -1.0]])
SLIDE_1D = [2.0, 1.0, 4.0, -1.0, 2.0]
SLIDE_2D = [[1.0, 5.0, 7.0, 2.0], [0.0, -2.0, -4.0, 1.0], [2.0, 6.0, 4.0, -3.0],
            [0.0, -2.0, -2.0, 1.0]]


def _vec(v: np.ndarray) -> str:
    return "(" + ", ".join(number_text(x) for x in np.ravel(v)) + ")"


def _mat(m: np.ndarray) -> str:
    return "[" + "; ".join(" ".join(f"{number_text(x):>2}" for x in r) for r in m) + "]"


# ------------------------------------------------------------------------------ 1-D
@example("conv1d-translate-and-scale", section=4,
         title="1-D convolution, method 1: translate-and-scale", slide="Convolution Operator")
def conv1d_translate_and_scale(ctx: Context) -> Result:
    n = len(A1) + len(B1) - 1
    terms = []
    for tau, a_tau in enumerate(A1):  # a_τ times b shifted right by τ
        shifted = np.zeros(n)
        shifted[tau:tau + len(B1)] = B1
        terms.append((tau, a_tau, shifted, a_tau * shifted))
    total = sum(t[3] for t in terms)
    library = signal.convolve1d(A1, B1).detach().numpy()
    lines = [f"a = {_vec(A1)}, b = {_vec(B1)}; (a * b)_t = sum_tau a_tau b_(t-tau)"]
    lines += [f"  a_{tau} x (b shifted by {tau}) = {number_text(a)} x {_vec(s)} = {_vec(p)}"
              for tau, a, s, p in terms]
    lines += [f"  sum                                   = {_vec(total)}",
              f"chainrule.signal.convolve1d(a, b)       = {_vec(library)}",
              f"the slide                               = {_vec(np.array(SLIDE_1D))}"]
    result = Result(
        says="(a * b)_t = sum_tau a_tau b_(t-tau). Translate-and-scale: (2, -1, 1) * (1, 1, 2) "
             "is 2 x (b shifted 0) + (-1) x (b shifted 1) + 1 x (b shifted 2) = "
             "(2, 1, 4, -1, 2).",
        lines=lines,
        measured={"steps": [p.tolist() for *_, p in terms], "sum": total.tolist(),
                  "convolve1d": library.tolist()},
    )
    if ctx.out is not None:
        m = 4.0
        rows = []
        for tau, a, s, p in terms:
            blank = s == 0
            rows.append(row([f"{number_text(a):>2} x", number_grid(s, vmax=m, blank=blank),
                             "=", number_grid(p, vmax=m, blank=blank),
                             text(f"a_{tau} x b shifted by {tau}")]))
        # the sum, under the products: a blank where the multipliers and shifted b's are
        width = rows[0].shape[1] - number_grid(total).shape[1] - text(
            "a_0 x b shifted by 0").shape[1] - 8
        sum_row = row([number_grid(total, vmax=m), text("a * b: the sum")])
        rows.append(im.pad_image(sum_row, 4, 0, width - 8))
        save(ctx, result, "4-conv1d-translate-and-scale.png",
             framed(im.stack_vertical(rows, gap=6),
                    "(2,-1,1) * (1,1,2): translate-and-scale"))
    return result


@example("conv1d-flip-and-filter", section=4,
         title="1-D convolution, method 2: flip-and-filter", slide="Convolution Operator")
def conv1d_flip_and_filter(ctx: Context) -> Result:
    k = len(B1)
    flipped = B1[::-1]
    padded = np.concatenate([np.zeros(k - 1), A1, np.zeros(k - 1)])
    outputs = []
    lines = [f"flip b: {_vec(B1)} -> {_vec(flipped)}; pad a with {k - 1} zeros on each side: "
             f"{_vec(padded)}",
             "slide the flipped b along a; each output is a dot product:"]
    for t in range(len(padded) - k + 1):
        window = padded[t:t + k]
        value = float(window @ flipped)
        outputs.append(value)
        products = " + ".join(f"{number_text(x)}*{number_text(f)}"
                              for x, f in zip(window, flipped, strict=True))
        lines.append(f"  t = {t}: {_vec(window)} . {_vec(flipped)} = {products} = "
                     f"{number_text(value)}")
    library = signal.correlate1d(A1, flipped).detach().numpy()
    lines += [f"result {_vec(np.array(outputs))}; correlate1d(a, flip(b)) = {_vec(library)}; "
              f"convolve1d(a, b) = {_vec(signal.convolve1d(A1, B1).detach().numpy())}"]
    result = Result(
        says="Flip-and-filter: flip b, slide it along a and take dot products; this gives the "
             "same (2, 1, 4, -1, 2). (Conv layers compute the filtering without the flip: a "
             "correlation.)",
        lines=lines,
        measured={"flipped": flipped.tolist(), "outputs": outputs,
                  "correlate_flipped": library.tolist()},
    )
    if ctx.out is not None:
        m = 4.0
        steps = []
        for t, value in enumerate(outputs):
            kernel_row = np.zeros(len(padded))
            kernel_row[t:t + k] = flipped
            grid_a = number_grid(padded, vmax=m, boxes=[(0, t, 1, k)])
            grid_k = number_grid(kernel_row, vmax=m, blank=kernel_row == 0)
            steps.append(row([caption(im.stack_vertical([grid_a, grid_k], gap=2),
                                      f"t = {t}: a (padded) over flip(b)"), "->",
                              number_grid([value], vmax=m)]))
        save(ctx, result, "4-conv1d-flip-and-filter.png",
             framed(im.stack_vertical(steps, gap=8), "(2,-1,1) * (1,1,2): flip-and-filter"))
    return result


@example("conv-as-matrix", section=4, title="Convolution as matrix multiplication",
         slide="Convolution Operator")
def conv_as_matrix(ctx: Context) -> Result:
    m1 = signal.conv_matrix(B1, len(A1)).detach().numpy()
    y1 = m1 @ A1
    slide_matrix = np.array([[1, 0, 0], [1, 1, 0], [2, 1, 1], [0, 2, 1], [0, 0, 2]], float)
    m2 = signal.conv_matrix(B2, A2.shape).detach().numpy()
    y2 = (m2 @ A2.ravel()).reshape(4, 4)
    direct2 = signal.convolve2d(A2, B2).detach().numpy()
    lines = ["M = conv_matrix(b, 3): M[t, tau] = b_(t-tau) (Toeplitz)"]
    lines += [f"  {_vec(r)}" for r in m1]
    lines += [f"M a = {_vec(y1)} (the slide's matrix: {np.array_equal(m1, slide_matrix)}; "
              f"convolve1d: {_vec(signal.convolve1d(A1, B1).detach().numpy())})",
              f"2-D: conv_matrix(B, (3, 3)) has shape {m2.shape} (one row per output, one "
              f"column per input pixel, doubly block Toeplitz), {int((m2 != 0).sum())} non-zeros",
              f"  M vec(A) reshaped to 4x4 = {_mat(y2)}",
              f"  equals convolve2d(A, B): {np.array_equal(y2, direct2)}"]
    result = Result(
        says="Convolution can also be viewed as matrix multiplication: (2, -1, 1) * (1, 1, 2) "
             "= [[1], [1, 1], [2, 1, 1], [2, 1], [2]] (2, -1, 1)^T. This is how convolution "
             "is typically implemented.",
        lines=lines,
        measured={"matrix": m1.tolist(), "product": y1.tolist(),
                  "matrix_2d_shape": m2.shape, "product_2d": y2.tolist()},
    )
    if ctx.out is not None:
        blank = m1 == 0
        pic = row([number_grid(m1, vmax=4, blank=blank), "x",
                   number_grid(A1[:, None], vmax=4), "=", number_grid(y1[:, None], vmax=4)])
        save(ctx, result, "4-conv-as-matrix.png",
             framed(pic, "(2,-1,1) * (1,1,2) as a matrix product"))
    return result


@example("conv-properties", section=4, title="Commutativity and distributivity",
         slide="Convolution Operator")
def conv_properties(ctx: Context) -> Result:
    rng = np.random.default_rng(ctx.seed)
    lam1, lam2 = 2.0, -3.0
    cases = [("the slide's 1-D signals", A1, B1, np.array([0.5, -1.0, 4.0]), signal.convolve1d),
             ("the slide's 2-D arrays", A2, B2, np.array([[1.0, -2.0], [3.0, 0.5]]),
              signal.convolve2d)]
    for n, k in ((50, 7), (200, 31)) if not ctx.quick else ((50, 7),):
        cases.append((f"random 1-D, lengths {n} and {k}", rng.standard_normal(n),
                      rng.standard_normal(k), rng.standard_normal(k), signal.convolve1d))
    cases.append(("random 2-D, 28x28 and 5x5", rng.standard_normal((28, 28)),
                  rng.standard_normal((5, 5)), rng.standard_normal((5, 5)), signal.convolve2d))
    lines = [f"float64; distributivity with lambda1 = {lam1:g}, lambda2 = {lam2:g}",
             "case                                max |a*b - b*a|   max |a*(l1 b + l2 c) - "
             "(l1 a*b + l2 a*c)|"]
    comm, dist = [], []
    for name, a, b, c, conv in cases:
        ab = conv(a, b).detach().numpy()
        ba = conv(b, a).detach().numpy()  # b is the kernel's shape; full mode has room for both
        left = conv(a, lam1 * b + lam2 * c).detach().numpy()
        right = lam1 * ab + lam2 * conv(a, c).detach().numpy()
        comm.append(float(np.max(np.abs(ab - ba))))
        dist.append(float(np.max(np.abs(left - right))))
        lines.append(f"{name:<35} {comm[-1]:>15.2e}   {dist[-1]:>12.2e}")
    return Result(
        says="Some properties of convolution: commutativity a * b = b * a; distributivity "
             "a * (lambda1 b + lambda2 c) = lambda1 a * b + lambda2 a * c.",
        lines=lines + ["(0 or rounding error of float64: both hold)"],
        measured={"commutativity_errors": comm, "distributivity_errors": dist,
                  "cases": [c[0] for c in cases]},
    )


# ------------------------------------------------------------------------------ 2-D
@example("conv2d-translate-and-scale", section=4,
         title="2-D convolution, method 1: translate-and-scale", slide="2-D Convolution Operator")
def conv2d_translate_and_scale(ctx: Context) -> Result:
    out_shape = (A2.shape[0] + B2.shape[0] - 1, A2.shape[1] + B2.shape[1] - 1)
    terms = []
    for (s, t), b_st in np.ndenumerate(B2):  # B_st times A shifted down s, right t
        shifted = np.zeros(out_shape)
        shifted[s:s + A2.shape[0], t:t + A2.shape[1]] = A2
        terms.append((s, t, b_st, shifted))
    total = sum(b * sh for *_, b, sh in terms)
    library = signal.convolve2d(A2, B2).detach().numpy()
    lines = [f"A = {_mat(A2)}, B = {_mat(B2)}; (A * B)_ij = sum_s sum_t A_st B_(i-s, j-t)",
             "by commutativity, A * B = B * A = sum over B's entries of B_st x (A shifted "
             "down s, right t):"]
    lines += [f"  B_{s}{t} = {number_text(b):>2}: {number_text(b)} x shift(A, {s}, {t}) = "
              f"{_mat(b * sh)}" for s, t, b, sh in terms]
    lines += [f"  sum                 = {_mat(total)}",
              f"  convolve2d(A, B)    = {_mat(library)}",
              f"  the slide           = {_mat(np.array(SLIDE_2D))}"]
    result = Result(
        says="(A * B)_ij = sum_s sum_t A_st B_(i-s, j-t). Translate-and-scale: A * B is the sum "
             "of copies of A shifted by each position of B and scaled by B's entry there "
             "(1 x A + 2 x A shifted right + (-1) x A shifted right and down; the 0 adds "
             "nothing).",
        lines=lines,
        measured={"terms": [(b * sh).tolist() for *_, b, sh in terms], "sum": total.tolist(),
                  "convolve2d": library.tolist()},
    )
    if ctx.out is not None:
        m = 7.0
        panels: list[np.ndarray | str] = []
        for k, (s, t, b, sh) in enumerate(terms):
            outside = np.ones(out_shape, bool)  # where the shifted copy of A is not
            outside[s:s + A2.shape[0], t:t + A2.shape[1]] = False
            panel = caption(number_grid(b * sh, vmax=m, blank=outside,
                                        boxes=[(s, t, *A2.shape)]),
                            f"{number_text(b)} x A at ({s},{t})")
            panels += (["+"] if k else []) + [panel]
        panels += ["=", caption(number_grid(total, vmax=m), "A * B")]
        top = row([caption(number_grid(A2, vmax=m), "A"), "*",
                   caption(number_grid(B2, vmax=m), "B")])
        save(ctx, result, "4-conv2d-translate-and-scale.png",
             framed(im.stack_vertical([top, row(panels)], gap=12),
                    "2-D convolution: translate-and-scale"))
    return result


@example("conv2d-flip-and-filter", section=4,
         title="2-D convolution, method 2: flip-and-filter", slide="2-D Convolution Operator")
def conv2d_flip_and_filter(ctx: Context) -> Result:
    kh, kw = B2.shape
    flipped = B2[::-1, ::-1]
    padded = np.pad(A2, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    out = np.zeros((padded.shape[0] - kh + 1, padded.shape[1] - kw + 1))
    lines = [f"flip B in both directions: {_mat(B2)} -> {_mat(flipped)}",
             f"pad A with {kh - 1} row/column of zeros on each side: {_mat(padded)}",
             "slide flip(B) over it; each output is the sum of the products it covers:"]
    for (i, j), _ in np.ndenumerate(out):
        window = padded[i:i + kh, j:j + kw]
        out[i, j] = float(np.sum(window * flipped))
        products = " + ".join(f"{number_text(x)}*{number_text(f)}"
                              for x, f in zip(window.ravel(), flipped.ravel(), strict=True))
        lines.append(f"  (A * B)_{i}{j} = {products} = {number_text(out[i, j])}")
    library = signal.correlate2d(A2, flipped).detach().numpy()
    lines += [f"result {_mat(out)}", f"correlate2d(A, flip(B)) = {_mat(library)}",
              f"equals the slide's: {np.array_equal(out, np.array(SLIDE_2D))}"]
    result = Result(
        says="Flip-and-filter: flip the kernel B in both directions and slide it over A; each "
             "output is the sum of the elementwise products. Same result as translate-and-"
             "scale.",
        lines=lines,
        measured={"flipped": flipped.tolist(), "result": out.tolist(),
                  "correlate_flipped": library.tolist()},
    )
    if ctx.out is not None:
        m = 7.0
        tiles = []
        for (i, j), v in np.ndenumerate(out):
            g = number_grid(padded, vmax=m, cell=25, boxes=[(i, j, kh, kw)])
            products = (padded[i:i + kh, j:j + kw] * flipped).ravel()
            terms = number_text(products[0]) + "".join(
                f"+{number_text(p)}" if p >= 0 else f"-{number_text(-p)}" for p in products[1:])
            tiles.append(caption(g, f"({i},{j}): {terms}={number_text(v)}"))
        body = im.grid(tiles, 4, gap=10)
        head = row([caption(number_grid(flipped, vmax=m), "flip(B), slid over"),
                    caption(number_grid(padded, vmax=m), "A padded with zeros"), "=",
                    caption(number_grid(out, vmax=m), "A * B")])
        save(ctx, result, "4-conv2d-flip-and-filter.png",
             framed(im.stack_vertical([head, body], gap=14),
                    "2-D convolution: flip-and-filter (orange: where flip(B) sits)"))
    return result


# ------------------------------------------------------------------------------ filters
#: the four filters of the slides "What does this filter do?", with the answer
FILTERS = [("blur", "blur: a weighted average of each pixel and its 4 neighbours"),
           ("sharpen", "sharpen: 4 x the image + the edge filter (edges added back in)"),
           ("edge", "edges: the Laplacian, 0 where the image is flat"),
           ("sobel_x", "vertical edges (Sobel): a horizontal derivative")]


def _grace_hopper(step: int) -> tuple[np.ndarray | None, str]:
    """The grey photograph of Grace Hopper that ships with matplotlib, every `step`-th pixel
    (block-averaged), in [0, 1]; None and the reason when matplotlib is missing."""
    try:
        import matplotlib.cbook as cbook
        import matplotlib.image as mpimg
    except ImportError:
        return None, ("the photograph (matplotlib's sample data) is skipped: matplotlib is not "
                      "installed (pip install chainrule[plot])")
    path = str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    rgb = np.asarray(mpimg.imread(path), np.float64)
    grey = (rgb[..., :3] @ np.array([0.299, 0.587, 0.114])) / 255.0
    h, w = grey.shape[0] // step * step, grey.shape[1] // step * step
    small = grey[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3))
    return small, (f"photograph: matplotlib's sample data grace_hopper.jpg, grey, "
                   f"{grey.shape[0]}x{grey.shape[1]} averaged down to {small.shape[0]}x"
                   f"{small.shape[1]}")


def _roughness(x: np.ndarray) -> float:
    """Mean squared difference between neighbouring pixels: the energy of the fine detail,
    which a blur (an average) lowers and a sharpening raises."""
    return float(np.mean(np.diff(x, axis=0) ** 2) + np.mean(np.diff(x, axis=1) ** 2))


def _detail(stats: dict[str, float]) -> str:
    return (f"mean squared neighbour difference {stats['roughness_image']:.4f}; after blur "
            f"{stats['roughness_blur']:.4f} (smoother), after sharpen "
            f"{stats['roughness_sharpen']:.4f} (sharper)")


def _filtered(image: np.ndarray, zoom: int) -> tuple[list[np.ndarray], dict[str, float]]:
    """The image and its four filtered versions as grey tiles (the zero-sum filters on a
    mid-grey zero), with what blurring and sharpening did to its fine detail."""
    tiles = [im.zoom(im.colorize(image, "gray", 0.0, 1.0), zoom)]
    inside = (slice(1, -1), slice(1, -1))  # away from the zero padding of the border
    stats = {"roughness_image": _roughness(image[inside])}
    for key, _ in FILTERS:
        y = signal.filter_image(image, key, normalize=True).detach().numpy()
        if key in ("blur", "sharpen"):
            stats[f"roughness_{key}"] = _roughness(y[inside])
            tile = im.colorize(y, "gray", 0.0, 1.0)
        else:
            m = float(np.percentile(np.abs(y[inside]), 99.5)) or 1.0
            tile = im.colorize(y, "gray", -m, m)
        tiles.append(im.zoom(tile, zoom))
    return tiles, stats


def _table(rows: list[tuple[str, list[np.ndarray]]]) -> np.ndarray:
    """Rows of tiles under the column headers, each row named on its left."""
    heads = ["image", "blur", "sharpen", "edges (Laplacian)", "vertical edges (Sobel)"]
    names = [im.text_image(name) for name, _ in rows]
    name_w = max(n.shape[1] for n in names) + 10
    columns = []
    for j, head in enumerate(heads):
        parts = [im.pad_image(im.text_image(head), 0, 4)] + [tiles[j] for _, tiles in rows]
        columns.append(im.stack_vertical(parts, gap=10, align="center"))
    body = im.stack_horizontal(columns, gap=10)
    # the row names, centred on their rows
    top = im.text_size("x")[0] + 4 + 10
    label = im.canvas(body.shape[0], name_w)
    for (_, tiles), n in zip(rows, names, strict=True):
        h = max(t.shape[0] for t in tiles)
        im.paste(label, n, top + (h - n.shape[0]) // 2, 0)
        top += h + 10
    return im.stack_horizontal([label, body])


@example("classic-filters", section=4,
         title="The four classic filters on an MNIST digit and a photograph",
         slide="2-D Convolution Operator")
def classic_filters(ctx: Context) -> Result:
    lines = ["the kernels (as on the slides; filter_image(..., normalize=True) divides blur by "
             "8, sharpen by 4, edge and Sobel by the sum of |k|):"]
    for key, answer in FILTERS:
        k = signal.get_kernel(key)
        lines.append(f"  {key:<8} {_mat(k)}  sum {number_text(float(k.sum())):>2}  -> {answer}")
    # What each does, checked on two synthetic images: a vertical and a horizontal step edge.
    vertical = np.zeros((7, 7))
    vertical[:, 4:] = 1.0
    horizontal = vertical.T.copy()
    sobel_v = signal.filter_image(vertical, "sobel_x").detach().numpy()[1:-1, 1:-1]
    sobel_h = signal.filter_image(horizontal, "sobel_x").detach().numpy()[1:-1, 1:-1]
    flat = signal.filter_image(np.full((7, 7), 0.6), "edge").detach().numpy()[1:-1, 1:-1]
    lines += [f"Sobel on a vertical step edge: responses {sorted(set(sobel_v.ravel().tolist()))}"
              f" (non-zero only beside the edge); on a horizontal one: max |response| "
              f"{np.abs(sobel_h).max():g}",
              f"edge filter on a flat image (inside the border): max |response| "
              f"{np.abs(flat).max():g}"]
    measured: dict[str, object] = {
        "kernel_sums": {key: float(signal.get_kernel(key).sum()) for key, _ in FILTERS},
        "sobel_vertical_edge_max": float(np.abs(sobel_v).max()),
        "sobel_horizontal_edge_max": float(np.abs(sobel_h).max()),
        "edge_on_flat_max": float(np.abs(flat).max())}
    rows: list[tuple[str, list[np.ndarray]]] = []
    try:
        test, note = digits(ctx, train=False)
    except DataError as e:  # neither MNIST nor scikit-learn: no digit, say why
        lines.append(f"the digit is skipped: {e}")
    else:
        if note:
            lines.append(note)
        digit = test.data[0].astype(np.float64) / 255.0
        tiles, stats = _filtered(digit, 5)
        rows.append((f"{getattr(test, 'name', 'MNIST')} test digit 0", tiles))
        measured["digit"] = stats
        lines.append(f"digit {digit.shape[0]}x{digit.shape[1]}: {_detail(stats)}")
    photo, why = _grace_hopper(4)
    lines.append(why)
    if photo is not None:
        tiles, stats = _filtered(photo, 1)
        rows.append(("Grace Hopper", tiles))
        measured["photo"] = stats
        lines.append(f"photograph: {_detail(stats)}")
    result = Result(
        says="We convolve an input by a kernel, or filter. What does this filter do? "
             "[[0,1,0],[1,4,1],[0,1,0]]: blur; [[0,-1,0],[-1,8,-1],[0,-1,0]]: sharpen; "
             "[[0,-1,0],[-1,4,-1],[0,-1,0]]: edge detection; [[1,0,-1],[2,0,-2],[1,0,-1]]: "
             "vertical edge detection (Sobel).",
        lines=lines, measured=measured)
    if ctx.out is not None and rows:
        pic = framed(_table(rows), "The slides' four filters (edges: mid-grey is 0)")
        # Every colour used is a grey: store one channel, a third of the bytes.
        save(ctx, result, "4-classic-filters.png", pic[..., 0])
    return result
