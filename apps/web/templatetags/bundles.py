"""The chunks a page's bundle imports, as modulepreload links (issue 22's first frame).

`npm run build` (static/js/build.mjs) splits shared code (hls.js among it) into
static/dist/chunks/ and lists each entry's chunks in static/dist/imports.json. Without
these links the browser learns of the chunks only once the entry has arrived and been
parsed: one more round trip before the feed can even ask for its first page (60 ms on
fast-4g, more on slower networks).

The links name the chunks' own paths under STATIC_URL, not `{% static %}`'s: the entry
imports them relatively ("./chunks/chunk-X.js"), which resolves to those paths under any
storage (production's manifest storage hashes the entry's name, not its imports), and a
preload whose URL differs from the import's would download the chunk twice.
"""

from __future__ import annotations

import json
from pathlib import Path

from django import template
from django.conf import settings
from django.utils.html import format_html_join

register = template.Library()

IMPORTS = Path(settings.BASE_DIR) / "static" / "dist" / "imports.json"
_read: dict[Path, tuple[float, dict[str, list[str]]]] = {}


def _imports(path: Path) -> dict[str, list[str]]:
    """imports.json, read again only when a build changed it (an unbuilt tree: none)."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return {}
    cached = _read.get(path)
    if cached is None or cached[0] != stamp:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        cached = (stamp, data if isinstance(data, dict) else {})
        _read[path] = cached
    return cached[1]


def _size(chunk: str) -> int:
    try:
        return (IMPORTS.parent / chunk).stat().st_size
    except OSError:
        return 0


@register.simple_tag
def bundle_preloads(entry: str) -> str:
    """`<link rel="modulepreload">` for each chunk of static/dist/<entry>.js, the largest
    first: over HTTP/1.1's six connections a link written later waits for one to free, and
    the largest (hls.js, for the feed) is the one that ends last."""
    chunks = sorted((c for c in _imports(IMPORTS).get(entry, []) if isinstance(c, str)),
                    key=lambda c: (-_size(c), c))
    return format_html_join(
        "\n  ",
        '<link rel="modulepreload" href="{}">',
        ((f"{settings.STATIC_URL}dist/{chunk}",) for chunk in chunks),
    )
