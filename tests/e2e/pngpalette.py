"""A pure-Python PNG palette quantizer for the help page's screenshots (no Pillow): 8-bit RGB(A) → an indexed
PNG of the most frequent colours, every other colour mapped to the nearest of them. Screenshots of this UI are
flat colours and anti-aliased text, so 12 colours keep them readable at about a sixth of the bytes.

    python tests/e2e/pngpalette.py 12 tuanjian/static/help/*.png      # rewrites the files in place
"""
from __future__ import annotations

import struct
import sys
import zlib
from collections import Counter

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> None:
    for x in range(len(line)):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if kind == 1:
            line[x] = (line[x] + a) & 255
        elif kind == 2:
            line[x] = (line[x] + b) & 255
        elif kind == 3:
            line[x] = (line[x] + (a + b) // 2) & 255
        elif kind == 4:
            line[x] = (line[x] + _paeth(a, b, c)) & 255


def read_png(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """(width, height, rows of RGB pixels) of a non-interlaced 8-bit RGB or RGBA PNG (alpha dropped)."""
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG")
    pos, idat = 8, []
    width = height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError("only 8-bit, non-interlaced RGB(A) PNGs")
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        _unfilter(kind, line, prev, bpp)
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _distance(c, p) -> int:
    return (c[0] - p[0]) ** 2 * 3 + (c[1] - p[1]) ** 2 * 4 + (c[2] - p[2]) ** 2 * 2


def quantize(rows, colours: int) -> tuple[list[tuple[int, int, int]], list[bytes]]:
    """A palette of ``colours``: the most frequent colour first, then greedily the colour whose frequency times
    its distance to the palette so far is largest (so an accent such as link blue or the required-field red is
    kept, not only shades of grey); every pixel as the index of the nearest palette colour (luma-weighted)."""
    count = Counter(p for row in rows for p in row)
    candidates = count.most_common(400)
    palette = [candidates[0][0]]
    gap = {c: _distance(c, palette[0]) for c, _ in candidates}
    while len(palette) < min(colours, len(candidates)):
        best = max(candidates, key=lambda cn: cn[1] * min(gap[cn[0]], 20000))[0]
        if gap[best] == 0:
            break
        palette.append(best)
        for c, _ in candidates:
            gap[c] = min(gap[c], _distance(c, best))
    index = {c: i for i, c in enumerate(palette)}

    def nearest(c):
        return min(range(len(palette)), key=lambda i: _distance(c, palette[i]))
    for c in count:
        if c not in index:
            index[c] = nearest(c)
    return palette, [bytes(index[p] for p in row) for row in rows]


def write_png(width: int, height: int, palette, rows: list[bytes]) -> bytes:
    bits = 8 if len(palette) > 16 else 4
    out = bytearray()
    for r in rows:
        out.append(0)
        if bits == 8:
            out += r
        else:
            for x in range(0, len(r), 2):
                out.append((r[x] << 4) | (r[x + 1] if x + 1 < len(r) else 0))
    return (SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, 3, 0, 0, 0))
            + _chunk(b"PLTE", b"".join(bytes(c) for c in palette))
            + _chunk(b"IDAT", zlib.compress(bytes(out), 9)) + _chunk(b"IEND", b""))


def compress(data: bytes, colours: int = 16) -> bytes:
    width, height, rows = read_png(data)
    palette, indexed = quantize(rows, colours)
    return write_png(width, height, palette, indexed)


if __name__ == "__main__":
    n = int(sys.argv[1])
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            before = f.read()
        after = compress(before, n)
        with open(path, "wb") as f:
            f.write(after)
        print(f"{path}: {len(before)} -> {len(after)} bytes")
