"""Reports for the advertiser portal: `ad_report` (totals and rows by day, campaign, ad
group, ad, age band or country over a range of UTC days) and `report_csv`.

Counts and spend are sums of the daily table (`AdDailyStats`, rebuilt from the events by
`rollup`), so the spend reported is the spend charged and, once posted, the ledger's
(`billing`). Reach is never summed from cells: it is counted again from the events, exactly
(distinct viewers with a valid impression in the row's group and range), so frequency is
impressions / reach. Costs are integer micros rounded down; rates are floats. Five queries
(the membership, the sums, the rows' reach, the total reach, the labels), whatever the number
of rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from apps.ads.models import Ad, AdGroup, Campaign
from apps.ads.models.measurement import AdDailyStats, AdEvent, AdEventKind
from apps.ads.services.orgs import Action, require
from apps.core.errors import ApplicationError

DIMENSIONS = ("day", "campaign", "ad_group", "ad", "age_band", "country")
MAX_DAYS = 366
_COLUMN = {
    "day": "day",
    "campaign": "campaign_id",
    "ad_group": "ad_group_id",
    "ad": "ad_id",
    "age_band": "age_band",
    "country": "country",
}
_SUMS = (
    "impressions",
    "views_2s",
    "views_6s",
    "completions",
    "clicks",
    "conversions",
    "spend_micros",
    "invalid_events",
)


@dataclass
class ReportRow:
    key: str  # the day (ISO), the id, the age band or country ("" unknown); "total"
    label: str
    impressions: int = 0
    reach: int = 0
    views_2s: int = 0
    views_6s: int = 0
    completions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend_micros: int = 0
    invalid_events: int = 0

    @property
    def frequency(self) -> float | None:
        return round(self.impressions / self.reach, 2) if self.reach else None

    @property
    def ctr(self) -> float | None:  # clicks per impression, 0-1
        return self.clicks / self.impressions if self.impressions else None

    @property
    def cpm_micros(self) -> int | None:
        return self.spend_micros * 1000 // self.impressions if self.impressions else None

    @property
    def cpc_micros(self) -> int | None:
        return self.spend_micros // self.clicks if self.clicks else None

    @property
    def cpv_micros(self) -> int | None:  # per 2-second view
        return self.spend_micros // self.views_2s if self.views_2s else None

    @property
    def cpa_micros(self) -> int | None:
        return self.spend_micros // self.conversions if self.conversions else None


@dataclass
class Report:
    org_id: int
    since: date
    until: date
    by: str
    total: ReportRow
    rows: list[ReportRow] = field(default_factory=list)


def _range(since: date, until: date) -> tuple[datetime, datetime]:
    if until < since:
        raise ApplicationError(
            "The range ends before it starts.", fields={"until": ["On or after the start."]}
        )
    if (until - since).days >= MAX_DAYS:
        raise ApplicationError(
            f"At most {MAX_DAYS} days at a time.",
            fields={"since": [f"At most {MAX_DAYS} days before the end."]},
        )
    return (
        datetime.combine(since, time.min, tzinfo=UTC),
        datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _key(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _labels(by: str, keys: list[str]) -> dict[str, str]:
    ids = [int(k) for k in keys if k.isdigit()]
    model: Any = {"campaign": Campaign, "ad_group": AdGroup, "ad": Ad}.get(by)
    if model is None:
        return {k: (k or "Unknown") for k in keys}
    names = {
        str(pk): name for pk, name in model.objects.filter(pk__in=ids).values_list("pk", "name")
    }
    return {k: names.get(k, f"Deleted ({k})") for k in keys}


def ad_report(
    *,
    user: object,
    org_id: int,
    since: date,
    until: date,
    by: str = "day",
    campaign_id: int | None = None,
    ad_group_id: int | None = None,
    ad_id: int | None = None,
) -> Report:
    """The org's report over [since, until] (UTC days, inclusive), one row per `by` value,
    optionally narrowed to a campaign, ad group or ad. Members with reports only."""
    require(user, org_id, Action.REPORTS)
    if by not in DIMENSIONS:
        raise ApplicationError(
            "Unknown breakdown.", fields={"by": ["One of " + ", ".join(DIMENSIONS) + "."]}
        )
    start, end = _range(since, until)
    narrow = Q(org_id=org_id)
    for name, value in (
        ("campaign_id", campaign_id),
        ("ad_group_id", ad_group_id),
        ("ad_id", ad_id),
    ):
        if value is not None:
            narrow &= Q(**{name: value})
    column = _COLUMN[by]
    sums = {name: Sum(name) for name in _SUMS}
    cells = (
        AdDailyStats.objects.filter(narrow, day__gte=since, day__lte=until)
        .values(column)
        .annotate(**sums)
        .order_by(column)
    )
    impressions = AdEvent.objects.filter(
        narrow,
        kind=AdEventKind.IMPRESSION,
        invalid_reason="",
        created_at__gte=start,
        created_at__lt=end,
    )
    reach_rows: Any
    if by == "day":
        reach_rows = (
            impressions.annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values("day")
            .annotate(n=Count("viewer_key", distinct=True))
        )
    else:
        reach_rows = impressions.values(column).annotate(n=Count("viewer_key", distinct=True))
    reach = {_key(r[column]): r["n"] for r in reach_rows.order_by()}
    total_reach = impressions.aggregate(n=Count("viewer_key", distinct=True))["n"] or 0
    rows = []
    for cell in cells:
        key = _key(cell[column])
        rows.append(
            ReportRow(
                key=key,
                label=key,
                reach=reach.get(key, 0),
                **{name: int(cell[name] or 0) for name in _SUMS},
            )
        )
    labels = _labels(by, [r.key for r in rows])
    for row in rows:
        row.label = labels.get(row.key, row.key)
    total = ReportRow(
        key="total",
        label="Total",
        reach=total_reach,
        **{name: sum(getattr(r, name) for r in rows) for name in _SUMS},
    )
    if by == "day":
        rows.sort(key=lambda r: r.key)
    else:
        rows.sort(key=lambda r: (-r.spend_micros, -r.impressions, r.key))
    return Report(org_id=org_id, since=since, until=until, by=by, total=total, rows=rows)


def micros_text(micros: int | None) -> str:
    """Micros as major units with six decimals, exactly (no float): 1234567 → 1.234567."""
    if micros is None:
        return ""
    sign, micros = ("-", -micros) if micros < 0 else ("", micros)
    return f"{sign}{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _cell_text(value: str) -> str:
    # An advertiser-chosen name must not run as a formula in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


CSV_HEADER = [
    "breakdown",
    "key",
    "name",
    "impressions",
    "reach",
    "frequency",
    "views_2s",
    "views_6s",
    "completions",
    "clicks",
    "ctr",
    "conversions",
    "spend",
    "cpm",
    "cpc",
    "cpv",
    "cpa",
    "invalid_events",
]


def report_csv(report: Report) -> str:
    """The report as CSV (one line per row, then the total): money in major units."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in [*report.rows, report.total]:
        writer.writerow(
            [
                report.by if row is not report.total else "total",
                row.key,
                _cell_text(row.label),
                row.impressions,
                row.reach,
                "" if row.frequency is None else f"{row.frequency:.2f}",
                row.views_2s,
                row.views_6s,
                row.completions,
                row.clicks,
                "" if row.ctr is None else f"{row.ctr:.6f}",
                row.conversions,
                micros_text(row.spend_micros),
                micros_text(row.cpm_micros),
                micros_text(row.cpc_micros),
                micros_text(row.cpv_micros),
                micros_text(row.cpa_micros),
                row.invalid_events,
            ]
        )
    return out.getvalue()
