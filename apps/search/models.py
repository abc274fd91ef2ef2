from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone

from apps.core.models import SnowflakeModel

# --- history, trending and click-through (S4) -----------------------------------------------
# Telemetry-derived tables keep bare ids (no foreign keys), like analytics': deleting a
# hashtag or a user is not blocked by its counts. History belongs to a user and goes with them.

class SearchHistory(SnowflakeModel):
    """A signed-in user's recent full searches: one row per normalised query, `searched_at`
    moved to now when it is searched again (so a repeat goes to the top)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                         db_index=False)
    query = models.CharField(max_length=200)
    normalized = models.CharField(max_length=200)
    searched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "normalized"],
                                           name="search_history_user_query")]
        indexes = [models.Index(fields=["user", "-searched_at"], name="search_history_recent")]

    def __str__(self) -> str:
        return self.query


class SearchTermHour(models.Model):
    """Searches of one normalised query in one UTC hour, and clicks on its results."""

    term = models.CharField(max_length=200)
    hour = models.DateTimeField()
    searches = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "hour"], name="search_term_hour")]
        indexes = [models.Index(fields=["hour"], name="search_term_hour_hour")]

    def __str__(self) -> str:
        return f"{self.term} @ {self.hour:%Y-%m-%d %H}h"


class SearchTermUser(models.Model):
    """Distinct signed-in searchers of a term per UTC day (the trending threshold: one
    person, or one person's signed-out sessions, cannot make a term trend)."""

    term = models.CharField(max_length=200)
    day = models.DateField()
    user_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "day", "user_id"],
                                           name="search_term_user")]
        indexes = [models.Index(fields=["day"], name="search_term_user_day"),
                   models.Index(fields=["user_id"], name="search_term_user_user")]

    def __str__(self) -> str:
        return f"{self.term} by {self.user_id} on {self.day}"


class HashtagHour(models.Model):
    """Views (plays started) of posts carrying a hashtag, per UTC hour."""

    hashtag_id = models.BigIntegerField()
    hour = models.DateTimeField()
    views = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hashtag_id", "hour"],
                                           name="search_hashtag_hour")]
        indexes = [models.Index(fields=["hour"], name="search_hashtag_hour_hour")]

    def __str__(self) -> str:
        return f"#{self.hashtag_id} @ {self.hour:%Y-%m-%d %H}h"


class HashtagViewer(models.Model):
    """Distinct signed-in viewers of a hashtag's posts per UTC day (the trending threshold)."""

    hashtag_id = models.BigIntegerField()
    day = models.DateField()
    user_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hashtag_id", "day", "user_id"],
                                           name="search_hashtag_viewer")]
        indexes = [models.Index(fields=["day"], name="search_hashtag_viewer_day"),
                   models.Index(fields=["user_id"], name="search_hashtag_viewer_user")]

    def __str__(self) -> str:
        return f"#{self.hashtag_id} seen by {self.user_id} on {self.day}"


class SearchPositionDay(models.Model):
    """Results shown and clicked at each position of a tab per UTC day (click-through by
    position). A search with n results counts an impression at positions 0..min(n, 50)-1."""

    day = models.DateField()
    tab = models.CharField(max_length=16)
    position = models.PositiveSmallIntegerField()
    impressions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "tab", "position"],
                                           name="search_position_day")]

    def __str__(self) -> str:
        return f"{self.tab}[{self.position}] on {self.day}"


class SearchSeen(models.Model):
    """Which term a `search_id` searched, per owner (`u:<id>` or `s:<session>`), so that a
    later `search_click` is counted for its query. Pruned after two days."""

    owner = models.CharField(max_length=80)
    search_id = models.CharField(max_length=64)
    term = models.CharField(max_length=200)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "search_id"], name="search_seen")]
        indexes = [models.Index(fields=["seen_at"], name="search_seen_at")]

    def __str__(self) -> str:
        return f"{self.owner} {self.search_id}"


class SearchAppliedEntry(models.Model):
    """Event-log entries the search consumer group applied (its exactly-once record, as
    analytics.AppliedEntry is analytics')."""

    stream = models.CharField(max_length=100)
    entry_id = models.CharField(max_length=40)
    applied_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "entry_id"],
                                           name="search_applied_entry")]
        indexes = [models.Index(fields=["applied_at"], name="search_applied_entry_at")]

    def __str__(self) -> str:
        return f"{self.stream} {self.entry_id}"


class Trending(models.Model):
    """The last computed trending lists (replaced whole by the beat task): searches (`term`)
    and hashtags (`hashtag_id`), best first."""

    class Kind(models.TextChoices):
        SEARCH = "search"
        HASHTAG = "hashtag"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    rank = models.PositiveSmallIntegerField()
    term = models.CharField(max_length=200, blank=True)
    hashtag_id = models.BigIntegerField(null=True, blank=True)
    score = models.FloatField()
    recent = models.BigIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "rank"],
                                               name="search_trending_rank")]
        ordering = ["kind", "rank"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.rank}"


# --- the index outbox (S2: apps/search/indexing) --------------------------------------------

class IndexOutbox(models.Model):
    """"This object changed, index it again": written in the same transaction as the change
    (lower apps' hooks, `apps.search.indexing.outbox`), deleted by the drain in the
    transaction that applied it to the index. Not unique: a change committed while the
    drain holds an older row for the same object gets its own row (a unique row would be
    deleted with the older state indexed); the drain collapses duplicates per batch."""

    kind = models.CharField(max_length=8)  # apps.search.engine.base.Kind
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="search_outbox_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


# --- the PostgreSQL engine's index (S1: apps/search/engine/postgres_backend.py) -------------
# Derived data like the tantivy directory: rebuilt from the source tables by search_rebuild.

class SearchDocument(models.Model):
    """One indexed entry of `PostgresBackend`. `tsv` is built from `engine.text` tokens
    (weights A names, B hashtags/sounds, C captions), so PostgreSQL's own parser and
    dictionaries never re-tokenise it; `fields` keeps the texts as given."""

    kind = models.CharField(max_length=8)  # apps.search.engine.base.Kind
    object_id = models.BigIntegerField()
    fields = models.JSONField(default=dict)
    normalized = models.TextField(default="")  # all tokens, space separated
    tsv = SearchVectorField()
    popularity = models.FloatField(default=0.0)
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"],
                                               name="search_document_key")]
        indexes = [GinIndex(fields=["tsv"], name="search_document_tsv")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class SearchLexicon(models.Model):
    """Every distinct indexable word (4+ characters, spaced scripts) of `SearchDocument`,
    with a trigram index: a query word's typo variants are looked up here (pg_trgm
    candidates, then the exact edit distance) and searched as exact lexemes. Words of
    deleted documents stay until `clear` (they only cost a lookup)."""

    term = models.CharField(max_length=64, primary_key=True)

    class Meta:
        indexes = [GinIndex(fields=["term"], opclasses=["gin_trgm_ops"],
                            name="search_lexicon_trgm")]

    def __str__(self) -> str:
        return self.term


class SearchEngineState(models.Model):
    """Per-backend flags that outlive a process (`is_built` after a complete rebuild)."""

    backend = models.CharField(max_length=32, primary_key=True)
    built_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.backend
