"""The standard metrics every experiment can pick (staff edit them or add more in the
console): seeded by migration 0003 and by `manage.py experiments_seed_metrics` (a flushed
database, a test)."""

from __future__ import annotations

from typing import Any

# key, name, kind, higher_is_better, unit, scale, numerator, denominator, description;
# a measure is (source, event types, aggregation, field, table, day).
# Quantile metrics' quantile (Metric.quantile, from migration 0004 on).
QUANTILES = {"ttff_p95": 0.95}
STANDARD = [
    (
        "watch_time",
        "Watch time per user",
        "mean",
        True,
        "min",
        60000.0,
        ("events", "watch_end,skip", "sum", "watched_ms", "", None),
        None,
        "Minutes watched per user: the plays' watched_ms (watch_end and skip end a play).",
    ),
    (
        "sessions",
        "Sessions per user",
        "mean",
        True,
        "",
        1.0,
        ("events", "", "distinct", "session_id", "", None),
        None,
        "Distinct client sessions per user, counted per day.",
    ),
    (
        "retention_d1",
        "D1 retention",
        "mean",
        True,
        "",
        1.0,
        ("events", "", "returned", "", "", 1),
        None,
        "Share of users with any event 24-48 h after their first exposure.",
    ),
    (
        "retention_d7",
        "D7 retention",
        "mean",
        True,
        "",
        1.0,
        ("events", "", "returned", "", "", 7),
        None,
        "Share of users with any event on the 8th day (7-8 days) after their first exposure.",
    ),
    (
        "likes_per_user",
        "Likes per user",
        "mean",
        True,
        "",
        1.0,
        ("events", "like", "count", "", "", None),
        None,
        "Like events per user.",
    ),
    (
        "shares_per_user",
        "Shares per user",
        "mean",
        True,
        "",
        1.0,
        ("events", "share", "count", "", "", None),
        None,
        "Share events per user.",
    ),
    (
        "follows_per_user",
        "Follows per user",
        "mean",
        True,
        "",
        1.0,
        ("events", "follow", "count", "", "", None),
        None,
        "Follow events per user.",
    ),
    (
        "time_to_first_frame",
        "Time to first frame",
        "ratio",
        False,
        "ms",
        1.0,
        ("events", "qoe", "sum", "ttff_ms", "", None),
        ("events", "qoe", "with_field", "ttff_ms", "", None),
        "Mean time to first frame over the QoE reports that carry one (delta method).",
    ),
    (
        "rebuffers_per_play",
        "Rebuffers per play",
        "ratio",
        False,
        "",
        1.0,
        ("events", "qoe", "sum", "rebuffer_count", "", None),
        ("events", "play_start", "count", "", "", None),
        "Rebuffering events per play started (delta method).",
    ),
    (
        "rebuffer_ratio",
        "Rebuffer ratio",
        "ratio",
        False,
        "%",
        0.01,
        ("events", "qoe", "sum", "rebuffer_ms", "", None),
        ("events", "watch_end,skip", "sum", "watched_ms", "", None),
        "Stall time as a share of watch time, in % (QoE reports' rebuffer_ms over the plays' "
        "watched_ms; delta method). The QoE page's rebuffer ratio, per arm.",
    ),
    (
        "ttff_p95",
        "Time to first frame p95",
        "quantile",
        False,
        "ms",
        1.0,
        ("events", "qoe", "values", "ttff_ms", "", None),
        None,
        "95th percentile of time to first frame over the arm's QoE reports (the value at "
        "rank floor(0.95 n), as on the QoE page); its variance by the delta method over "
        "users (Deng et al. 2018), so a few users' slow devices do not pass for a real change.",
    ),
    (
        "errors_per_user",
        "Playback errors per user",
        "mean",
        False,
        "",
        1.0,
        ("events", "qoe", "with_field", "error", "", None),
        None,
        "QoE reports carrying an error code, per user (crashes and playback errors).",
    ),
    (
        "revenue_per_user",
        "Revenue per user",
        "mean",
        True,
        "USD",
        1.0,
        ("table", "", "sum", "", "revenue", None),
        None,
        "Succeeded payments in USD net of refunds, per user (payments table).",
    ),
]


def _measure(prefix: str, measure: tuple[Any, ...]) -> dict[str, Any]:
    source, types, aggregation, field, table, day = measure
    return {
        f"{prefix}_source": source,
        f"{prefix}_event_type": types,
        f"{prefix}_aggregation": aggregation,
        f"{prefix}_field": field,
        f"{prefix}_table": table,
        f"{prefix}_day": day,
    }


def seed_standard_metrics(metric_model: Any) -> int:
    """Create the missing ones (never changes an edited one); answers how many were made.
    `metric_model` is the model class (the migration passes its historical model)."""
    made = 0
    has_quantile = any(f.name == "quantile" for f in metric_model._meta.get_fields())
    for key, name, kind, higher, unit, scale, num, den, description in STANDARD:
        if key in QUANTILES and not has_quantile:
            continue  # migration 0003's model: 0005 adds it
        fields = {
            "name": name,
            "kind": kind,
            "higher_is_better": higher,
            "unit": unit,
            "scale": scale,
            "description": description,
            **_measure("numerator", num),
        }
        if den is not None:
            fields.update(_measure("denominator", den))
        if key in QUANTILES:
            fields["quantile"] = QUANTILES[key]
        made += metric_model.objects.get_or_create(key=key, defaults=fields)[1]
    return made
