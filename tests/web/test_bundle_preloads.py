"""apps.web.templatetags.bundles: a page names its bundle's chunks as modulepreload links,
read from the build's static/dist/imports.json (static/js/build.mjs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.template import Context, Template

from apps.web.templatetags import bundles

TAG = Template('{% load bundles %}{% bundle_preloads "feed" %}')


def test_the_feed_page_preloads_its_chunks_at_the_paths_it_imports(tmp_path: Path, monkeypatch):
    imports = tmp_path / "imports.json"
    imports.write_text(json.dumps({"feed": ["chunks/chunk-A.js", "chunks/chunk-B.js"]}))
    monkeypatch.setattr(bundles, "IMPORTS", imports)
    html = TAG.render(Context())
    # the chunk's own path (what the entry's relative import resolves to), never hashed
    assert html == (
        '<link rel="modulepreload" href="/static/dist/chunks/chunk-A.js">\n'
        '  <link rel="modulepreload" href="/static/dist/chunks/chunk-B.js">'
    )
    # a new build is read again
    imports.write_text(json.dumps({"feed": ["chunks/chunk-C.js"]}))
    stamp = imports.stat().st_mtime + 5
    os.utime(imports, (stamp, stamp))
    assert "chunk-C.js" in TAG.render(Context())
    assert "chunk-A.js" not in TAG.render(Context())


@pytest.mark.parametrize("content", [None, "not json", json.dumps({"search": ["chunks/x.js"]})])
def test_without_a_build_or_the_entry_the_page_has_no_links(tmp_path: Path, monkeypatch, content):
    imports = tmp_path / "imports.json"
    if content is not None:
        imports.write_text(content)
    monkeypatch.setattr(bundles, "IMPORTS", imports)
    assert TAG.render(Context()) == ""


def test_the_largest_chunk_is_named_first(tmp_path: Path, monkeypatch):
    # over HTTP/1.1's six connections a link written later waits: the largest (hls.js) goes
    # first, it is the one that ends last
    (tmp_path / "chunks").mkdir()
    for name, size in (("chunk-A.js", 10), ("chunk-B.js", 5000), ("chunk-C.js", 300)):
        (tmp_path / "chunks" / name).write_bytes(b"x" * size)
    imports = tmp_path / "imports.json"
    imports.write_text(json.dumps({"feed": ["chunks/chunk-A.js", "chunks/chunk-B.js",
                                            "chunks/chunk-C.js"]}))
    monkeypatch.setattr(bundles, "IMPORTS", imports)
    html = TAG.render(Context())
    assert [html.index(f"chunk-{c}.js") for c in "BCA"] == sorted(
        html.index(f"chunk-{c}.js") for c in "BCA")
