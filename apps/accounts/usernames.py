"""Username rules, shared by sign-up (the allauth adapter) and the username-change service.

A username is 2-24 characters of letters, digits, underscore and period; it does not start
or end with a period nor contain two in a row; it is not a reserved word; it is written in
one script and has no characters that only look like Latin ones; and its *skeleton* (a
fold of look-alikes: 0→o, 1→l, 5→s, Cyrillic look-alikes→Latin, ...) differs from every
other user's, so
"paypa1" cannot impersonate "paypal".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from confusable_homoglyphs import confusables
from django.conf import settings
from django.core.exceptions import ValidationError

MIN_LENGTH = 2
MAX_LENGTH = 24

_ALLOWED = re.compile(r"^[\w.]+$")  # \w is Unicode letters, digits and underscore

RESERVED = frozenset(
    """
    about abuse account accounts activity ad admin administrator ads advertise
    advertiser advertising alert alerts analytics android anonymous api app apps archive
    assets auth billing blog bot bots business cdn checkout cms community compose
    contact copyright cs dashboard delete deleted dev developer developers discover dm
    dms docs download edit email explore faq feed feedback follow followers following
    foryou fyi guest help helpcenter home hq inbox info ios jobs legal live login logout
    mail media me message messages mod moderator moderators moderation my new news
    noreply no_reply notification notifications null official oauth page pages password
    payments policy post posts press privacy pro profile register report reports root
    safety search security services settings shop signin signout signup sound sounds
    staff static status store support swipe swipeme system team terms test tos trending
    trust undefined upload user username users verified verify video videos webmaster
    www you
    """.split()  # noqa: SIM905
)

# Digits and letters that are read as one another. Applied after Unicode confusables are
# folded to Latin, so a Cyrillic "paypal" look-alike and "paypa1" share the skeleton of "paypal".
_ASCII_FOLD = str.maketrans(
    {"0": "o", "1": "l", "i": "l", "!": "l", "|": "l", "3": "e", "4": "a", "5": "s",
     "7": "t", "8": "b", "9": "g", "2": "z", "6": "b"}
)


# Lower-case Cyrillic letters that read as Latin ones in most fonts but that Unicode's
# confusables table does not map (they are look-alikes of small capitals): "ѕам" is "sam".
_EXTRA_LOOKALIKES = {"в": "b", "к": "k", "м": "m", "н": "h", "п": "n", "т": "t", "ь": "b"}


def _latin_lookalike(char: str) -> str:
    """The Latin letter a non-Latin character imitates, or the character itself."""
    if char.isascii():
        return char
    if char in _EXTRA_LOOKALIKES:
        return _EXTRA_LOOKALIKES[char]
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"])
    if found:
        for homoglyph in found[0]["homoglyphs"]:
            candidate = str(homoglyph["c"])
            if len(candidate) == 1 and candidate.isascii() and candidate.isalnum():
                return candidate
    return char


def skeleton(username: str) -> str:
    """The look-alike fold used to refuse impersonating usernames. Case, separators
    (period, underscore), compatibility forms and confusable characters all fold away."""
    text = unicodedata.normalize("NFKC", username).casefold()
    text = "".join(_latin_lookalike(char) for char in text).casefold()
    text = text.replace("rn", "m").replace("vv", "w")
    text = text.translate(_ASCII_FOLD)
    return re.sub(r"[._]", "", text)[:64]


def validate_username_format(username: str) -> None:
    """Everything that can be decided without the database. Raises ValidationError."""
    if not MIN_LENGTH <= len(username) <= MAX_LENGTH:
        raise ValidationError(
            f"Usernames are {MIN_LENGTH} to {MAX_LENGTH} characters long.", code="length"
        )
    if not _ALLOWED.match(username):
        raise ValidationError(
            "Use only letters, digits, underscores and periods.", code="characters"
        )
    if username.startswith(".") or username.endswith("."):
        raise ValidationError("A username cannot start or end with a period.", code="period")
    if ".." in username:
        raise ValidationError("A username cannot contain two periods in a row.", code="period")
    if unicodedata.normalize("NFKC", username) != username:
        raise ValidationError("Use plain letters (no compatibility forms).", code="characters")
    folded = username.casefold()
    if folded in RESERVED or folded.replace(".", "").replace("_", "") in RESERVED:
        raise ValidationError("This username is reserved.", code="reserved")
    if skeleton(username) in {skeleton(word) for word in _RESERVED_SENSITIVE}:
        raise ValidationError("This username is reserved.", code="reserved")
    if confusables.is_mixed_script(username, allowed_aliases=["COMMON"]):
        raise ValidationError("Use letters from a single alphabet.", code="mixed_script")
    imitations = [c for c in username.casefold() if not c.isascii() and _latin_lookalike(c) != c]
    if not username.isascii() and (
        confusables.is_dangerous(username, preferred_aliases=[])
        or len(imitations) == sum(1 for c in username if not c.isascii())
    ):
        shown = ", ".join(dict.fromkeys(f"{c} looks like {_latin_lookalike(c)}"
                                        for c in imitations))
        raise ValidationError(
            "This username imitates Latin letters with look-alikes from another alphabet"
            + (f" ({shown})" if shown else "") + ".", code="confusable"
        )


# Reserved words that also may not be imitated with look-alikes ("adm1n", "supp0rt").
_RESERVED_SENSITIVE = ("admin", "administrator", "support", "swipeme", "staff", "official",
                       "moderator", "security", "verified", "help", "root", "system")


def validate_username_available(username: str, *, exclude_user_id: int | None = None) -> None:
    """Case-insensitive uniqueness and look-alike collisions with existing users."""
    from apps.accounts.models import User

    others = User.objects.all()
    if exclude_user_id is not None:
        others = others.exclude(pk=exclude_user_id)
    if others.filter(username__iexact=username).exists():
        raise ValidationError("This username is taken.", code="taken")
    if others.filter(username_skeleton=skeleton(username)).exists():
        raise ValidationError(
            "This username looks too much like an existing one.", code="lookalike"
        )


def validate_username(username: str, *, exclude_user_id: int | None = None) -> str:
    validate_username_format(username)
    validate_username_available(username, exclude_user_id=exclude_user_id)
    return username


def next_username_change_at(username_changed_at: datetime | None) -> datetime | None:
    """When a username changed at `username_changed_at` may change again (the cool-down,
    `SWIPEME_USERNAME_CHANGE_COOLDOWN`); None for a name never changed."""
    if username_changed_at is None:
        return None
    cooldown: timedelta = settings.SWIPEME_USERNAME_CHANGE_COOLDOWN
    return username_changed_at + cooldown
