"""The staff-edited search-blocked term lists are read once per process per few seconds
(every search consults them), and a staff edit still applies within that time."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.moderation.detection import selectors
from apps.moderation.detection.models import TermList

RELOAD = 1.0


@pytest.fixture
def cached_lists(settings: object, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.SWIPEME_SEARCH_BLOCKED_RELOAD_SECONDS = RELOAD  # type: ignore[attr-defined]
    monkeypatch.setattr(selectors, "_search_blocked_cache", None)  # nothing from other tests


@pytest.mark.django_db
@pytest.mark.usefixtures("cached_lists")
def test_lists_are_not_read_again_while_fresh() -> None:
    TermList.objects.create(name="t", language="", policy="self_harm",
                            purpose=TermList.Purpose.SEARCH_BLOCKED, terms="zzblockedzz")
    assert selectors.search_blocked_term("say zzblockedzz") == "zzblockedzz"
    with CaptureQueriesContext(connection) as queries:
        assert selectors.search_blocked_term("zzblockedzz now", language="en") == "zzblockedzz"
        assert selectors.search_blocked_names(["zzblockedzzfan", "cats"]) == {"zzblockedzzfan"}
        assert selectors.search_blocked_among(["zzblockedzz", "dogs"]) == {"zzblockedzz"}
        assert selectors.search_blocked_term("nothing here") is None
    assert len(queries) == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("cached_lists")
def test_staff_edits_apply_within_the_reload_time() -> None:
    terms = TermList.objects.create(name="t", language="es", policy="self_harm",
                                    purpose=TermList.Purpose.SEARCH_BLOCKED, terms="zzuno")
    assert selectors.search_blocked_term("zzuno", language="es-MX") == "zzuno"
    assert selectors.search_blocked_term("zzuno", language="en") is None  # another language's
    # A staff member adds a term and switches on a new list for every language.
    terms.terms = "zzuno\nzzdos"
    terms.save()
    TermList.objects.create(name="all", language="", policy="self_harm",
                            purpose=TermList.Purpose.SEARCH_BLOCKED, terms="zztres")
    time.sleep(RELOAD + 0.1)
    assert selectors.search_blocked_term("zzdos", language="es") == "zzdos"
    assert selectors.search_blocked_term("zztres", language="en") == "zztres"
    # ... and switches the Spanish list off.
    terms.is_active = False
    terms.save()
    time.sleep(RELOAD + 0.1)
    assert selectors.search_blocked_term("zzuno", language="es") is None
    assert selectors.search_blocked_term("zztres", language="es") == "zztres"
