"""Windows over a scene and their seamless blending, in strips so that no scene-sized array is ever held.

A scene of any size is cut into square windows of ``window`` pixels that overlap by ``overlap`` pixels
(:func:`window_starts`; the last row and column of windows are moved inside the scene, so they may overlap
more). A model's score map of each window is weighted by a raised-cosine (Hann) taper that rises from ~0 to 1
across the overlap on every side that faces another window (:func:`taper`); where two windows overlap by exactly
``overlap`` the weights sum to one (sin^2 + cos^2), so the blended map is continuous across window edges and a
model whose output is constant gives the same constant everywhere. Sides on the scene border are not tapered,
and with ``overlap = 0`` every weight is 1: the blend is then the tile-by-tile prediction, bit for bit.

:class:`StripBlender` accumulates weighted scores row-major and hands finished rows (those no later window can
reach) to a callback, in strips aligned to the output's block height; its memory is one window row of the scene
(window x width), not the scene. :class:`StripLabels` labels connected landslide pixels strip by strip,
merges labels across strip edges (union-find) and hands back each landslide's polygon as soon as no later strip
can reach it; :class:`InstanceMerger` merges
Mask R-CNN instances that a window edge cut into pieces (or that two overlapping windows both found).

Blending overlapping tiles with a smooth window is the usual remedy for seams in tiled CNN inference (e.g. the
overlap-tile strategy of the U-Net paper, Ronneberger et al. 2015); the project's choices are in
docs/methods.md, "Whole-scene prediction".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from rasterio.features import shapes
from rasterio.transform import Affine
from scipy import ndimage
from shapely.geometry import shape
from shapely.ops import unary_union

__all__ = ["window_starts", "window_grid", "taper", "window_weight", "StripBlender", "StripLabels",
           "InstanceMerger", "Piece"]

_FOUR = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)


def window_starts(length: int, *, window: int, overlap: int) -> list[int]:
    """Offsets of the windows along one axis of ``length`` pixels: every ``window - overlap`` pixels, the last
    moved back so that it ends at the scene edge (``[0]`` when the scene is not longer than a window)."""
    if window <= 0:
        raise ValueError(f"window must be positive, got {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, window), got {overlap} with window {window}")
    if length <= window:
        return [0]
    stride = window - overlap
    starts = list(range(0, length - window, stride))
    starts.append(length - window)
    return starts


def window_grid(height: int, width: int, *, window: int, overlap: int) -> list[tuple[int, int]]:
    """``(row_off, col_off)`` of every window, row-major."""
    rows = window_starts(height, window=window, overlap=overlap)
    cols = window_starts(width, window=window, overlap=overlap)
    return [(r, c) for r in rows for c in cols]


def taper(n: int, *, overlap: int, start: bool, end: bool) -> np.ndarray:
    """1-D weights of a window of ``n`` pixels: ``sin^2(pi (i + 0.5) / (2 overlap))`` over the first ``overlap``
    pixels when ``start`` (a window lies before it), mirrored at the end when ``end``, 1 elsewhere."""
    w = np.ones(n, np.float32)
    k = min(overlap, n)
    if k > 0:
        ramp = np.sin(np.pi * (np.arange(k) + 0.5) / (2 * k)).astype(np.float32) ** 2
        if start:
            w[:k] = np.minimum(w[:k], ramp)
        if end:
            w[n - k:] = np.minimum(w[n - k:], ramp[::-1])
    return w


def window_weight(shape: tuple[int, int], *, row_off: int, col_off: int, height: int, width: int,
                  overlap: int) -> np.ndarray:
    """(h, w) float32 blending weight of the window at ``(row_off, col_off)`` of a ``height`` x ``width`` scene:
    tapered on each side that faces another window, flat on the scene border."""
    h, w = shape
    rows = taper(h, overlap=overlap, start=row_off > 0, end=row_off + h < height)
    cols = taper(w, overlap=overlap, start=col_off > 0, end=col_off + w < width)
    return rows[:, None] * cols[None, :]


Emit = Callable[[int, np.ndarray, np.ndarray], None]


class StripBlender:
    """Weighted accumulation of window scores, emitted as finished strips of rows.

    The buffers hold the rows between the last emitted one and the lowest row a window has reached: allocated
    once for ``rows`` rows (a window row and the unaligned rest, ``window + align - 1``, when streaming a scene)
    and reused, rows moved up in place as strips are emitted, so no window row allocates a scene-wide array again
    (grown, doubling, only when a window reaches further).

    Args:
        height, width: the scene (or area) grid.
        emit: ``emit(row0, score, valid)`` receives consecutive strips (float32 blended score, 0 where no
            valid pixel contributed; bool valid) from row 0 to ``height``, each exactly once; the arrays are the
            callback's own (it may change them in place).
        align: strips end on multiples of this many rows (the GeoTIFF block height) except the last, so a tiled
            output's blocks are each written once; with ``align > 1`` a strip is at most ``align`` rows.
        rows: rows to allocate at the first window (default: grown as windows arrive).
    """

    def __init__(self, *, height: int, width: int, emit: Emit, align: int = 1, rows: int = 0) -> None:
        self.height, self.width, self.emit, self.align = int(height), int(width), emit, max(1, int(align))
        self.top = 0  # the scene row of buffer row 0 (rows above it were emitted)
        self.rows = 0  # buffer rows in use
        cap = min(max(0, int(rows)), self.height)
        self.acc = np.zeros((cap, self.width), np.float32)
        self.wsum = np.zeros((cap, self.width), np.float32)  # > 0 exactly where a valid pixel contributed

    @property
    def buffered_rows(self) -> int:
        return self.rows

    def _reserve(self, need: int) -> None:
        """Make buffer rows ``[rows, need)`` available (zeros), growing the allocation when it is too small."""
        if need <= self.rows:
            return
        if need > self.acc.shape[0]:
            cap = min(max(need, 2 * self.acc.shape[0]), max(need, self.height - self.top))
            for name in ("acc", "wsum"):
                old, new = getattr(self, name), np.zeros((cap, self.width), np.float32)
                new[:self.rows] = old[:self.rows]
                setattr(self, name, new)
        self.rows = need

    def add(self, *, row_off: int, col_off: int, score: np.ndarray, weight: np.ndarray, valid: np.ndarray) -> None:
        """Add one window's score map with its weight; only its valid pixels count. The part outside the grid
        (padding of windows larger than the scene) is dropped."""
        h, w = score.shape
        r0, r1 = max(row_off, 0), min(row_off + h, self.height)
        c0, c1 = max(col_off, 0), min(col_off + w, self.width)
        if r0 >= r1 or c0 >= c1:
            return
        if r0 < self.top:
            raise ValueError(f"window at row {row_off} reaches rows already emitted (up to {self.top}); add "
                             "windows in row-major order")
        self._reserve(r1 - self.top)
        sl = (slice(r0 - row_off, r1 - row_off), slice(c0 - col_off, c1 - col_off))
        wv = np.where(valid[sl], weight[sl], np.float32(0))
        tgt = (slice(r0 - self.top, r1 - self.top), slice(c0, c1))
        self.acc[tgt] += wv * score[sl]
        self.wsum[tgt] += wv

    def finish_before(self, row: int) -> None:
        """Rows above ``row`` are final (no later window reaches them): emit them, in aligned strips."""
        row = min(int(row), self.height)
        end = row if row >= self.height else (row // self.align) * self.align
        if end <= self.top:
            return
        n = end - self.top
        self._reserve(n)  # rows no window covered are emitted as invalid
        step = self.align if self.align > 1 else n
        for a in range(0, n, step):
            b = min(a + step, n)
            wsum, acc = self.wsum[a:b], self.acc[a:b]
            valid = wsum > 0
            self.emit(self.top + a, np.divide(acc, wsum, out=np.zeros_like(acc), where=valid), valid)
        self._drop(n)
        self.top = end

    def _drop(self, n: int) -> None:
        """Forget the first ``n`` buffer rows: move the rest up, in chunks that never overlap, and clear the
        freed rows."""
        keep = self.rows - n
        chunk = max(1, min(n, 64))
        for buf in (self.acc, self.wsum):
            for a in range(0, keep, chunk):
                b = min(a + chunk, keep)
                buf[a:b] = buf[n + a:n + b]
            buf[keep:self.rows] = 0
        self.rows = keep

    def close(self) -> None:
        """Emit every remaining row (rows no window covered are emitted as invalid)."""
        self.finish_before(self.height)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        p = self.parent
        while p[i] != i:
            p[i] = p[p[i]]
            i = p[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        """The members of each set, sets in order of their smallest member."""
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return [out[root] for root in sorted(out)]


@dataclass
class _Component:
    pixels: int = 0
    score_sum: float = 0.0
    first: tuple[int, int] = (0, 0)  # (row, col) of its first pixel, row-major
    geoms: list = field(default_factory=list)


class StripLabels:
    """Connected landslide pixels (4-connected, as :func:`landslide_utils.evaluation.test_area` vectorises) over strips of
    rows, merged across strip edges; one polygon per component with its pixel count and mean score.

    Streaming: a component is handed back (by :meth:`add`) as soon as a strip leaves it closed (no pixel of it on
    the strip's last row), and only the components still open on that row are kept, so memory is bounded by the
    scene's width, not by the number of landslides. Components come in the order they close, and within one
    strip in order of their first pixel (row-major).

    Args:
        transform: the scene grid's geotransform (row 0 = its top).
    """

    def __init__(self, *, transform: Affine) -> None:
        self.transform = transform
        self._open: list[_Component] = []  # components with a pixel on the previous strip's last row
        self._last_row: np.ndarray | None = None  # their index on that row (-1 = none)
        self._next_row = 0

    def add(self, row0: int, mask: np.ndarray, score: np.ndarray) -> list[tuple[object, int, float]]:
        """Add the strip of rows starting at ``row0`` (strips must come in order, without gaps); return the
        components it closed as ``(geometry, pixels, mean score)``."""

        if row0 != self._next_row:
            raise ValueError(f"strip starts at row {row0}, expected {self._next_row}")
        self._next_row = row0 + mask.shape[0]
        if not mask.shape[0]:
            return []
        labels, n = ndimage.label(mask, structure=_FOUR, output=np.int32)
        parts = [_Component() for _ in range(n)]
        if n:  # temporaries the size of the landslide pixels, not of the strip
            flat = labels.ravel()
            at = np.flatnonzero(flat)
            ids = flat[at]
            counts = np.bincount(ids, minlength=n + 1)
            sums = np.bincount(ids, weights=np.ravel(score)[at], minlength=n + 1)
            _, first = np.unique(ids, return_index=True)  # labels number pixels row-major: 1..n in order
            width = mask.shape[1]
            for i in range(n):
                parts[i].pixels, parts[i].score_sum = int(counts[i + 1]), float(sums[i + 1])
                parts[i].first = (row0 + int(at[first[i]]) // width, int(at[first[i]]) % width)
            del flat, at, ids
            tr = self.transform @ Affine.translation(0, row0)
            for geom, val in shapes(labels, mask=mask, connectivity=4, transform=tr):
                parts[int(val) - 1].geoms.append(shape(geom))
        # one union-find over this strip's parts (0..n-1) and the components open above it (n..)
        uf = _UnionFind()
        for _ in range(n + len(self._open)):
            uf.add()
        if self._last_row is not None:
            above, below = self._last_row, labels[0].astype(np.int64) - 1
            both = (above >= 0) & (below >= 0)
            for a, b in set(zip(above[both].tolist(), below[both].tolist())):
                uf.union(n + a, b)
        members = parts + self._open
        touching = set((np.unique(labels[-1][labels[-1] > 0]) - 1).tolist())
        still_open: list[_Component] = []
        index: dict[int, int] = {}  # part -> its component's index in still_open
        closed: list[_Component] = []
        for group in uf.groups():
            comp = _merge([members[i] for i in group])
            if any(i < n and i in touching for i in group):
                for i in group:
                    if i < n:
                        index[i] = len(still_open)
                still_open.append(comp)
            else:
                closed.append(comp)
        self._open = still_open
        lut = np.full(n + 1, -1, np.int64)
        for part, k in index.items():
            lut[part + 1] = k
        self._last_row = lut[labels[-1]]
        return [_finished(c) for c in sorted(closed, key=lambda c: c.first)]

    def finish(self) -> list[tuple[object, int, float]]:
        """The components still open after the last strip (those on the scene's bottom row), as :meth:`add`."""
        out = [_finished(c) for c in sorted(self._open, key=lambda c: c.first)]
        self._open, self._last_row = [], None
        return out


def _merge(parts: list[_Component]) -> _Component:
    if len(parts) == 1:
        return parts[0]
    return _Component(sum(p.pixels for p in parts), sum(p.score_sum for p in parts), min(p.first for p in parts),
                      [g for p in parts for g in p.geoms])


def _finished(c: _Component) -> tuple[object, int, float]:
    return (unary_union(c.geoms) if len(c.geoms) > 1 else c.geoms[0], c.pixels, c.score_sum / max(c.pixels, 1))


@dataclass
class Piece:
    """One instance mask on the scene grid: bounding box rows ``r0:r1``, cols ``c0:c1`` and its mask there."""

    r0: int
    c0: int
    mask: np.ndarray
    score: float
    window: tuple[int, int, int, int]  # row_off, col_off, height, width of the window that found it

    @property
    def r1(self) -> int:
        return self.r0 + self.mask.shape[0]

    @property
    def c1(self) -> int:
        return self.c0 + self.mask.shape[1]


def _crop(piece: Piece, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """The piece's mask on the box rows r0:r1, cols c0:c1 (False outside its own box)."""
    out = np.zeros((max(r1 - r0, 0), max(c1 - c0, 0)), bool)
    ra, rb = max(r0, piece.r0), min(r1, piece.r1)
    ca, cb = max(c0, piece.c0), min(c1, piece.c1)
    if ra < rb and ca < cb:
        out[ra - r0:rb - r0, ca - c0:cb - c0] = piece.mask[ra - piece.r0:rb - piece.r0, ca - piece.c0:cb - piece.c0]
    return out


class InstanceMerger:
    """Mask R-CNN instances of overlapping windows merged into one instance per landslide.

    Two instances found by different windows are the same landslide when, inside the region the two windows
    share, their masks overlap with an intersection over union of at least ``iou`` (a landslide in the overlap
    zone is found twice; one cut by a window edge shows the same pixels in both windows there). Windows that
    only touch (``overlap = 0``) share no region: instances that both touch their common edge and meet across it
    are merged. Merged instances take the union of the masks and the highest score.
    """

    def __init__(self, *, iou: float = 0.5) -> None:
        self.iou = iou
        self.pieces: list[Piece] = []
        self.uf = _UnionFind()
        self.by_window: dict[tuple[int, int, int, int], list[int]] = {}

    def add(self, window: tuple[int, int, int, int], pieces: list[Piece]) -> None:
        """Add the instances of one window ``(row_off, col_off, height, width)``, compared with those of the
        earlier windows that overlap or touch it."""
        wr, wc, wh, ww = window
        near = [ids for (r, c, h, w), ids in self.by_window.items()
                if r <= wr + wh and wr <= r + h and c <= wc + ww and wc <= c + w]
        mine = self.by_window.setdefault(window, [])
        for p in pieces:
            pid = self.uf.add()
            self.pieces.append(p)
            mine.append(pid)
            for ids in near:
                for qid in ids:
                    q = self.pieces[qid]
                    if q.r0 > p.r1 or p.r0 > q.r1 or q.c0 > p.c1 or p.c0 > q.c1:
                        continue
                    if self._same(p, q):
                        self.uf.union(pid, qid)

    def _same(self, p: Piece, q: Piece) -> bool:
        pr, pc, ph, pw = p.window
        qr, qc, qh, qw = q.window
        r0, r1 = max(pr, qr), min(pr + ph, qr + qh)
        c0, c1 = max(pc, qc), min(pc + pw, qc + qw)
        if r0 < r1 and c0 < c1:  # a shared region: compare the masks there
            a, b = _crop(p, r0, r1, c0, c1), _crop(q, r0, r1, c0, c1)
            inter = int((a & b).sum())
            union = int((a | b).sum())
            return union > 0 and inter / union >= self.iou
        # windows that touch: pieces meeting across the common edge
        if r0 == r1 and c0 < c1:  # a horizontal edge at row r0
            a, b = _crop(p, r0 - 1, r0 + 1, c0, c1), _crop(q, r0 - 1, r0 + 1, c0, c1)
            return bool(((a[0] & b[1]) | (a[1] & b[0])).any())
        if c0 == c1 and r0 < r1:  # a vertical edge at column c0
            a, b = _crop(p, r0, r1, c0 - 1, c0 + 1), _crop(q, r0, r1, c0 - 1, c0 + 1)
            return bool(((a[:, 0] & b[:, 1]) | (a[:, 1] & b[:, 0])).any())
        return False

    def instances(self) -> list[Piece]:
        """The merged instances (union mask, highest score), in order of their first piece."""
        out = []
        for group in self.uf.groups():
            ps = [self.pieces[i] for i in group]
            r0, r1 = min(p.r0 for p in ps), max(p.r1 for p in ps)
            c0, c1 = min(p.c0 for p in ps), max(p.c1 for p in ps)
            mask = np.zeros((r1 - r0, c1 - c0), bool)
            for p in ps:
                mask |= _crop(p, r0, r1, c0, c1)
            out.append(Piece(r0, c0, mask, max(p.score for p in ps), ps[0].window))
        return out


def pieces_of(instances: list[dict], *, row_off: int, col_off: int, height: int, width: int) -> list[Piece]:
    """Instances of a window (dicts with ``mask`` (h, w) bool and ``score``) as pieces on the scene grid, clipped
    to the scene (windows padded beyond a small scene)."""
    out = []
    for inst in instances:
        m = np.asarray(inst["mask"], bool)
        h, w = m.shape
        m = m[: max(0, min(h, height - row_off)), : max(0, min(w, width - col_off))]
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        if rows.size == 0:
            continue
        ra, rb, ca, cb = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        out.append(Piece(row_off + int(ra), col_off + int(ca), m[ra:rb, ca:cb].copy(), float(inst["score"]),
                         (row_off, col_off, min(h, height - row_off), min(w, width - col_off))))
    return out

