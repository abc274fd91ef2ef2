"""The Top tab: accounts named like the query first (up to three), then lives on air it
names (up to two), then a hashtag and a sound that match strongly, then videos."""

from __future__ import annotations

from apps.search import selectors
from apps.search.engine.text import plan_query
from apps.search.services import retrieval
from apps.search.services.query.answer import Item, Viewer
from apps.search.services.query.kinds import (
    Semantic,
    ranked_accounts,
    ranked_hashtags,
    ranked_sounds,
    signals_of,
    videos_by_score,
)
from apps.search.services.query.lives import ranked_lives
from apps.search.services.query.names import names_the_query
from apps.search.services.query.params import DEFAULT_LIMIT

TOP_ACCOUNTS = 3
# TikTok's Top shows LIVE results too: a live is there now, and gone when it ends.
TOP_LIVES = 2
# A new full query's embedding (semantic candidates) is waited for on Top only when its
# keyword videos do not fill a page; otherwise the embedding goes on in the background
# and the next search of the same words fuses its candidates (the Videos tab waits
# whenever they do not fill the candidate window).
TOP_SEMANTIC_WAIT_BELOW = DEFAULT_LIMIT


def name_query(query: str, prefix: bool) -> str:
    """What Top asks the engine for a hashtag and a sound: the query's words written
    together when it has several. Top shows one only when the query is its name written
    together (`names_the_query`), which the engine's joined term finds, and its words as
    separate typo lookups over the name tier's dictionary (every handle's, a million) are
    most of a full-size Top search's time (two of them: 14-17 ms of CPU, against 4-6 ms
    for the joined word). One word, or a script written without spaces: the query itself."""
    joined = plan_query(query, prefix=prefix).joined
    return joined.text if joined is not None else query


def ranked_top(query: str, viewer: Viewer, window: int, prefix: bool,
               semantic: Semantic | None = None) -> list[Item]:
    """Accounts named like the query first (up to three), then lives on air it names (up
    to two), then a hashtag and a sound that match strongly, then videos."""
    # The four kinds' engine lookups in two engine calls at once (the name for a hashtag
    # and a sound, `name_query`, on the engine pool; the query's words for videos and
    # accounts here: `retrieval.start_keyword_hits_many`); then each kind's one
    # statement, in turn (the videos' with the on-air probe, one round trip).
    names = retrieval.start_keyword_hits_many(
        [("hashtag", 5), ("sound", 5)], name_query(query, prefix), prefix=prefix)
    video_hits, account_hits = retrieval.keyword_hits_many(
        [("video", window), ("account", TOP_ACCOUNTS * 5)], query, prefix=prefix)
    tag_hits, sound_hits = names.result()
    signals = signals_of(viewer)
    semantic = semantic if semantic is not None else Semantic()
    relevance, semantic.use = retrieval.video_relevance(
        query, limit=window, prefix=prefix, semantic=semantic.use, hits=video_hits,
        wait_below=TOP_SEMANTIC_WAIT_BELOW)
    facts, on_air = selectors.video_facts_and_on_air(viewer=viewer, ids=list(relevance))
    videos = videos_by_score(facts, relevance, viewer, signals)
    accounts = [item for item in ranked_accounts(query, viewer, TOP_ACCOUNTS * 5, prefix,
                                                 signals, account_hits)
                if names_the_query(query, (item[1].username, item[1].display_name),
                                   prefix=prefix, leading_words=True)][:TOP_ACCOUNTS]
    strong: list[Item] = ranked_lives(query, viewer, TOP_LIVES, prefix, on_air)
    tags = ranked_hashtags(query, viewer, 5, prefix, tag_hits)
    if tags and names_the_query(query, (tags[0][1].name,), prefix=prefix):
        strong.append(tags[0])
    sounds = ranked_sounds(query, viewer, 5, prefix, sound_hits)
    if sounds and names_the_query(query, (sounds[0][1].title,), prefix=prefix):
        strong.append(sounds[0])
    return accounts + strong + videos
