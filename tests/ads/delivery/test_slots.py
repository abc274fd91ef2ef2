"""Ad slots: the load across pages, never two in a row, never next to a sensitive post,
limited inventory away from mature themes."""

from __future__ import annotations

import random

from apps.ads.delivery.slots import AdLoad, SlotPost, after_page, plan


def page(
    n: int, *, sensitive: tuple[int, ...] = (), mature: tuple[int, ...] = ()
) -> list[SlotPost]:
    return [
        SlotPost(
            post_id=i, sensitive=i in sensitive, hashtags=("horror",) if i in mature else ("cats",)
        )
        for i in range(n)
    ]


def test_the_first_ad_comes_after_the_gap() -> None:
    slots, since, _ = plan(page(8), since_last_ad=0, gap=6, load=AdLoad(6, 6), rng=random.Random(1))
    assert [s.index for s in slots] == [6]  # after six organic posts
    assert since == 2


def test_the_gap_counts_across_pages_and_ads_never_touch() -> None:
    load, rng = AdLoad(6, 8), random.Random(2)
    since, gap, stream = 0, 0, []  # the feed as the viewer sees it: "p" post, "A" ad
    for _ in range(30):
        posts = page(8)
        slots, _, _ = plan(posts, since_last_ad=since, gap=gap, load=load, rng=rng)
        filled = [s.index for s in slots]
        for i in range(len(posts)):
            if i in filled:
                stream.append("A")
            stream.append("p")
        since, gap = after_page(
            len(posts), filled, since_last_ad=since, gap=gap, load=load, rng=rng
        )
    text = "".join(stream)
    assert "AA" not in text
    runs = [len(r) for r in text.split("A")[1:-1]]
    assert runs
    assert min(runs) >= 6
    assert max(runs) <= 8 + 1  # a gap of at most 8, plus the page's edge
    assert 1 / 9 <= text.count("A") / text.count("p") <= 1 / 6


def test_never_adjacent_to_a_sensitive_post() -> None:
    # Position 6 would sit between posts 5 and 6; post 6 is sensitive, so is 7's neighbour:
    # the slot slides to the first position with clean neighbours (8: posts 7 and 8).
    posts = page(10, sensitive=(6,))
    slots, _, _ = plan(posts, since_last_ad=0, gap=6, load=AdLoad(6, 6), rng=random.Random(0))
    assert [s.index for s in slots] == [8]
    for s in slots:
        assert not posts[s.index - 1].sensitive
        assert not posts[s.index].sensitive


def test_no_slot_first_or_last_on_a_page() -> None:
    slots, since, _ = plan(
        page(3), since_last_ad=10, gap=6, load=AdLoad(6, 6), rng=random.Random(0)
    )
    assert [s.index for s in slots] == [1]
    assert since == 2
    assert plan(page(1), since_last_ad=10, gap=6, load=AdLoad(6, 6), rng=random.Random(0))[0] == []


def test_limited_inventory_only_between_clean_posts() -> None:
    slots, _, _ = plan(
        page(8, mature=(5,)), since_last_ad=0, gap=6, load=AdLoad(6, 6), rng=random.Random(0)
    )
    assert [(s.index, s.allows_limited) for s in slots] == [(6, False)]
    slots, _, _ = plan(page(8), since_last_ad=0, gap=6, load=AdLoad(6, 6), rng=random.Random(0))
    assert slots[0].allows_limited


def test_an_unfilled_slot_does_not_count_as_an_ad() -> None:
    since, gap = after_page(8, [], since_last_ad=3, gap=7, load=AdLoad(6, 8), rng=random.Random(0))
    assert (since, gap) == (11, 7)
    since, _ = after_page(8, [5], since_last_ad=3, gap=7, load=AdLoad(6, 8), rng=random.Random(0))
    assert since == 3
