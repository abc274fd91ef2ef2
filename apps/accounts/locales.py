"""The lists a profile's country and language are picked from (the web's settings form).

Countries: ISO 3166-1 alpha-2 codes with their English names, from the `iso3166.tab` of the
IANA time zone database that the `tzdata` package ships (public domain). Languages: the
tags and names Django knows (`django.conf.locale.LANG_INFO`), in BCP 47 case ("pt-BR",
"zh-Hans"). The services still validate what is stored (`accounts.services`), whatever a
client sends.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from django.conf.locale import LANG_INFO


@cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """(code, name) for every country, by name."""
    text = (resources.files("tzdata") / "zoneinfo" / "iso3166.tab").read_text("utf-8")
    rows = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, name = line.partition("\t")
            rows.append((code.strip().upper(), name.strip()))
    return tuple(sorted(rows, key=lambda row: row[1].casefold()))


def bcp47(tag: str) -> str:
    """Django's lower-case tags in BCP 47 case: "pt-br" → "pt-BR", "zh-hans" → "zh-Hans"."""
    first, *rest = tag.split("-")
    parts = [first.lower()]
    for part in rest:
        parts.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4
                     else part.lower())
    return "-".join(parts)


@cache
def language_choices() -> tuple[tuple[str, str], ...]:
    """(tag, "English name (own name)") for every language Django names, by name."""
    rows = []
    for code, info in LANG_INFO.items():
        if "name" not in info:  # an alias ("zh-cn" → "zh-hans")
            continue
        name, local = str(info["name"]), str(info.get("name_local") or "")
        label = name if not local or local.casefold() == name.casefold() else f"{name} ({local})"
        rows.append((bcp47(code), label))
    return tuple(sorted(rows, key=lambda row: row[1].casefold()))
