"""A layered drawing of a DAG (the Sugiyama scheme), in plain Python: no Graphviz needed.

1. Ranks: each node one rank after its latest parent (the topological order's longest path);
   a source (a parameter, an input) moves up to the rank just before its first child.
2. An edge longer than one rank runs through a chain of invisible points, one per rank.
3. Order within each rank: barycentre sweeps, down and up, keeping the order with the fewest
   crossings, then swaps of neighbours while they remove crossings.
4. Positions across the ranks: each node moves towards the mean of its neighbours, under the
   constraint that neighbours in a rank keep their order and do not overlap (an isotonic
   regression, solved exactly by pooling adjacent violators).

Sizes are in pixels. `direction` is Graphviz's rankdir: LR (ranks left to right), TB, RL, BT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DIRECTIONS = ("LR", "TB", "RL", "BT")


@dataclass
class Layout:
    centres: list[tuple[float, float]]          # (x, y) of each node
    routes: list[list[tuple[float, float]]]     # each edge's points, source port to target port
    width: float
    height: float


def layout(sizes: Sequence[tuple[float, float]], edges: Sequence[tuple[int, int]],
           direction: str = "LR", rank_gap: Sequence[float] | float = 48.0,
           node_gap: float = 16.0, margin: float = 12.0) -> Layout:
    """Place nodes of the given (width, height) and route `edges` (source, target indices).

    `rank_gap` may be one number or one per rank (the space after rank r, e.g. for edge labels).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"layout: direction must be one of {', '.join(DIRECTIONS)}, got "
                         f"{direction!r}")
    n = len(sizes)
    horizontal = direction in ("LR", "RL")
    # along: a node's extent along the rank axis; across: along the axis within a rank
    along = [w if horizontal else h for w, h in sizes]
    across = [h if horizontal else w for w, h in sizes]
    rank = _ranks(n, edges)
    # ---- chains of virtual points for long edges
    v_rank = list(rank)
    v_along = list(along)
    v_across = list(across)
    chains: list[list[int]] = []
    for u, v in edges:
        chain = [u]
        for r in range(rank[u] + 1, rank[v]):
            v_rank.append(r)
            v_along.append(0.0)
            v_across.append(2.0)
            chain.append(len(v_rank) - 1)
        chain.append(v)
        chains.append(chain)
    total = len(v_rank)
    up: list[list[int]] = [[] for _ in range(total)]
    down: list[list[int]] = [[] for _ in range(total)]
    for chain in chains:
        for a, b in zip(chain, chain[1:], strict=False):
            down[a].append(b)
            up[b].append(a)
    n_ranks = max(v_rank, default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(n_ranks)]
    for i in _initial_order(total, up, down, v_rank):
        layers[v_rank[i]].append(i)
    layers = _order(layers, up, down)
    pos = _positions(layers, up, down, v_across, node_gap, n)
    # ---- the rank axis
    gaps = [rank_gap] * max(n_ranks, 1) if isinstance(rank_gap, int | float) else list(rank_gap)
    rank_mid: list[float] = []
    cursor = margin
    for r, layer in enumerate(layers):
        thick = max((v_along[i] for i in layer), default=0.0)
        rank_mid.append(cursor + thick / 2)
        cursor += thick + (gaps[r] if r < len(gaps) else gaps[-1])
    extent_along = cursor - (gaps[n_ranks - 1] if n_ranks and n_ranks - 1 < len(gaps) else 0)
    extent_along += margin
    lo = min((pos[i] - v_across[i] / 2 for i in range(total)), default=0.0)
    hi = max((pos[i] + v_across[i] / 2 for i in range(total)), default=0.0)
    shift = margin - lo
    extent_across = hi - lo + 2 * margin

    def point(i: int, end: str | None = None) -> tuple[float, float]:
        a = rank_mid[v_rank[i]]
        if end == "out":
            a += v_along[i] / 2
        elif end == "in":
            a -= v_along[i] / 2
        c = pos[i] + shift
        if direction == "RL" or direction == "BT":
            a = extent_along - a
        return (a, c) if horizontal else (c, a)

    centres = [point(i) for i in range(n)]
    routes = []
    for chain in chains:
        pts = [point(chain[0], "out")] + [point(i) for i in chain[1:-1]]
        pts.append(point(chain[-1], "in"))
        routes.append(pts)
    w, h = (extent_along, extent_across) if horizontal else (extent_across, extent_along)
    return Layout(centres, routes, w, h)


def _ranks(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    parents: list[list[int]] = [[] for _ in range(n)]
    children: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        children[u].append(v)
        parents[v].append(u)
    order = _topological(n, parents, children)
    rank = [0] * n
    for v in order:
        rank[v] = max((rank[u] + 1 for u in parents[v]), default=0)
    for v in reversed(order):  # sources sit just before their first child
        if not parents[v] and children[v]:
            rank[v] = min(rank[c] for c in children[v]) - 1
    return rank


def _topological(n: int, parents: list[list[int]], children: list[list[int]]) -> list[int]:
    indeg = [len(p) for p in parents]
    ready = [v for v in range(n) if indeg[v] == 0]
    order = []
    while ready:
        v = ready.pop(0)
        order.append(v)
        for c in children[v]:
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    if len(order) != n:
        raise ValueError("layout: the graph has a cycle")
    return order


def _initial_order(total: int, up: list[list[int]], down: list[list[int]],
                   rank: list[int]) -> list[int]:
    """Depth-first from the last rank's nodes back through their parents: nodes that feed the
    same child start out next to each other."""
    seen: set[int] = set()
    out: list[int] = []
    sinks = [i for i in range(total) if not down[i]]
    for s in sorted(sinks, key=lambda i: -rank[i]):
        stack = [s]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            out.append(i)
            stack.extend(reversed(up[i]))
    out.extend(i for i in range(total) if i not in seen)
    return out


def _pair_crossings(top: list[int], bottom: list[int], down: list[list[int]]) -> int:
    """Crossings between the edges from rank `top` to the next rank `bottom`."""
    pos = {v: k for k, v in enumerate(bottom)}
    ends = sorted((k, pos[c]) for k, u in enumerate(top) for c in down[u] if c in pos)
    return _inversions([b for _, b in ends])


def _crossings(layers: list[list[int]], down: list[list[int]]) -> int:
    return sum(_pair_crossings(layers[r], layers[r + 1], down) for r in range(len(layers) - 1))


def _inversions(a: list[int]) -> int:
    if len(a) < 2:
        return 0
    mid = len(a) // 2
    left, right = a[:mid], a[mid:]
    count = _inversions(left) + _inversions(right)
    left.sort()
    right.sort()
    j = 0
    for x in left:
        while j < len(right) and right[j] < x:
            j += 1
        count += j
    return count


def _order(layers: list[list[int]], up: list[list[int]], down: list[list[int]]
           ) -> list[list[int]]:
    best = [list(layer) for layer in layers]
    best_c = _crossings(best, down)
    cur = [list(layer) for layer in layers]
    for sweep in range(16 if sum(map(len, layers)) < 400 else 8):
        rng = range(1, len(cur)) if sweep % 2 == 0 else range(len(cur) - 2, -1, -1)
        for r in rng:
            ref = cur[r - 1] if sweep % 2 == 0 else cur[r + 1]
            pos = {v: k for k, v in enumerate(ref)}
            nbrs = up if sweep % 2 == 0 else down

            def key(v: int, pos: dict[int, int] = pos, nbrs: list[list[int]] = nbrs,
                    layer: list[int] = cur[r]) -> float:
                ps = [pos[u] for u in nbrs[v] if u in pos]
                return sum(ps) / len(ps) if ps else float(layer.index(v))

            cur[r] = sorted(cur[r], key=key)
        c = _crossings(cur, down)
        if c < best_c:
            best, best_c = [list(layer) for layer in cur], c
        if best_c == 0:
            break
    # neighbour swaps while they help (only the two rank pairs beside rank r change)
    def local(r: int) -> int:
        c = _pair_crossings(best[r - 1], best[r], down) if r > 0 else 0
        return c + (_pair_crossings(best[r], best[r + 1], down) if r + 1 < len(best) else 0)

    improved, rounds = bool(best_c), 0
    while improved and rounds < 8:
        improved, rounds = False, rounds + 1
        for r in range(len(best)):
            for k in range(len(best[r]) - 1):
                before = local(r)
                if before == 0:
                    break
                best[r][k], best[r][k + 1] = best[r][k + 1], best[r][k]
                if local(r) < before:
                    improved = True
                else:
                    best[r][k], best[r][k + 1] = best[r][k + 1], best[r][k]
    return best


def _place(desired: list[float], sizes: list[float], gap: float,
           weights: list[float]) -> list[float]:
    """Centres closest (weighted least squares) to `desired` that keep the order and don't
    overlap: with u_k = c_k − (the least offset of node k from node 0) the constraints become
    u nondecreasing, an isotonic regression that pooling adjacent violators solves exactly."""
    offs = [0.0]
    for k in range(1, len(sizes)):
        offs.append(offs[-1] + (sizes[k - 1] + sizes[k]) / 2 + gap)
    target = [d - o for d, o in zip(desired, offs, strict=True)]
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for t, w in zip(target, weights, strict=True):
        blocks.append([t * w, w, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, w2, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += w2
            blocks[-1][2] += c
    out: list[float] = []
    for s, w, c in blocks:
        out.extend([s / w] * int(c))
    return [u + o for u, o in zip(out, offs, strict=True)]


def _positions(layers: list[list[int]], up: list[list[int]], down: list[list[int]],
               across: list[float], gap: float, n_real: int) -> dict[int, float]:
    pos: dict[int, float] = {}
    for layer in layers:
        y = 0.0
        for k, v in enumerate(layer):
            if k:
                y += (across[layer[k - 1]] + across[v]) / 2 + gap
            pos[v] = y
        mid = y / 2
        for v in layer:
            pos[v] -= mid

    def weight(a: int, b: int) -> float:
        """How hard neighbour b pulls a: long edges (chains of virtual points) hardest, so they
        run straight; a source (a parameter beside its op) hardly at all, so that the chain of
        computed values stays straight and the sources gather round it."""
        if a >= n_real and b >= n_real:
            return 8.0
        if a >= n_real or b >= n_real:
            return 2.0
        if not up[b] and up[a]:
            return 0.05
        return 1.0

    rounds = 24 if len(pos) < 400 else 10  # big graphs settle sooner than they are drawn
    for it in range(rounds):
        forward = it % 2 == 0
        seq = layers if forward else list(reversed(layers))
        for layer in seq:
            desired = []
            for v in layer:
                nb = (up[v] if forward else down[v]) or (down[v] if forward else up[v])
                if it >= rounds * 2 // 3:  # the last rounds look both ways
                    nb = up[v] + down[v]
                if nb:
                    ws = [weight(v, u) for u in nb]
                    desired.append(sum(pos[u] * w for u, w in zip(nb, ws, strict=True)) / sum(ws))
                else:
                    desired.append(pos[v])
            # sources give way: the chain of computed values keeps its line
            ws = [1.0 if not up[v] else 3.0 if v >= n_real else 6.0 for v in layer]
            placed = _place(desired, [across[v] for v in layer], gap, ws)
            for v, p in zip(layer, placed, strict=True):
                pos[v] = p
    return pos
