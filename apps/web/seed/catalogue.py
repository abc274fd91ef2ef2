"""The demo catalogue: ~30 demo users who follow each other, a dozen licensed library
sounds, and a few hundred posts (hashtags, @mentions, library sounds) whose clips go
through the real media pipeline, with comments (replies, @mentions, likes), likes,
favourites and shares.

- Media: each post uploads its own copy of one of a small set of generated clips through
  `media.services` (the tus path), so the workers that `make run` starts transcode them in
  the background and content's playable hook publishes each post when its video plays.
- Posts are made with `content.services.post_create` (captions parsed into hashtag and
  mention rows, the library sound checked against its licence and territories).
- Engagement and comments are arranged as rows (the posts are still processing, and the
  services only accept published posts; a seed should not notify anyone either), then the
  counters are rebuilt from the rows with the reconcile services, as an operator would.
- Idempotent: users, follows and sounds are get-or-create; posts are counted per author and
  only the missing ones are made (with their engagement), so a re-run creates nothing and
  `--posts` higher than before adds the difference.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.files import File
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from apps.accounts.hooks import account_changed
from apps.accounts.models import User
from apps.comments.models import Comment, CommentLike, CommentMention
from apps.comments.services import comment_counters_reconcile, rank_for
from apps.content import services as content_services
from apps.content.hooks import content_changed
from apps.content.models import Post, Sound
from apps.core.ids import allocate_ids
from apps.engagement.models import EngagementSettings, Favourite, Like, Share
from apps.engagement.services import counters_reconcile
from apps.media import services as media_services
from apps.media.models import MediaAsset
from apps.social.models import Follow
from apps.social.services import follow_create
from apps.web.seed import media

logger = logging.getLogger(__name__)


def _rng(key: str) -> random.Random:
    """Demo data, not secrets: a seeded generator, so every run picks the same."""
    return random.Random(key)  # noqa: S311

DEMO_PASSWORD = "demo-password"
DEMO_ACCOUNT_AGE = timedelta(days=120)
DISTINCT_CLIPS = 24
POSTS_PER_COMMIT = 25
# The first posts of a fresh catalogue, processed first (user queue, shortest clips).
STARTER_POSTS = 4
CHUNK = 256 * 1024

# (username, display name, bio, country, language)
DEMO_USERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("maya", "Maya Chen", "Dancer. Choreo every Friday.", "US", "en"),
    ("leo", "Leo Martins", "Street food in 60 seconds.", "BR", "pt-BR"),
    ("sofia", "Sofia Rossi", "Bouldering and bad puns.", "IT", "it"),
    ("kenji", "Kenji Sato", "Pixel art timelapses.", "JP", "ja"),
    ("amara", "Amara Okafor", "Science, fast.", "NG", "en"),
    ("noah", "Noah Fischer", "Skateboards and sunsets.", "DE", "de"),
    ("priya", "Priya Nair", "Desk setups & tiny desks.", "IN", "en"),
    ("lucas", "Lucas Moreau", "Café au lait, every morning.", "FR", "fr"),
    ("emma", "Emma Walsh", "Plants > people (mostly).", "IE", "en"),
    ("diego", "Diego Herrera", "Football tricks, daily.", "MX", "es"),
    ("hana", "Hana Kim", "K-beauty minus the fluff.", "KR", "ko"),
    ("omar", "Omar Haddad", "Coding in under a minute.", "AE", "en"),
    ("zoe", "Zoe Turner", "Thrift flips.", "GB", "en"),
    ("mateo", "Mateo Silva", "Guitar loops.", "AR", "es"),
    ("ines", "Inês Costa", "Surf report from Nazaré.", "PT", "pt"),
    ("felix", "Felix Berg", "Mountain bike lines.", "AT", "de"),
    ("aisha", "Aisha Bello", "Afrobeats dance classes.", "NG", "en"),
    ("tom", "Tom Becker", "Dad jokes, professionally.", "US", "en"),
    ("lena", "Lena Novak", "Baking bread badly, then well.", "CZ", "cs"),
    ("ravi", "Ravi Patel", "Cricket and chai.", "IN", "en"),
    ("chloe", "Chloé Dubois", "Paris on a budget.", "FR", "fr"),
    ("sam", "Sam Rivera", "Tiny home build, week by week.", "US", "en"),
    ("yuki", "Yuki Tanaka", "Cats of Tokyo.", "JP", "ja"),
    ("nina", "Nina Petrova", "Ballet, barefoot.", "BG", "bg"),
    ("jack", "Jack O'Brien", "Fishing fails.", "AU", "en"),
    ("maria", "María López", "Abuela's recipes.", "ES", "es"),
    ("ben", "Ben Carter", "Speedcubing.", "CA", "en"),
    ("lily", "Lily Zhang", "Watercolour in 30 s.", "SG", "en"),
    ("kofi", "Kofi Mensah", "Sneaker restorations.", "GH", "en"),
    ("elsa", "Elsa Lund", "Nordic walks and cold plunges.", "SE", "sv"),
)

# Library sounds: territories per track (most worldwide; a few regional licences, so the
# demo shows posts muted for viewers elsewhere).
TRACK_TERRITORIES: dict[int, list[str]] = {
    3: ["US", "CA", "GB", "IE", "AU"],
    7: ["FR", "DE", "AT", "IT", "ES", "PT", "SE", "CZ", "BG"],
    10: ["BR", "AR", "MX"],
}

HASHTAGS = (
    "fyp", "dance", "foodtok", "climbing", "pixelart", "science", "skate", "desksetup",
    "coffee", "plants", "football", "beauty", "coding", "thrift", "guitar", "surf", "mtb",
    "afrobeats", "dadjokes", "baking", "cricket", "travel", "tinyhome", "cats", "ballet",
    "fishing", "recipe", "speedcubing", "watercolor", "sneakers", "wellness", "tutorial",
    "satisfying", "weekend", "diy", "comedy", "music",
)
CAPTION_OPENERS = (
    "Tried this for the first time", "Day {n} of posting until it clicks",
    "You asked, so here it is", "Okay this one took 40 takes", "Quick one before work",
    "Rate it honestly", "The ending got me", "Trying the trend", "Behind the scenes",
    "Part {n}", "Weekend mode", "Not me doing this again", "Tutorial in the comments",
    "Found this on my camera roll", "Easy version for beginners",
)
COMMENTS = (
    "this is so good", "how did you do that??", "the ending 😂", "tutorial please",
    "saving this for later", "came back to watch again", "underrated", "need part 2",
    "the sound choice 🔥", "who else is here from the fyp", "okay I'm trying this tomorrow",
    "this made my day", "10/10", "wait what", "the colours!!", "so satisfying",
    "first try? no way", "teach me", "bookmarking", "this is art",
)
REPLIES = (
    "right?!", "same here", "agreed", "haha exactly", "I did it, it works",
    "check the pinned comment", "lol yes", "this 👆", "fr", "thank you!",
)
COLLECTION_NAMES = ("Recipes", "To try", "Music", "Inspo")


@dataclass
class Report:
    users_created: int = 0
    follows_created: int = 0
    sounds_created: int = 0
    posts_created: int = 0
    likes: int = 0
    comments: int = 0
    favourites: int = 0
    shares: int = 0
    new_post_ids: list[int] = field(default_factory=list)
    # post id -> the key its random choices derive from (the same on every run)
    post_keys: dict[int, str] = field(default_factory=dict)


# --- users, follows, sounds ------------------------------------------------------------------


def ensure_users(report: Report) -> list[User]:
    users = []
    # one hash for the one published demo password: thirty slow hashes cost `make run` half
    # a minute before its first upload
    hashed = make_password(DEMO_PASSWORD)
    for username, name, bio, country, language in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "email": f"{username}@demo.swipeme.local", "display_name": name, "bio": bio,
                "date_of_birth": date(1990 + len(username) % 10, 5, 17),
                "country": country, "language": language,
                # Established creators: moderation's spam check rightly holds a brand-new
                # account that posts ten videos within the hour, which is what a seed does.
                "date_joined": timezone.now() - DEMO_ACCOUNT_AGE,
            },
        )
        if created:
            user.password = hashed
            user.save(update_fields=["password"])
            account_changed(user_ids=[user.pk])  # as the sign-up does: search indexes it
            report.users_created += 1
        elif not user.country and not user.language:  # demo accounts from an older seed
            User.objects.filter(pk=user.pk).update(country=country, language=language)
            user.country, user.language = country, language
        EmailAddress.objects.get_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True})
        users.append(user)
    return users


@transaction.atomic  # one commit for all of them
def ensure_follows(users: list[User], report: Report) -> None:
    """Each demo user follows 6 to 14 others (fixed by the seed, so re-runs agree)."""
    existing = set(Follow.objects.filter(follower__in=users, followee__in=users)
                   .values_list("follower_id", "followee_id"))
    for i, user in enumerate(users):
        rng = _rng(f"follows:{user.username}")
        others = [u for u in users if u.pk != user.pk]
        # the first accounts are the "popular" ones: everyone is likelier to follow them
        weights = [1.0 / (1 + j * 0.15) for j in range(len(others))]
        picked: set[int] = set()
        while len(picked) < 6 + i % 9:
            picked.add(rng.choices(range(len(others)), weights)[0])
        for j in sorted(picked):
            if (user.pk, others[j].pk) not in existing:
                follow_create(follower=user, followee=others[j])
                report.follows_created += 1


def ensure_sounds(report: Report) -> list[Sound]:
    sounds = []
    expires = timezone.now() + timedelta(days=3 * 365)
    for index, (title, artist) in enumerate(media.TRACKS):
        sound = Sound.objects.filter(kind=Sound.Kind.LIBRARY, title=title, artist=artist).first()
        if sound is None:
            audio, cover = media.make_track(index)
            sound = Sound(kind=Sound.Kind.LIBRARY, title=title, artist=artist,
                          duration_ms=media.TRACK_SECONDS * 1000,
                          rights_holder=f"{artist} Music Ltd",
                          territories=TRACK_TERRITORIES.get(index, []),
                          allowed_uses=[Sound.Use.POSTS], licence_expires_at=expires)
            slug = title.lower().replace(" ", "-")
            with audio.open("rb") as audio_file, cover.open("rb") as cover_file:
                sound.audio_file.save(f"{slug}.m4a", File(audio_file), save=False)
                sound.cover.save(f"{slug}.png", File(cover_file), save=False)
            sound.full_clean()
            sound.save()
            content_changed(kind="sound", ids=[sound.pk])  # as the admin does
            report.sounds_created += 1
        sounds.append(sound)
    return sounds


# --- posts ------------------------------------------------------------------------------------


def _caption(rng: random.Random, author: User, users: list[User], n: int) -> str:
    opener = rng.choice(CAPTION_OPENERS).format(n=n + 2)
    tags = rng.sample(HASHTAGS, rng.randint(1, 4))
    if rng.random() < 0.5:
        tags[0] = "fyp"
    parts = [opener]
    if rng.random() < 0.3:
        friend = rng.choice([u for u in users if u.pk != author.pk])
        parts.append(f"with @{friend.username}")
    parts.append(" ".join(f"#{tag}" for tag in dict.fromkeys(tags)))
    return " ".join(parts)


def _upload(owner: User, path: Path, priority: str) -> int:
    """Upload a file as `owner` through the media service's tus path; returns the asset id.
    Completing it enqueues processing (after commit) on `priority`'s queue."""
    size = path.stat().st_size
    asset = media_services.upload_create(owner_id=owner.pk, size=size, content_type="video/mp4",
                                         priority=priority)

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                yield block

    media_services.upload_append(asset_id=asset.pk, offset=0, length=size, chunks=chunks())
    return asset.pk


def posts_plan(total: int, users: list[User]) -> dict[int, int]:
    """How many demo posts each author should have (user id -> count): round robin, with
    the first authors a little busier."""
    plan = {user.pk: 0 for user in users}
    for i in range(total):
        plan[users[i % len(users)].pk] += 1
    return plan


def create_posts(total: int, users: list[User], sounds: list[Sound], report: Report) -> None:
    have = dict(Post.objects.filter(author__in=users).values("author_id")
                .annotate(n=Count("id")).values_list("author_id", "n"))
    plan = posts_plan(total, users)
    missing = sum(max(plan[u.pk] - have.get(u.pk, 0), 0) for u in users)
    if not missing:
        return
    todo = [(round_, position, author)
            for round_ in range(max(plan.values(), default=0))
            for position, author in enumerate(users)
            if have.get(author.pk, 0) <= round_ < plan[author.pk]]
    # The first few posts of a fresh catalogue come first, alone, from the shortest clips
    # and on the user-upload queue, so the feed has videos within a minute of `make run`;
    # the rest follows on the bulk queue, which never holds up a person's upload.
    count = min(DISTINCT_CLIPS, max(missing, 1))
    starters = [entry for entry in todo if entry[0] * len(users) + entry[1] < STARTER_POSTS]
    rest = [entry for entry in todo if entry not in starters]
    batches = [(starters, MediaAsset.Priority.USER)] if starters else []
    # A commit per batch rather than per post; each batch's uploads start processing when
    # it commits.
    batches += [(rest[start:start + POSTS_PER_COMMIT], MediaAsset.Priority.BULK)
                for start in range(0, len(rest), POSTS_PER_COMMIT)]
    clips: dict[int, media.Clip] = {}
    for batch, priority in batches:
        numbers = [round_ * len(users) + position for round_, position, _ in batch]
        clips.update(media.make_clips([_clip_index(n, count) for n in numbers
                                       if _clip_index(n, count) not in clips]))
        with transaction.atomic():
            for (round_, _, author), n in zip(batch, numbers, strict=True):
                _create_post(author, round_, n, users, sounds, clips[_clip_index(n, count)],
                             report, priority)
    report.posts_created = len(todo)


def _clip_index(n: int, count: int) -> int:
    """The clip of the n-th post: the starters get the shortest clips (5 s, every
    SECONDS_CYCLE-th), the others go round all of them."""
    if n < STARTER_POSTS:
        return (n * media.SECONDS_CYCLE) % count
    return n % count


def _create_post(author: User, round_: int, n: int, users: list[User], sounds: list[Sound],
                 clip: media.Clip, report: Report, priority: str) -> None:
    rng = _rng(f"post:{author.username}:{round_}")
    usable = [s for s in sounds if s.is_available_in(author.country or None)]
    sound = rng.choice(usable) if usable and rng.random() < 0.55 else None
    asset_id = _upload(author, clip.path, priority)
    post = content_services.post_create(
        author=author, asset_id=asset_id, caption=_caption(rng, author, users, n),
        language=author.language, publish="now", sound_id=sound.pk if sound else None,
        sound_mix=rng.choice(["duck", "duck", "mute", "keep"]) if sound else "keep",
        cover_time_ms=rng.randint(0, clip.seconds - 1) * 1000,
    )
    report.new_post_ids.append(post.pk)
    report.post_keys[post.pk] = f"{author.username}:{round_}"


# --- engagement and comments (rows, then counters from the rows) ------------------------------


def _popularity(rng: random.Random, audience: int) -> int:
    return min(audience, int(rng.paretovariate(1.3) * 3))


@transaction.atomic
def add_engagement(post_ids: list[int], users: list[User], report: Report) -> None:
    """Likes, favourites, shares and comments on new demo posts (every post gets at least
    one comment thread with a reply to a reply)."""
    if not post_ids:
        return
    posts = list(Post.objects.filter(pk__in=post_ids).only("id", "author_id"))
    by_id = {u.pk: u for u in users}
    likes: list[Like] = []
    favourites: list[Favourite] = []
    shares: list[Share] = []
    comments: list[Comment] = []
    comment_likes: list[tuple[int, int]] = []  # (index into comments, user id)
    mentions: list[tuple[int, int]] = []  # (index into comments, user id)
    for post in posts:
        rng = _rng(f"engage:{report.post_keys.get(post.pk, post.pk)}")
        audience = [u for u in users if u.pk != post.author_id]
        likers = rng.sample(audience, _popularity(rng, len(audience)))
        likes += [Like(user_id=u.pk, post_id=post.pk) for u in likers]
        for u in likers[: len(likers) // 4]:
            favourites.append(Favourite(user_id=u.pk, post_id=post.pk))
        for u in likers[: len(likers) // 6]:
            shares.append(Share(user_id=u.pk, post_id=post.pk,
                                channel=rng.choice(list(Share.Channel.values))))
        for thread in range(min(rng.randint(1, 6), len(audience))):
            author = rng.choice(audience)
            top_index = len(comments)
            comments.append(Comment(post_id=post.pk, author_id=author.pk,
                                    text=rng.choice(COMMENTS)))
            for liker in rng.sample(users, rng.randint(0, 5)):
                comment_likes.append((top_index, liker.pk))
            last_author = author
            for reply in range(2 if thread == 0 else rng.choice([0, 0, 1, 1, 2, 3])):
                replier = rng.choice([u for u in users if u.pk != last_author.pk])
                text = rng.choice(REPLIES)
                reply_to = None
                if reply >= 1 and ((thread, reply) == (0, 1) or rng.random() < 0.4):
                    # a reply to a reply: flattened onto the top comment, with an @mention
                    reply_to = last_author
                    text = f"@{last_author.username} {text}"
                    mentions.append((len(comments), last_author.pk))
                elif rng.random() < 0.15:
                    friend = rng.choice(audience)
                    text = f"{text} @{friend.username} look"
                    mentions.append((len(comments), friend.pk))
                comments.append(Comment(post_id=post.pk, author_id=replier.pk, text=text,
                                        parent_id=top_index,  # resolved to an id below
                                        reply_to_user_id=reply_to.pk if reply_to else None))
                last_author = replier
    _insert_engagement(likes, favourites, shares, report)
    _insert_comments(comments, comment_likes, mentions, by_id, report)
    counters_reconcile(post_ids=post_ids)
    comment_counters_reconcile(post_ids=post_ids)
    # Views have no rows (they are counted in Redis): a plausible number per like.
    likes_per_post = Counter(like.post_id for like in likes)
    for post in posts:
        rng = _rng(f"views:{report.post_keys.get(post.pk, post.pk)}")
        views = likes_per_post[post.pk] * rng.randint(6, 40) + rng.randint(3, 60)
        Post.objects.filter(pk=post.pk).update(views_count=views)


def _insert_engagement(likes: list[Like], favourites: list[Favourite], shares: list[Share],
                       report: Report) -> None:
    for rows in (likes, favourites, shares):
        for row, pk in zip(rows, allocate_ids(len(rows)) if rows else [], strict=True):
            row.id = pk
    Like.objects.bulk_create(likes, ignore_conflicts=True)
    Favourite.objects.bulk_create(favourites, ignore_conflicts=True)
    Share.objects.bulk_create(shares)
    report.likes += len(likes)
    report.favourites += len(favourites)
    report.shares += len(shares)


def _insert_comments(comments: list[Comment], comment_likes: list[tuple[int, int]],
                     mentions: list[tuple[int, int]], users: dict[int, User],
                     report: Report) -> None:
    if not comments:
        return
    ids = allocate_ids(len(comments))
    likes_by_comment: dict[int, set[int]] = {}
    for index, user_id in comment_likes:
        likes_by_comment.setdefault(index, set()).add(user_id)
    post_authors = dict(Post.objects.filter(pk__in={c.post_id for c in comments})
                        .values_list("pk", "author_id"))
    created = timezone.now()
    for index, (comment, pk) in enumerate(zip(comments, ids, strict=True)):
        comment.id = pk
        if comment.parent_id is not None:
            comment.parent_id = ids[comment.parent_id]
        likers = likes_by_comment.get(index, set())
        comment.liked_by_creator = post_authors[comment.post_id] in likers
        comment.created_at = created
        comment.rank = rank_for(likes=len(likers), liked_by_creator=comment.liked_by_creator,
                                created_at=created)
    Comment.objects.bulk_create(comments)
    like_rows = [CommentLike(user_id=user_id, comment_id=ids[index])
                 for index, user_ids in likes_by_comment.items() for user_id in user_ids]
    for like, pk in zip(like_rows, allocate_ids(len(like_rows)) if like_rows else [],
                        strict=True):
        like.id = pk
    CommentLike.objects.bulk_create(like_rows, ignore_conflicts=True)
    mention_rows = [CommentMention(comment_id=ids[index], user_id=user_id)
                    for index, user_id in dict.fromkeys(mentions)
                    if user_id in users and user_id != comments[index].author_id]
    for mention, pk in zip(mention_rows,
                           allocate_ids(len(mention_rows)) if mention_rows else [], strict=True):
        mention.id = pk
    CommentMention.objects.bulk_create(mention_rows, ignore_conflicts=True)
    report.comments += len(comments)


def ensure_collections(users: list[User]) -> None:
    """A few users keep favourites in named collections and show their liked posts."""
    from apps.engagement.models import Collection

    for user in users[:8]:
        rng = _rng(f"collections:{user.username}")
        name = rng.choice(COLLECTION_NAMES)
        collection, _ = Collection.objects.get_or_create(owner_id=user.pk, name=name)
        Favourite.objects.filter(user_id=user.pk, collection__isnull=True).filter(
            pk__in=Favourite.objects.filter(user_id=user.pk, collection__isnull=True)
            .order_by("pk").values("pk")[:5]
        ).update(collection=collection)
    for user in users[::3]:
        EngagementSettings.objects.update_or_create(user_id=user.pk,
                                                    defaults={"show_liked_posts": True})


def build(*, posts: int) -> Report:
    report = Report()
    users = ensure_users(report)
    sounds = ensure_sounds(report)
    create_posts(posts, users, sounds, report)  # first: its first posts play soonest
    ensure_follows(users, report)
    if report.follows_created:  # follower counts moved: search's popularity of accounts
        account_changed(user_ids=[user.pk for user in users])
    add_engagement(report.new_post_ids, users, report)
    ensure_collections(users)
    return report
