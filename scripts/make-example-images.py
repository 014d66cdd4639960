#!/usr/bin/env python3
"""Render the example branding images used by the trustc example credentials.

This script draws, procedurally and from scratch, the PNG branding assets that
the example governance documents and OCA bundles reference in a mobile wallet
(BC Wallet style credential cards):

Person credential (issued by a province) -- navy #003366, gold #FCBA19,
light blue #38598A and white:

* ``governance/images/person-logo.png`` (240x240): a round emblem with a gold
  sun rising over white and light-blue waves, framed by a thin gold ring.
* ``governance/images/person-background.png`` (1080x360): a navy banner with a
  soft diagonal gradient, translucent light-blue diagonal bands with a fine
  gold rule, a gold sun with faint light ripples on the right and waves along
  the bottom edge.
* ``governance/images/person-background-slice.png`` (120x1200): a vertical
  strip with the small sun and waves at the top and diagonal bands fading out
  towards the bottom, so it reads well when top-aligned.

Lawyer credential (issued by a law society) -- deep teal #00475A, teal
#00698C, parchment #F2E8CF and brass #B08D57:

* ``oca-bundles/lsbc/lawyer/logo.png`` (240x240): an abstract balance built
  from circles and lines (pillar, beam, two pans, stepped base) inside a
  brass-ringed medallion.
* ``oca-bundles/lsbc/lawyer/background.png`` (1080x360): a teal banner with a
  faint parchment lattice fading in from the left, a large lighter disc with
  concentric brass and parchment arcs low on the right, and a brass diagonal
  rule with a parchment hairline.
* ``oca-bundles/lsbc/lawyer/background-slice.png`` (120x1200): a vertical
  strip with a small brass-ringed medallion and arcs at the top and the
  lattice fading out downwards.

The images contain no text and are original work of the trustc project,
licensed under the Apache License, Version 2.0, like the rest of the project.

Everything is drawn with signed distance functions; edge coverage is computed
analytically per pixel (an area-coverage approximation that gives results
close to supersampling at a fraction of the cost), so the output is
anti-aliased yet contains few distinct colours and compresses well. Only the
standard library is used (zlib, struct). The output is deterministic: running
the script twice produces identical bytes.

Usage:
    python3 scripts/make-example-images.py [OUTPUT_ROOT]

OUTPUT_ROOT defaults to the repository root (the parent of ``scripts/``).
"""

from __future__ import annotations

import math
import os
import struct
import sys
import zlib

# --------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------


def hex_rgb(value: str) -> tuple[float, float, float]:
    value = value.lstrip("#")
    return tuple(float(int(value[i : i + 2], 16)) for i in (0, 2, 4))  # type: ignore[return-value]


def mix(a, b, t: float):
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def clamp01(v: float) -> float:
    return 0.0 if v < 0.0 else 1.0 if v > 1.0 else v


def smoothstep(e0: float, e1: float, v: float) -> float:
    t = clamp01((v - e0) / (e1 - e0))
    return t * t * (3.0 - 2.0 * t)


NAVY = hex_rgb("#003366")
GOLD = hex_rgb("#FCBA19")
LIGHT_BLUE = hex_rgb("#38598A")
WHITE = hex_rgb("#FFFFFF")

DEEP_TEAL = hex_rgb("#00475A")
TEAL = hex_rgb("#00698C")
PARCHMENT = hex_rgb("#F2E8CF")
BRASS = hex_rgb("#B08D57")

# --------------------------------------------------------------------------
# Signed distance functions (negative inside, distances in pixels)
# --------------------------------------------------------------------------


def sd_circle(cx, cy, r):
    hypot = math.hypot

    def f(x, y):
        return hypot(x - cx, y - cy) - r

    return f


def sd_ring(cx, cy, r, hw):
    hypot = math.hypot

    def f(x, y):
        return abs(hypot(x - cx, y - cy) - r) - hw

    return f


def sd_segment(ax, ay, bx, by, hw):
    """Capsule around the segment A-B with half width ``hw``."""
    ex, ey = bx - ax, by - ay
    ll = ex * ex + ey * ey
    sqrt = math.sqrt

    def f(x, y):
        wx, wy = x - ax, y - ay
        t = (wx * ex + wy * ey) / ll
        t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
        dx, dy = wx - ex * t, wy - ey * t
        return sqrt(dx * dx + dy * dy) - hw

    return f


def sd_box(cx, cy, hx, hy, radius=0.0):
    hypot = math.hypot

    def f(x, y):
        dx = abs(x - cx) - hx + radius
        dy = abs(y - cy) - hy + radius
        outside = hypot(dx if dx > 0 else 0.0, dy if dy > 0 else 0.0)
        inside = min(max(dx, dy), 0.0)
        return outside + inside - radius

    return f


def sd_polygon(pts):
    """Exact signed distance to a simple polygon (after Inigo Quilez)."""
    v = [(float(a), float(b)) for a, b in pts]
    n = len(v)
    sqrt = math.sqrt

    def f(px, py):
        d = (px - v[0][0]) ** 2 + (py - v[0][1]) ** 2
        s = 1.0
        j = n - 1
        for i in range(n):
            vix, viy = v[i]
            vjx, vjy = v[j]
            ex, ey = vjx - vix, vjy - viy
            wx, wy = px - vix, py - viy
            t = (wx * ex + wy * ey) / (ex * ex + ey * ey)
            t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
            bx, by = wx - ex * t, wy - ey * t
            dd = bx * bx + by * by
            if dd < d:
                d = dd
            c1 = py >= viy
            c2 = py < vjy
            c3 = ex * wy > ey * wx
            if (c1 and c2 and c3) or (not c1 and not c2 and not c3):
                s = -s
            j = i
        return s * sqrt(d)

    return f


def sd_band(px0, py0, angle_deg, hw):
    """Infinite straight band through (px0, py0) at the given angle."""
    a = math.radians(angle_deg)
    nx, ny = -math.sin(a), math.cos(a)

    def f(x, y):
        return abs((x - px0) * nx + (y - py0) * ny) - hw

    return f


def sd_halfplane(px0, py0, nx, ny):
    """Inside is where (p - p0) . n <= 0."""
    ln = math.hypot(nx, ny)
    nx, ny = nx / ln, ny / ln

    def f(x, y):
        return (x - px0) * nx + (y - py0) * ny

    return f


def sd_wave_band(top, thickness, amp, period, phase):
    """Region between y = top + amp*sin(...) and the same curve shifted down."""
    k = 2.0 * math.pi / period
    sin, cos, sqrt = math.sin, math.cos, math.sqrt
    half = thickness / 2.0

    def f(x, y):
        a = k * x + phase
        centre = top + half + amp * sin(a)
        slope = amp * k * cos(a)
        return (abs(y - centre) - half) / sqrt(1.0 + slope * slope)

    return f


def sd_lattice(spacing, hw, angle_deg=45.0, ox=0.0, oy=0.0):
    """Two families of parallel lines crossing at right angles (diamond grid)."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    half = spacing / 2.0

    def f(x, y):
        u = (x - ox) * c + (y - oy) * s
        v = -(x - ox) * s + (y - oy) * c
        du = abs(u % spacing - half)
        dv = abs(v % spacing - half)
        return half - max(du, dv) - hw

    return f


def intersect(*fs):
    def f(x, y):
        return max(g(x, y) for g in fs)

    return f


def union(*fs):
    def f(x, y):
        return min(g(x, y) for g in fs)

    return f


def subtract(a, b):
    def f(x, y):
        return max(a(x, y), -b(x, y))

    return f


# --------------------------------------------------------------------------
# Canvas
# --------------------------------------------------------------------------


class Canvas:
    def __init__(self, width: int, height: int, colour=(0.0, 0.0, 0.0)):
        self.w = width
        self.h = height
        n = width * height
        self.r = [colour[0]] * n
        self.g = [colour[1]] * n
        self.b = [colour[2]] * n

    def fill(self, fn):
        """Set every pixel to fn(x, y) evaluated at the pixel centre."""
        w = self.w
        R, G, B = self.r, self.g, self.b
        for y in range(self.h):
            py = y + 0.5
            base = y * w
            for x in range(w):
                c = fn(x + 0.5, py)
                i = base + x
                R[i], G[i], B[i] = c

    def draw(self, sdf, colour, opacity=1.0, bbox=None, feather=1.0):
        """Composite a shape given by a signed distance function.

        Coverage is 0.5 - d / feather clamped to [0, 1], i.e. an analytic
        box-filter anti-aliasing of the edge (feather > 1 gives soft edges).
        ``colour`` and ``opacity`` may be constants or functions of (x, y).
        """
        w, h = self.w, self.h
        if bbox is None:
            x0, y0, x1, y1 = 0, 0, w, h
        else:
            x0 = max(0, int(math.floor(bbox[0])))
            y0 = max(0, int(math.floor(bbox[1])))
            x1 = min(w, int(math.ceil(bbox[2])))
            y1 = min(h, int(math.ceil(bbox[3])))
        R, G, B = self.r, self.g, self.b
        const_colour = not callable(colour)
        if const_colour:
            cr, cg, cb = colour
        const_op = not callable(opacity)
        inv = 1.0 / feather
        for y in range(y0, y1):
            py = y + 0.5
            base = y * w
            for x in range(x0, x1):
                px = x + 0.5
                a = 0.5 - sdf(px, py) * inv
                if a <= 0.0:
                    continue
                if a > 1.0:
                    a = 1.0
                a *= opacity if const_op else opacity(px, py)
                if a <= 0.0:
                    continue
                if not const_colour:
                    cr, cg, cb = colour(px, py)
                i = base + x
                R[i] += (cr - R[i]) * a
                G[i] += (cg - G[i]) * a
                B[i] += (cb - B[i]) * a

    def rows(self):
        w = self.w
        out = []
        for y in range(self.h):
            s = y * w
            row = bytearray(w * 3)
            for off, chan in ((0, self.r), (1, self.g), (2, self.b)):
                vals = chan[s : s + w]
                row[off::3] = bytes(
                    0 if v <= 0.0 else 255 if v >= 255.0 else int(v + 0.5) for v in vals
                )
            out.append(bytes(row))
        return out


# --------------------------------------------------------------------------
# PNG encoding
# --------------------------------------------------------------------------


def _filter_rows(rows, bpp=3):
    """Return, for each row, the five PNG-filtered variants (types 0..4)."""
    result = []
    prev = bytes(len(rows[0]))
    for cur in rows:
        n = len(cur)
        left = bytes(bpp) + cur[: n - bpp]
        upleft = bytes(bpp) + prev[: n - bpp]
        f0 = cur
        f1 = bytes((c - a) & 0xFF for c, a in zip(cur, left))
        f2 = bytes((c - b) & 0xFF for c, b in zip(cur, prev))
        f3 = bytes((c - ((a + b) >> 1)) & 0xFF for c, a, b in zip(cur, left, prev))
        f4 = bytearray(n)
        for i in range(n):
            a = left[i]
            b = prev[i]
            c = upleft[i]
            p = a + b - c
            pa = abs(p - a)
            pb = abs(p - b)
            pc = abs(p - c)
            if pa <= pb and pa <= pc:
                pred = a
            elif pb <= pc:
                pred = b
            else:
                pred = c
            f4[i] = (cur[i] - pred) & 0xFF
        result.append((f0, f1, f2, f3, bytes(f4)))
        prev = cur
    return result


def _signed_cost(data: bytes) -> int:
    return sum(v if v < 128 else 256 - v for v in data)


def encode_png(width: int, height: int, rows) -> bytes:
    """Encode 8-bit RGB rows as a non-interlaced PNG (zlib level 9).

    Several row-filter strategies are tried and the smallest result is kept;
    the choice is deterministic.
    """
    filtered = _filter_rows(rows)
    candidates = []
    for ft in range(5):
        candidates.append(b"".join(bytes((ft,)) + fr[ft] for fr in filtered))
    adaptive = []
    for fr in filtered:
        costs = [_signed_cost(v) for v in fr]
        best = costs.index(min(costs))
        adaptive.append(bytes((best,)) + fr[best])
    candidates.append(b"".join(adaptive))
    best_data = None
    for raw in candidates:
        comp = zlib.compress(raw, 9)
        if best_data is None or len(comp) < len(best_data):
            best_data = comp

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", best_data)
        + chunk(b"IEND", b"")
    )


def read_png_size(path: str) -> tuple[int, int]:
    """Re-read a PNG file's signature and IHDR; return (width, height)."""
    with open(path, "rb") as fh:
        head = fh.read(33)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    length, kind = struct.unpack(">I4s", head[8:16])
    if kind != b"IHDR" or length != 13:
        raise ValueError(f"{path}: first chunk is not IHDR")
    data = head[16:29]
    (crc,) = struct.unpack(">I", head[29:33])
    if zlib.crc32(kind + data) & 0xFFFFFFFF != crc:
        raise ValueError(f"{path}: bad IHDR CRC")
    width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data)
    if depth != 8 or ctype != 2 or interlace != 0:
        raise ValueError(f"{path}: expected 8-bit RGB non-interlaced")
    return width, height


# --------------------------------------------------------------------------
# Shared motifs
# --------------------------------------------------------------------------


def sun_rays(cx, cy, r_in, r_out, half_width, angles_deg):
    """Tapered triangular rays pointing away from (cx, cy); angles measured
    counter-clockwise from the +x axis (screen y points down)."""
    shapes = []
    for ang in angles_deg:
        a = math.radians(ang)
        dx, dy = math.cos(a), -math.sin(a)
        px, py = -dy, dx
        bx, by = cx + dx * r_in, cy + dy * r_in
        tx, ty = cx + dx * r_out, cy + dy * r_out
        shapes.append(
            sd_polygon(
                [
                    (bx + px * half_width, by + py * half_width),
                    (tx, ty),
                    (bx - px * half_width, by - py * half_width),
                ]
            )
        )
    return union(*shapes)


def linear_gradient(c0, c1, x0, y0, x1, y1, ease=1.0):
    dx, dy = x1 - x0, y1 - y0
    ll = dx * dx + dy * dy

    def fn(x, y):
        t = clamp01(((x - x0) * dx + (y - y0) * dy) / ll)
        if ease != 1.0:
            t = t ** ease
        return mix(c0, c1, t)

    return fn


def strip_gradient(top, middle, bottom):
    """The background of the 120x1200 strips: ``top`` easing into ``middle`` down to y=700, then
    ``middle`` into ``bottom`` down to the foot (y=1200)."""

    def fn(x, y):
        if y < 700:
            return mix(top, middle, smoothstep(0, 700, y))
        return mix(middle, bottom, smoothstep(700, 1200, y))

    return fn


def radial_gradient(c0, c1, cx, cy, radius):
    hypot = math.hypot

    def fn(x, y):
        return mix(c0, c1, smoothstep(0.0, 1.0, hypot(x - cx, y - cy) / radius))

    return fn


# --------------------------------------------------------------------------
# Person credential (province)
# --------------------------------------------------------------------------


def person_logo() -> Canvas:
    W = H = 240
    cx, cy = 120.0, 120.0
    c = Canvas(W, H, NAVY)
    c.fill(radial_gradient(mix(NAVY, LIGHT_BLUE, 0.22), NAVY, cx, cy, 170.0))

    disc_r = 98.0
    disc = sd_circle(cx, cy, disc_r)
    horizon = 146.0
    sky = linear_gradient(mix(NAVY, LIGHT_BLUE, 0.55), mix(NAVY, LIGHT_BLUE, 0.15), 0, 24, 0, horizon)
    c.draw(disc, sky, bbox=(0, 0, W, H))

    # Sun glow, sun disc and rays (only above the horizon).
    above = sd_halfplane(0, horizon, 0, 1)
    c.draw(intersect(sd_circle(cx, horizon, 58.0), above, disc), GOLD, opacity=0.16, feather=24.0)
    c.draw(intersect(sd_circle(cx, horizon, 36.0), above), GOLD)
    rays = sun_rays(cx, horizon, 46.0, 76.0, 6.5, [90 + k * 22.5 for k in range(-3, 4)])
    c.draw(intersect(rays, disc, above), GOLD, bbox=(30, 50, 210, horizon + 1))

    # Sea below the horizon, then waves.
    c.draw(intersect(disc, sd_halfplane(0, horizon, 0, -1)), NAVY, bbox=(0, horizon - 2, W, H))
    waves = [
        (horizon + 2.0, 10.0, WHITE),
        (horizon + 19.0, 9.0, LIGHT_BLUE),
        (horizon + 35.0, 8.0, WHITE),
        (horizon + 50.0, 7.0, LIGHT_BLUE),
    ]
    for i, (top, thick, col) in enumerate(waves):
        band = sd_wave_band(top, thick, 3.2, 56.0, 1.1 + i * 0.9)
        c.draw(intersect(band, disc), col, bbox=(0, top - 6, W, top + thick + 6))

    # Gold frame ring.
    c.draw(sd_ring(cx, cy, 106.0, 3.0), GOLD)
    c.draw(sd_ring(cx, cy, 112.5, 0.8), GOLD, opacity=0.55)
    return c


def person_background() -> Canvas:
    W, H = 1080, 360
    c = Canvas(W, H, NAVY)
    c.fill(linear_gradient(NAVY, mix(NAVY, LIGHT_BLUE, 0.5), 0, 0, W, H * 1.5, ease=1.4))

    # Translucent diagonal bands on the right half, with a fine gold rule.
    c.draw(sd_band(700, 180, 62, 70), LIGHT_BLUE, opacity=0.22)
    c.draw(sd_band(845, 180, 62, 26), LIGHT_BLUE, opacity=0.28)
    c.draw(sd_band(560, 180, 62, 12), LIGHT_BLUE, opacity=0.18)
    c.draw(sd_band(604, 180, 62, 1.3), GOLD, opacity=0.9)

    # Sun with faint light ripples, low on the right.
    sx, sy = 935.0, 292.0
    ripple = mix(LIGHT_BLUE, WHITE, 0.35)
    for k, rr in enumerate((86, 116, 150, 188, 230)):
        c.draw(sd_ring(sx, sy, rr, 1.4), ripple, opacity=0.42 - k * 0.07,
               bbox=(sx - rr - 4, sy - rr - 4, sx + rr + 4, sy + rr + 4))
    c.draw(sd_circle(sx, sy, 66.0), LIGHT_BLUE, opacity=0.35,
           bbox=(sx - 70, sy - 70, sx + 70, sy + 70))
    c.draw(sd_circle(sx, sy, 58.0), GOLD, bbox=(sx - 62, sy - 62, sx + 62, sy + 62))

    # Waves along the bottom edge.
    sea_top = 300.0
    c.draw(sd_halfplane(0, sea_top + 4, 0, -1), NAVY, bbox=(0, sea_top, W, H))
    waves = [
        (sea_top - 2.0, 12.0, LIGHT_BLUE, 0.95),
        (sea_top + 17.0, 9.0, WHITE, 0.9),
        (sea_top + 32.0, 9.0, LIGHT_BLUE, 0.95),
        (sea_top + 47.0, 8.0, WHITE, 0.75),
    ]
    for i, (top, thick, col, op) in enumerate(waves):
        band = sd_wave_band(top, thick, 5.0, 180.0, 0.6 + i * 1.3)
        c.draw(band, col, opacity=op, bbox=(0, top - 8, W, top + thick + 8))
    return c


def person_slice() -> Canvas:
    W, H = 120, 1200
    c = Canvas(W, H, NAVY)
    c.fill(strip_gradient(mix(NAVY, LIGHT_BLUE, 0.45), NAVY, mix(NAVY, (0.0, 0.0, 0.0), 0.18)))

    # Diagonal bands fading out towards the bottom.
    fade = lambda x, y: 1.0 - smoothstep(150.0, 900.0, y)  # noqa: E731
    for k in range(7):
        y0 = 200 + k * 120
        c.draw(sd_band(60, y0, -34, 22 if k % 2 == 0 else 9), LIGHT_BLUE,
               opacity=lambda x, y, f=fade: 0.22 * f(x, y), bbox=(0, y0 - 80, W, y0 + 80))

    # Small sun with ripples over waves, at the top.
    sx, sy = 60.0, 112.0
    ripple = mix(LIGHT_BLUE, WHITE, 0.35)
    for k, rr in enumerate((38, 52, 68)):
        c.draw(sd_ring(sx, sy, rr, 1.3), ripple, opacity=0.45 - k * 0.12,
               bbox=(0, sy - rr - 3, W, sy + 2))
    c.draw(intersect(sd_circle(sx, sy, 26.0), sd_halfplane(0, sy, 0, 1)), GOLD,
           bbox=(0, sy - 30, W, sy + 2))
    waves = [
        (sy + 2.0, 8.0, WHITE),
        (sy + 15.0, 7.0, LIGHT_BLUE),
        (sy + 27.0, 6.0, WHITE),
        (sy + 38.0, 5.0, LIGHT_BLUE),
    ]
    for i, (top, thick, col) in enumerate(waves):
        c.draw(sd_wave_band(top, thick, 2.5, 60.0, 0.4 + i * 1.1), col,
               bbox=(0, top - 4, W, top + thick + 4))
    return c


# --------------------------------------------------------------------------
# Lawyer credential (law society)
# --------------------------------------------------------------------------


def lawyer_logo() -> Canvas:
    W = H = 240
    cx, cy = 120.0, 120.0
    c = Canvas(W, H, DEEP_TEAL)
    c.fill(radial_gradient(mix(DEEP_TEAL, TEAL, 0.6), DEEP_TEAL, cx, cy, 165.0))

    # Medallion.
    c.draw(sd_circle(cx, cy, 100.0), linear_gradient(mix(DEEP_TEAL, TEAL, 0.7), DEEP_TEAL, 0, 30, 0, 220))
    c.draw(sd_ring(cx, cy, 106.0, 3.0), BRASS)
    c.draw(sd_ring(cx, cy, 96.0, 0.9), BRASS, opacity=0.6)

    # Balance: pillar, finial, beam, hangers, pans and a stepped base.
    beam_y = 90.0
    pan_y = 142.0
    lx, rx = 66.0, 174.0
    pan_r = 24.0
    c.draw(sd_box(cx, 132.0, 4.5, 50.0, 2.0), PARCHMENT, bbox=(100, 70, 140, 190))
    c.draw(sd_circle(cx, 70.0, 9.0), PARCHMENT, bbox=(100, 55, 140, 85))
    c.draw(sd_circle(cx, 70.0, 3.5), BRASS, bbox=(100, 55, 140, 85))
    c.draw(sd_segment(lx, beam_y, rx, beam_y, 3.5), PARCHMENT, bbox=(55, 80, 185, 100))
    for px in (lx, rx):
        hangers = union(
            sd_segment(px, beam_y, px - pan_r + 3, pan_y, 1.2),
            sd_segment(px, beam_y, px + pan_r - 3, pan_y, 1.2),
        )
        c.draw(hangers, BRASS, bbox=(px - 30, beam_y - 4, px + 30, pan_y + 4))
        bowl = intersect(sd_circle(px, pan_y, pan_r), sd_halfplane(0, pan_y, 0, -1))
        c.draw(bowl, PARCHMENT, bbox=(px - 30, pan_y - 4, px + 30, pan_y + 30))
        c.draw(sd_segment(px - pan_r - 2, pan_y, px + pan_r + 2, pan_y, 1.8), BRASS,
               bbox=(px - 32, pan_y - 4, px + 32, pan_y + 4))
        c.draw(sd_circle(px, beam_y, 5.0), BRASS, bbox=(px - 8, beam_y - 8, px + 8, beam_y + 8))
    c.draw(sd_box(cx, 180.0, 24.0, 3.5, 1.5), PARCHMENT, bbox=(80, 170, 160, 190))
    c.draw(sd_box(cx, 189.0, 36.0, 4.0, 2.0), BRASS, bbox=(70, 180, 170, 200))
    return c


def lawyer_background() -> Canvas:
    W, H = 1080, 360
    c = Canvas(W, H, DEEP_TEAL)
    c.fill(linear_gradient(DEEP_TEAL, mix(DEEP_TEAL, TEAL, 0.85), 0, H, W, 0, ease=1.3))

    # Faint parchment lattice, fading in towards the right.
    lat_fade = lambda x, y: 0.10 * smoothstep(420.0, 1000.0, x)  # noqa: E731
    c.draw(sd_lattice(54.0, 0.6), PARCHMENT, opacity=lat_fade, bbox=(420, 0, W, H))

    # A large, slightly lighter disc with concentric arcs, anchored low right.
    ax, ay = 930.0, 400.0
    c.draw(sd_circle(ax, ay, 250.0), TEAL, opacity=0.35,
           bbox=(ax - 254, ay - 254, ax + 254, ay + 254))
    for k, rr in enumerate((296, 336, 380)):
        c.draw(sd_ring(ax, ay, rr, 1.0), PARCHMENT, opacity=0.20 - k * 0.05,
               bbox=(ax - rr - 4, ay - rr - 4, ax + rr + 4, ay + rr + 4))
    c.draw(sd_ring(ax, ay, 250.0, 2.2), BRASS,
           bbox=(ax - 256, ay - 256, ax + 256, ay + 256))
    c.draw(sd_ring(ax, ay, 200.0, 1.0), PARCHMENT, opacity=0.30,
           bbox=(ax - 204, ay - 204, ax + 204, ay + 204))
    c.draw(sd_circle(ax, ay, 150.0), DEEP_TEAL, opacity=0.45,
           bbox=(ax - 154, ay - 154, ax + 154, ay + 154))
    c.draw(sd_ring(ax, ay, 150.0, 1.6), BRASS,
           bbox=(ax - 156, ay - 156, ax + 156, ay + 156))

    # Diagonal accent: a brass rule with a parchment hairline beside it.
    c.draw(sd_band(560, 180, -64, 2.0), BRASS)
    c.draw(sd_band(578, 180, -64, 0.7), PARCHMENT, opacity=0.5)
    return c


def lawyer_slice() -> Canvas:
    W, H = 120, 1200
    c = Canvas(W, H, DEEP_TEAL)
    c.fill(strip_gradient(mix(DEEP_TEAL, TEAL, 0.75), DEEP_TEAL, mix(DEEP_TEAL, (0.0, 0.0, 0.0), 0.2)))

    lat_fade = lambda x, y: 0.11 * (1.0 - smoothstep(160.0, 950.0, y))  # noqa: E731
    c.draw(sd_lattice(40.0, 0.6, ox=60.0, oy=0.0), PARCHMENT, opacity=lat_fade, bbox=(0, 140, W, 960))

    # Brass arcs around a small medallion at the top.
    ax, ay = 60.0, 78.0
    c.draw(sd_circle(ax, ay, 46.0), TEAL, opacity=0.35, bbox=(0, ay - 50, W, ay + 50))
    c.draw(sd_ring(ax, ay, 46.0, 1.6), BRASS, bbox=(0, ay - 50, W, ay + 50))
    for k, rr in enumerate((62, 80)):
        c.draw(sd_ring(ax, ay, rr, 1.0), PARCHMENT, opacity=0.22 - k * 0.08,
               bbox=(0, ay - rr - 3, W, ay + rr + 3))
    c.draw(sd_circle(ax, ay, 26.0), BRASS, bbox=(20, 40, 100, 116))
    c.draw(sd_circle(ax, ay, 19.0), mix(DEEP_TEAL, TEAL, 0.5), bbox=(20, 40, 100, 116))
    c.draw(sd_circle(ax, ay, 6.0), PARCHMENT, bbox=(20, 40, 100, 116))

    return c


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

IMAGES = [
    ("governance/images/person-logo.png", 240, 240, person_logo),
    ("governance/images/person-background.png", 1080, 360, person_background),
    ("governance/images/person-background-slice.png", 120, 1200, person_slice),
    ("oca-bundles/lsbc/lawyer/logo.png", 240, 240, lawyer_logo),
    ("oca-bundles/lsbc/lawyer/background.png", 1080, 360, lawyer_background),
    ("oca-bundles/lsbc/lawyer/background-slice.png", 120, 1200, lawyer_slice),
]


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        print(f"usage: {argv[0]} [OUTPUT_ROOT]", file=sys.stderr)
        return 2
    default_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = os.path.abspath(argv[1]) if len(argv) == 2 else default_root

    ok = True
    for rel, width, height, painter in IMAGES:
        canvas = painter()
        assert (canvas.w, canvas.h) == (width, height), rel
        data = encode_png(width, height, canvas.rows())
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        got = read_png_size(path)
        size = os.path.getsize(path)
        status = "ok" if got == (width, height) else f"MISMATCH (read {got[0]}x{got[1]})"
        ok = ok and got == (width, height)
        print(f"{rel}  {width}x{height}  {size} bytes  {status}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
