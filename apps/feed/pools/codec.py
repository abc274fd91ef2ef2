"""The pools as JSON for Redis (published by the reco task, read by every serving process)."""

from __future__ import annotations

import json

import numpy as np

from apps.feed.pools.catalogue import Catalogue, Pools


def dumps(pools: Pools) -> str:
    cat = pools.catalogue
    body = {
        "ids": cat.ids.tolist(), "author": cat.author.tolist(), "sound": cat.sound.tolist(),
        "language": cat.language, "published": cat.published.tolist(),
        "duration": cat.duration.tolist(), "views": cat.views.tolist(),
        "likes": cat.likes.tolist(), "comments": cat.comments.tolist(),
        "shares": cat.shares.tolist(), "impressions": cat.impressions.tolist(),
        "completions": cat.completions.tolist(), "trend": cat.trend.tolist(),
        "new_creator": cat.new_creator.astype(int).tolist(),
        "hashtags": [list(h) for h in cat.hashtags],
        "restricted": (cat.restricted.astype(int).tolist() if cat.restricted is not None
                       else [0] * len(cat)),
        "trending": pools.trending.tolist(), "fresh": pools.fresh.tolist(),
        "by_language": {k: v.tolist() for k, v in pools.by_language.items()},
        "by_hashtag": {k: v.tolist() for k, v in pools.by_hashtag.items()},
        "by_sound": {str(k): v.tolist() for k, v in pools.by_sound.items()},
        "country": cat.country, "by_region": {k: v.tolist() for k, v in pools.by_region.items()},
        "trending_window": pools.trending_window,
    }
    return json.dumps(body, separators=(",", ":"))


def loads(stamp: str, payload: str) -> Pools:
    b = json.loads(payload)
    f32 = np.float32
    cat = Catalogue(
        ids=np.array(b["ids"], dtype=np.int64), author=np.array(b["author"], dtype=np.int64),
        sound=np.array(b["sound"], dtype=np.int64), language=b["language"],
        published=np.array(b["published"], dtype=np.float64),
        duration=np.array(b["duration"], dtype=f32), views=np.array(b["views"], dtype=f32),
        likes=np.array(b["likes"], dtype=f32), comments=np.array(b["comments"], dtype=f32),
        shares=np.array(b["shares"], dtype=f32),
        impressions=np.array(b["impressions"], dtype=f32),
        completions=np.array(b["completions"], dtype=f32),
        trend=np.array(b["trend"], dtype=f32),
        new_creator=np.array(b["new_creator"], dtype=bool),
        hashtags=[tuple(h) for h in b["hashtags"]],
        restricted=np.array(b["restricted"], dtype=bool),
        country=b.get("country") or [],
    )
    i64 = np.int64
    return Pools(
        stamp=stamp, catalogue=cat, trending=np.array(b["trending"], dtype=i64),
        fresh=np.array(b["fresh"], dtype=i64),
        by_language={k: np.array(v, dtype=i64) for k, v in b["by_language"].items()},
        by_hashtag={k: np.array(v, dtype=i64) for k, v in b["by_hashtag"].items()},
        by_sound={int(k): np.array(v, dtype=i64) for k, v in b["by_sound"].items()},
        by_region={k: np.array(v, dtype=i64) for k, v in b.get("by_region", {}).items()},
        trending_window=b.get("trending_window", ""),
    )
