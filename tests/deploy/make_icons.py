#!/usr/bin/env python3
"""Regenerate site/icons/*.png (the PWA icons) with the standard library only.

The picture matches site/icons/icon.svg: a blue rounded square with four bars
(weights, KV cache, activations, overhead). Deterministic: same bytes every run.

    python tests/deploy/make_icons.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parents[2] / "site" / "icons"
BLUE = (0x2F, 0x5B, 0xD3)
BARS = [  # (x, y, w, h) in a 64-unit box, colour
    ((12, 12, 40, 9), (0xFF, 0xFF, 0xFF)),
    ((12, 24, 28, 9), (0xF0, 0xA5, 0x48)),
    ((12, 36, 18, 9), (0x4F, 0xC2, 0xB3)),
    ((12, 48, 10, 5), (0xC9, 0xCC, 0xD6)),
]


def _inside_rounded(x: float, y: float, size: float, radius: float) -> bool:
    cx = min(max(x, radius), size - radius)
    cy = min(max(y, radius), size - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def render(size: int, maskable: bool) -> bytes:
    # maskable: full-bleed background, artwork inside the 80% safe zone
    scale = size / 64 * (0.8 if maskable else 1.0)
    offset = size * 0.1 if maskable else 0.0
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter type 0
        for px in range(size):
            x, y = px + 0.5, py + 0.5
            if maskable or _inside_rounded(x, y, size, 12 * size / 64):
                colour, alpha = BLUE, 255
            else:
                colour, alpha = (0, 0, 0), 0
            ux, uy = (x - offset) / scale, (y - offset) / scale
            for (bx, by, bw, bh), c in BARS:
                if bx <= ux < bx + bw and by <= uy < by + bh:
                    colour = c
            row += bytes([*colour, alpha])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                 ("icon-maskable-512.png", 512, True),
                                 ("apple-touch-icon.png", 180, True)):
        (ICONS / name).write_bytes(render(size, maskable))
        print("wrote", ICONS / name)


if __name__ == "__main__":
    main()
