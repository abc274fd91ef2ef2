"""Custom audiences, lookalikes and the audience-size estimate.

- Upload: the advertiser sends SHA-256 hex digests of e-mail addresses normalised as
  `lower(trim(email))` (the portal hashes in the browser or the advertiser beforehand; we
  never receive the addresses). They are matched in PostgreSQL against the same digest of
  each active account's e-mail; only the matches are kept (user ids), the uploaded
  digests are not stored. Fewer than `SWIPEME_ADS_AUDIENCE_MIN_SIZE` matches: the
  audience exists but does not serve (`selectors`), and the portal says so.
- Lookalike: each user's taste vector is the mean MiniLM embedding of the posts they
  completed or liked (analytics' `UserPostStats` joined with feed's `PostEmbedding`, the same
  signal the For You "similar" source uses); the seed's mean vector is the mean over the
  seed's members; the lookalike is the `size` users nearest it by cosine distance, seed
  members excluded. One SQL statement (pgvector's AVG and `<=>`).
- Estimate: a COUNT of active accounts matching the targeting (indexed filters and
  EXISTS), adults only when the targeting is personal or the category restricted (the
  targeting rules); below the minimum size it is shown as "fewer than N"."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.ads.conf import conf
from apps.ads.models import (
    AdvertiserOrg,
    AudienceMember,
    CustomAudience,
    Lookalike,
    LookalikeMember,
)
from apps.ads.services.orgs import Action, require
from apps.ads.targeting import AGE_BANDS, Targeting, interest_users_q
from apps.core.errors import ApplicationError, NotFoundError

User = get_user_model()
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def min_size() -> int:
    return int(conf("SWIPEME_ADS_AUDIENCE_MIN_SIZE"))


def parse_hashes(lines: Iterable[str]) -> tuple[list[str], int]:
    """(distinct valid digests, count of invalid lines). Blank lines and a header line
    are ignored."""
    valid: dict[str, None] = {}
    invalid = 0
    for raw in lines:
        value = str(raw).strip().strip('"').lower()
        if not value or value in ("email", "hashed_email", "sha256"):
            continue
        if _HEX64.match(value):
            valid.setdefault(value, None)
        else:
            invalid += 1
    return list(valid), invalid


def _match(audience: CustomAudience, digests: list[str]) -> int:
    table = AudienceMember._meta.db_table
    users = User._meta.db_table
    sql = f"""
            INSERT INTO {table} (audience_id, user_id)
            SELECT %s, u.id FROM {users} u
            WHERE u.is_active AND u.email <> ''
              AND encode(sha256(convert_to(lower(btrim(u.email)), 'UTF8')), 'hex') = ANY(%s)
            ON CONFLICT DO NOTHING
    """  # noqa: S608 - table names are the models'
    with connection.cursor() as cursor:
        cursor.execute(sql, [audience.pk, digests])
    return AudienceMember.objects.filter(audience=audience).count()


def audience_upload(
    *, user: object, org: AdvertiserOrg, name: str, lines: Iterable[str]
) -> CustomAudience:
    """A new custom audience from SHA-256 digests (one per line)."""
    require(user, org.pk, Action.AUDIENCES)
    digests, invalid = parse_hashes(lines)
    errors: dict[str, list[str]] = {}
    name = " ".join(str(name).split())
    if not 1 <= len(name) <= 120:
        errors["name"] = ["Give the audience a name (up to 120 characters)."]
    if not digests:
        errors["file"] = [
            "No SHA-256 hashed e-mail addresses found (64 hex characters a "
            "line, of the address in lower case without spaces)."
        ]
    elif len(digests) > conf("SWIPEME_ADS_AUDIENCE_MAX_UPLOAD"):
        errors["file"] = [f"At most {conf('SWIPEME_ADS_AUDIENCE_MAX_UPLOAD'):,} addresses."]
    elif invalid:
        errors["file"] = [
            f"{invalid} line(s) are not SHA-256 hex digests: hash each address before uploading."
        ]
    if errors:
        raise ApplicationError("Check the audience file.", code="invalid_audience", fields=errors)
    with transaction.atomic():
        audience = CustomAudience.objects.create(
            org=org, name=name, uploaded_count=len(digests), created_by_id=getattr(user, "pk", None)
        )
        audience.matched_count = _match(audience, digests)
        audience.state = CustomAudience.State.READY
        audience.save(update_fields=["matched_count", "state", "updated_at"])
    return audience


def audience_serves(audience: CustomAudience | Lookalike) -> bool:
    return audience.state == CustomAudience.State.READY and audience.matched_count >= min_size()


def audience_status_words(audience: CustomAudience | Lookalike) -> str:
    if audience.state != CustomAudience.State.READY:
        return "Matching…"
    if audience.matched_count < min_size():
        return (
            f"Too small to use: fewer than {min_size():,} people matched. Ads aimed "
            "only at it will not be shown."
        )
    return f"{audience.matched_count:,} people matched."


def lookalike_create(
    *, user: object, org: AdvertiserOrg, seed_id: int, size: int, name: str = ""
) -> Lookalike:
    require(user, org.pk, Action.AUDIENCES)
    seed = CustomAudience.objects.filter(org=org, pk=seed_id).first()
    if seed is None:
        raise NotFoundError("No such audience in this account.", code="audience_not_found")
    if not audience_serves(seed):
        raise ApplicationError(
            f"The seed audience needs at least {min_size():,} matched people.",
            code="seed_too_small",
        )
    high = int(conf("SWIPEME_ADS_LOOKALIKE_MAX_SIZE"))
    if type(size) is not int or not min_size() <= size <= high:
        raise ApplicationError(
            f"Choose a size between {min_size():,} and {high:,}.",
            code="invalid_size",
            fields={"size": ["Out of range."]},
        )
    lookalike = Lookalike.objects.create(
        org=org,
        seed=seed,
        size=size,
        name=(" ".join(str(name).split()) or f"Lookalike of {seed.name}")[:120],
    )
    lookalike_build(lookalike_id=lookalike.pk)
    lookalike.refresh_from_db()
    return lookalike


def lookalike_build(*, lookalike_id: int) -> int:
    """(Re)build a lookalike's members: the users nearest the seed's mean taste vector."""
    from apps.analytics.models import UserPostStats
    from apps.feed.models import PostEmbedding

    lookalike = Lookalike.objects.filter(pk=lookalike_id).first()
    if lookalike is None:
        return 0
    stats, emb = UserPostStats._meta.db_table, PostEmbedding._meta.db_table
    members, seed_members = LookalikeMember._meta.db_table, AudienceMember._meta.db_table
    users = User._meta.db_table
    sql = f"""
                WITH taste AS (
                    SELECT s.user_id, AVG(e.vector) AS v
                    FROM {stats} s JOIN {emb} e ON e.post_id = s.post_id
                    WHERE s.completed OR s.liked
                    GROUP BY s.user_id),
                seed AS (
                    SELECT AVG(t.v) AS v FROM taste t
                    WHERE t.user_id IN (SELECT user_id FROM {seed_members}
                                        WHERE audience_id = %(seed)s))
                INSERT INTO {members} (lookalike_id, user_id)
                SELECT %(lookalike)s, t.user_id
                FROM taste t CROSS JOIN seed
                JOIN {users} u ON u.id = t.user_id AND u.is_active
                WHERE seed.v IS NOT NULL
                  AND t.user_id NOT IN (SELECT user_id FROM {seed_members}
                                        WHERE audience_id = %(seed)s)
                ORDER BY t.v <=> seed.v, t.user_id
                LIMIT %(size)s
    """  # noqa: S608 - table names are the models'
    with transaction.atomic():
        LookalikeMember.objects.filter(lookalike=lookalike).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                sql, {"seed": lookalike.seed_id, "lookalike": lookalike.pk, "size": lookalike.size}
            )
        count = LookalikeMember.objects.filter(lookalike=lookalike).count()
        Lookalike.objects.filter(pk=lookalike.pk).update(
            matched_count=count, state=Lookalike.State.READY, updated_at=timezone.now()
        )
    return count


# --- the estimate ------------------------------------------------------------------------------


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def adult_born_by_date(today: date) -> date:
    """The latest date of birth of a known adult today (the estimate's and the watched
    topics' rule; `Viewer.known_adult` computes the same from the age)."""
    from django.conf import settings

    return _years_ago(today, int(settings.SWIPEME_ADULT_AGE))


def _age_q(bands: Iterable[str], today: date) -> Q:
    q = Q(pk__in=[])
    for band, low, high in AGE_BANDS:
        if band not in bands:
            continue
        born = Q(date_of_birth__lte=_years_ago(today, low))
        if high is not None:
            born &= Q(date_of_birth__gt=_years_ago(today, high + 1))
        q |= born
    return q


@dataclass(frozen=True)
class Estimate:
    count: int
    shown: str  # for people: "about 12,000 people" or "fewer than 100 people"
    too_small: bool


def audience_estimate(
    *, org: AdvertiserOrg, targeting: Targeting, restricted_category: str = ""
) -> Estimate:
    """How many accounts the targeting can reach (signed-out viewers not counted)."""
    from apps.accounts.models import Device

    today = timezone.localdate()
    users = User.objects.filter(is_active=True)
    if targeting.personal or restricted_category:
        users = users.filter(date_of_birth__lte=adult_born_by_date(today))
    if targeting.age_bands:
        users = users.filter(_age_q(targeting.age_bands, today))
    if targeting.countries:
        users = users.filter(country__in=targeting.countries)
    if targeting.languages:
        lang = Q(pk__in=[])
        for code in targeting.languages:
            lang |= Q(language__iexact=code) | Q(language__istartswith=f"{code}-")
        users = users.filter(lang)
    if targeting.regions:
        users = users.none()  # no region is known for accounts yet (a request's geo only)
    if targeting.interests:  # onboarding or watched topics: serving's rows (one rule)
        users = users.filter(interest_users_q(targeting.interests))
    # Content topics narrow where an ad shows (the posts around the slot), not who sees it:
    # they do not change the count.
    if targeting.devices:
        users = users.filter(
            Exists(Device.objects.filter(user_id=OuterRef("pk"), platform__in=targeting.devices))
        )
    if targeting.custom_audience_ids or targeting.lookalike_ids:
        # only this org's audiences count (ids from elsewhere match nobody)
        users = users.filter(
            Exists(
                AudienceMember.objects.filter(
                    user_id=OuterRef("pk"),
                    audience_id__in=targeting.custom_audience_ids,
                    audience__org=org,
                )
            )
            | Exists(
                LookalikeMember.objects.filter(
                    user_id=OuterRef("pk"),
                    lookalike_id__in=targeting.lookalike_ids,
                    lookalike__org=org,
                )
            )
        )
    count = users.count()
    floor = min_size()
    if count < floor:
        return Estimate(count=count, shown=f"fewer than {floor:,} people", too_small=True)
    rounded = int(float(f"{count:.2g}"))  # two significant figures
    return Estimate(count=count, shown=f"about {rounded:,} people", too_small=False)
