"""THE one place for ad targeting: what an ad group may target, and whether a viewer matches.

Rules (issue 19):
- Age bands are the only age targeting; an ad in a restricted category (alcohol, gambling,
  dating, financial services, weight loss) never serves to anyone not known to be an adult
  (a minor, a signed-out viewer, an account without a date of birth), and its ad group may
  not target the 13-17 band.
- Minors and viewers whose age is unknown get no personalised ads: an ad group that targets
  anything personal (interests, regions, custom audiences, lookalikes) does not match them;
  only contextual criteria apply — country, language, device (what the request says) and
  age band for a known minor.
- Signed-out viewers: contextual only (country, language, device); an age-banded group
  does not match (their age is unknown).
- Interests (personal) are a signed-in adult's onboarding topics and the topics of what
  they watch (`watched_topics`: posts they completed or liked recently, a topic counting
  when at least `SWIPEME_ADS_WATCHED_MIN_POSTS` of them carry it), stored per user by a
  task (`models.WatchedTopics`); serving (`viewer_for`) and the audience estimate
  (`interest_users_q`) read the same rows.
- Content topics (`topics`, feed.topics.TOPICS) are contextual: the slot's, not the
  viewer's — the topics of the organic posts on either side of it (`slot_topics`, through
  feed's `topics_of`: a post's topics are its hashtags'). They apply to everyone, signed-out
  viewers and minors included (`topic_matches`).

`validate_targeting` is called by the ad-group services; `viewer_matches` by the
eligibility selector (delivery asks it through `selectors.servable_ads`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.accounts.age import age_on
from apps.ads.models import AdGroup, RestrictedCategory
from apps.core.errors import ApplicationError
from apps.feed.topics import TOPICS, topics_of

MINOR_BAND = "13-17"
# (label, lowest age, highest age or None)
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    (MINOR_BAND, 13, 17),
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55+", 55, None),
)
AGE_BAND_NAMES = tuple(band for band, _, _ in AGE_BANDS)
DEVICES = tuple(AdGroup.Device.values)
RESTRICTED = frozenset(c for c in RestrictedCategory.values if c)
# Criteria that use what we know about a person (not what the request says).
PERSONAL_FIELDS = ("interests", "regions", "custom_audiences", "lookalikes")


def age_band_of(age: int | None) -> str:
    if age is None:
        return ""
    for band, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return band
    return ""


@dataclass(frozen=True)
class Viewer:
    """Who is asking for a feed page, as targeting sees them."""

    user_id: int | None = None  # None: signed out
    age: int | None = None  # None: signed out or no date of birth
    country: str = ""  # upper case; the account's, else the request's
    language: str = ""  # primary subtag, lower case ("en")
    device: str = ""  # ios | android | web
    region: str = ""  # ISO 3166-2 ("US-CA"), when known
    interests: frozenset[str] = frozenset()  # onboarding topics and watched topics
    audience_ids: frozenset[int] = field(default_factory=frozenset)
    lookalike_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def known_adult(self) -> bool:
        return self.age is not None and self.age >= settings.SWIPEME_ADULT_AGE

    @property
    def personalisable(self) -> bool:
        """Only signed-in adults get ads chosen by personal data."""
        return self.signed_in and self.known_adult

    @property
    def age_band(self) -> str:
        return age_band_of(self.age)


def norm_language(value: str) -> str:
    return value.split("-")[0].split("_")[0].strip().lower()[:8]


def viewer_for(
    user: object | None,
    *,
    country: str = "",
    language: str = "",
    device: str = "",
    region: str = "",
    today: date | None = None,
) -> Viewer:
    """The Viewer for a request: a signed-in user's age, country, interests (onboarding
    topics, and for a known adult the watched topics: `interests_of`) and audience
    memberships (three indexed reads), or a signed-out visitor's request context.
    `region` (ISO 3166-2, where the request comes from) counts for a signed-in user only,
    and only inside the user's country; a visitor's is never used (regions are personal
    targeting, which visitors get none of)."""
    from apps.ads.models import AudienceMember, LookalikeMember

    device = device if device in DEVICES else ""
    language = norm_language(language)
    user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
    if user_id is None:
        return Viewer(country=country.upper()[:2], language=language, device=device)
    born = getattr(user, "date_of_birth", None)
    age = age_on(born, today or timezone.localdate()) if born else None
    adult = age is not None and age >= settings.SWIPEME_ADULT_AGE
    interests = interests_of(int(user_id), adult=adult)
    audiences = frozenset(
        AudienceMember.objects.filter(user_id=user_id).values_list("audience_id", flat=True)
    )
    lookalikes = frozenset(
        LookalikeMember.objects.filter(user_id=user_id).values_list("lookalike_id", flat=True)
    )
    home = (getattr(user, "country", "") or country).upper()[:2]
    region = region.upper()
    return Viewer(
        user_id=int(user_id),
        age=age,
        region=region if home and region.startswith(home + "-") else "",
        country=home,
        language=norm_language(getattr(user, "language", "") or language),
        device=device,
        interests=frozenset(str(t) for t in interests),
        audience_ids=audiences,
        lookalike_ids=lookalikes,
    )


def watched_topics(hashtags_of_posts: Iterable[Iterable[str]], *, min_posts: int) -> frozenset[str]:
    """THE rule for interests from watching: the topics (feed's `topics_of`, as for a
    slot's content) carried by at least `min_posts` of the posts someone recently completed
    or liked (each post counts once per topic)."""
    counts: dict[str, int] = {}
    for tags in hashtags_of_posts:
        for topic in topics_of(tags):
            counts[topic] = counts.get(topic, 0) + 1
    return frozenset(t for t, n in counts.items() if n >= max(1, min_posts))


def interests_of(user_id: int, *, adult: bool) -> frozenset[str]:
    """A signed-in user's interest topics: the onboarding topics, and for a known adult the
    stored watched topics (`models.WatchedTopics`), in one statement. A missing or stale
    watched row (older than `SWIPEME_ADS_WATCHED_REFRESH_SECONDS`) puts the user on the
    refresh task's list (`services.interests.watched_topics_due`, one Redis command that
    never raises): the task computes it, serving never waits for it."""
    from django.db import connection

    from apps.ads.models import WatchedTopics
    from apps.feed.models import UserInterests

    sql = f"""SELECT (SELECT interests::json FROM {UserInterests._meta.db_table}
                      WHERE user_id = %(u)s),
                     w.topics, w.computed_at
              FROM (SELECT 1) one
              LEFT JOIN {WatchedTopics._meta.db_table} w ON %(adult)s AND w.user_id = %(u)s
    """  # noqa: S608 - table names are the models'
    with connection.cursor() as cursor:
        cursor.execute(sql, {"u": user_id, "adult": adult})
        onboarding, watched, computed_at = cursor.fetchone()
    if adult:
        from apps.ads.services.interests import watched_topics_due, watched_topics_stale

        if watched_topics_stale(computed_at):
            watched_topics_due(user_id)
    return frozenset(str(t) for t in (onboarding or [])) | frozenset(watched or ())


def interest_users_q(interests: Iterable[str]) -> Q:
    """The accounts (a `User` queryset's filter) whose interests share one of `interests`,
    by the same rows `interests_of` reads: onboarding topics, or watched topics (stored for
    known adults only; the estimate counts adults only for personal targeting anyway)."""
    from apps.ads.models import WatchedTopics
    from apps.feed.models import UserInterests

    wanted = sorted(set(interests))
    return Q(
        Exists(UserInterests.objects.filter(user_id=OuterRef("pk"), interests__has_any_keys=wanted))
    ) | Q(Exists(WatchedTopics.objects.filter(user_id=OuterRef("pk"), topics__overlap=wanted)))


@dataclass(frozen=True)
class Targeting:
    """An ad group's targeting as plain values (from a form, the API or the row)."""

    countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    custom_audience_ids: tuple[int, ...] = ()
    lookalike_ids: tuple[int, ...] = ()
    topics: tuple[str, ...] = ()  # content topics: contextual (the slot's neighbours)

    @property
    def personal(self) -> bool:
        return bool(
            self.interests or self.regions or self.custom_audience_ids or self.lookalike_ids
        )

    @classmethod
    def of(
        cls,
        group: AdGroup,
        *,
        audience_ids: Iterable[int] | None = None,
        lookalike_ids: Iterable[int] | None = None,
    ) -> Targeting:
        """From a saved group; pass the audience ids when already read (no query)."""
        if audience_ids is None:
            audience_ids = group.custom_audiences.values_list("id", flat=True)
        if lookalike_ids is None:
            lookalike_ids = group.lookalikes.values_list("id", flat=True)
        return cls(
            countries=tuple(group.countries),
            regions=tuple(group.regions),
            languages=tuple(group.languages),
            age_bands=tuple(group.age_bands),
            interests=tuple(group.interests),
            devices=tuple(group.devices),
            custom_audience_ids=tuple(audience_ids),
            lookalike_ids=tuple(lookalike_ids),
            topics=tuple(group.topics),
        )


def _codes(
    values: Sequence[str],
    *,
    name: str,
    length: int | None,
    upper: bool,
    errors: dict[str, list[str]],
    allowed: Sequence[str] | None = None,
    limit: int = 250,
    unknown: str | None = None,
) -> tuple[str, ...]:
    """`unknown`: how to call a value not in `allowed` (the allowed ones are then listed)."""
    out: dict[str, None] = {}
    if len(values) > limit:
        errors.setdefault(name, []).append(f"At most {limit} values.")
        return ()
    for raw in values:
        if not isinstance(raw, str):
            errors.setdefault(name, []).append("Each value must be text.")
            continue
        value = raw.strip().upper() if upper else raw.strip().lower()
        if allowed is not None and value not in allowed:
            errors.setdefault(name, []).append(
                f"{unknown}: {raw[:40]!r} (one of {', '.join(allowed)})."
                if unknown
                else f"Unknown value: {raw[:40]!r}."
            )
            continue
        if length is not None and (len(value) != length or not value.isalpha()):
            errors.setdefault(name, []).append(f"Not a valid code: {raw[:40]!r}.")
            continue
        if allowed is None and not (1 <= len(value) <= 8):
            errors.setdefault(name, []).append(f"Not a valid code: {raw[:40]!r}.")
            continue
        out.setdefault(value, None)
    return tuple(out)


def validate_targeting(
    targeting: Targeting, *, restricted_categories: Iterable[str] = ()
) -> Targeting:
    """Normalise and check an ad group's targeting; raises ApplicationError (400, with
    fields) in words. `restricted_categories`: those of the group's ads (a restricted ad
    may not be aimed at minors)."""
    errors: dict[str, list[str]] = {}
    countries = _codes(targeting.countries, name="countries", length=2, upper=True, errors=errors)
    regions = _codes(targeting.regions, name="regions", length=None, upper=True, errors=errors)
    for region in regions:
        if len(region) < 4 or region[2] != "-" or not region[:2].isalpha():
            errors.setdefault("regions", []).append(
                f"{region!r} is not an ISO 3166-2 region such as US-CA."
            )
        elif countries and region[:2] not in countries:
            errors.setdefault("regions", []).append(f"{region} is outside the targeted countries.")
    languages = tuple(
        dict.fromkeys(
            norm_language(v) for v in targeting.languages if isinstance(v, str) and norm_language(v)
        )
    )
    if any(not lang.isalpha() or not 2 <= len(lang) <= 3 for lang in languages):
        errors.setdefault("languages", []).append("Use language codes such as en or pt.")
    bands = _codes(
        targeting.age_bands,
        name="age_bands",
        length=None,
        upper=False,
        errors=errors,
        allowed=AGE_BAND_NAMES,
    )
    interests = _codes(
        targeting.interests,
        name="interests",
        length=None,
        upper=False,
        errors=errors,
        allowed=tuple(TOPICS),
        unknown="Not an interest",
    )
    devices = _codes(
        targeting.devices, name="devices", length=None, upper=False, errors=errors, allowed=DEVICES
    )
    topics = _codes(
        targeting.topics,
        name="topics",
        length=None,
        upper=False,
        errors=errors,
        allowed=tuple(TOPICS),
        unknown="Not a content topic",
    )
    restricted = sorted(set(restricted_categories) & RESTRICTED)
    if restricted and (not bands or MINOR_BAND in bands):
        errors.setdefault("age_bands", []).append(
            "Ads in a restricted category (" + ", ".join(restricted) + ") may only be "
            "shown to adults: choose age bands from 18 up, without 13-17."
        )
    normal = Targeting(
        countries=countries,
        regions=regions,
        languages=languages,
        age_bands=bands,
        interests=interests,
        devices=devices,
        custom_audience_ids=tuple(dict.fromkeys(targeting.custom_audience_ids)),
        lookalike_ids=tuple(dict.fromkeys(targeting.lookalike_ids)),
        topics=topics,
    )
    if normal.personal and bands and set(bands) <= {MINOR_BAND}:
        errors.setdefault("age_bands", []).append(
            "Ads for 13-17 year olds cannot use interests, regions or audiences: only age, "
            "country, language, device and content topic."
        )
    if errors:
        raise ApplicationError("Check the targeting.", code="invalid_targeting", fields=errors)
    return normal


def viewer_matches(targeting: Targeting, viewer: Viewer, *, restricted_category: str = "") -> bool:
    """Does this viewer match this ad group's targeting (for an ad of this category)?"""
    if restricted_category and not viewer.known_adult:
        return False
    if targeting.personal and not viewer.personalisable:
        return False  # minors, unknown ages and signed-out viewers: contextual only
    if targeting.age_bands and viewer.age_band not in targeting.age_bands:
        return False
    if targeting.countries and viewer.country not in targeting.countries:
        return False
    if targeting.languages and viewer.language not in targeting.languages:
        return False
    if targeting.devices and viewer.device not in targeting.devices:
        return False
    if targeting.regions and viewer.region not in targeting.regions:
        return False
    if targeting.interests and not viewer.interests & set(targeting.interests):
        return False
    if targeting.custom_audience_ids or targeting.lookalike_ids:
        in_audience = bool(viewer.audience_ids & set(targeting.custom_audience_ids))
        in_lookalike = bool(viewer.lookalike_ids & set(targeting.lookalike_ids))
        if not (in_audience or in_lookalike):
            return False
    return True


def slot_topics(before: Iterable[str], after: Iterable[str]) -> frozenset[str]:
    """A slot's content topics: those of the organic posts on either side of it (given as
    their hashtags), by the feed's one rule (`feed.topics.topics_of`)."""
    return topics_of(before) | topics_of(after)


def topic_matches(targeting: Targeting, topics: frozenset[str]) -> bool:
    """A topic-targeted group serves only in a slot among posts of one of its topics."""
    return not targeting.topics or not topics.isdisjoint(targeting.topics)
