"""What a sticker file is, by its bytes: a PNG, or a WebP (animated when its VP8X header
says so). Anything else is refused."""

from __future__ import annotations

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class StickerRefused(Exception):  # noqa: N818
    pass


def inspect_sticker(head: bytes) -> tuple[str, bool]:
    """(kind, animated) of a sticker file from its first bytes."""
    if head.startswith(PNG_MAGIC):
        return "png", False
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        chunk = head[12:16]
        # VP8X's flags byte: bit 1 is "animation"
        animated = chunk == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)
        return "webp", animated
    raise StickerRefused("A sticker is a PNG or a WebP image.")
