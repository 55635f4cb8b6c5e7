"""Hostile payloads the tests build: cheap to make, expensive to handle carelessly."""

from __future__ import annotations

import struct
import zlib


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def white_png(width: int, height: int) -> bytes:
    """A 1-bit white PNG written row by row: 20000x20000 takes about 0.2 s and 80 kB, never 400 MB."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", pixels) + png_chunk(b"IEND", b"")
