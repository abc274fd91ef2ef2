"""A notification in words: the title and body a phone shows and the inbox row says, and
the web path it opens. One place for the wording, used by the push, the API and the web."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.accounts.models import User
from apps.moderation import conf as moderation_conf
from apps.moderation.policies import Policy
from apps.notifications import types
from apps.notifications.models import Notification

SECURITY_TEXTS = {
    "new_device": ("New log-in to your account",
                   "Someone logged in from a device you have not used before{where}. If it "
                   "was not you, change your password and end that session."),
    "password_changed": ("Your password was changed",
                         "If you did not change it, reset your password now."),
    "password_reset": ("Your password was reset",
                       "If you did not reset it, reset your password now."),
    "email_changed": ("Your e-mail address was changed",
                      "Your account's main e-mail address was changed. If it was not you, "
                      "reset your password now."),
    "mfa_changed": ("Your two-step verification changed",
                    "Your two-step verification settings were changed. If it was not you, "
                    "reset your password now."),
}


_REPORTED_NOUN = {"post": "video", "comment": "comment", "user": "account", "sound": "sound",
                  "message": "message"}


def report_outcome_text(data: Mapping[str, object]) -> tuple[str, str]:
    """What a reporter is told when their report is decided."""
    noun = _REPORTED_NOUN.get(str(data.get("target_type", "")), "content")
    policy = str(data.get("policy", ""))
    rule = Policy(policy).label if policy in Policy.values else "our Community Guidelines"
    if data.get("outcome") == "action_taken":
        return ("We took action on your report",
                f"The {noun} you reported goes against our Community Guidelines on {rule}, "
                "and we acted on it. Thank you for reporting it.")
    return ("We reviewed your report",
            f"We did not find that the {noun} you reported goes against our Community "
            f"Guidelines on {rule}. Thank you for reporting it; you can block or mute "
            "the account if you do not want to see it.")


def upload_problem_text(data: Mapping[str, object]) -> tuple[str, str]:
    """What a creator is told when their post cannot go out because of its upload."""
    problem = str(data.get("problem", ""))
    if data.get("taken_down"):
        return ("Your video was taken down",
                f"Your video was taken down after it was published.\n\n{problem}")
    return ("Your video could not be published",
            f"Your video was not published; it is saved as a draft.\n\n{problem}\n\n"
            "Upload the video again (another file, if it was refused) to post it.")


def remix_original_gone_text(data: Mapping[str, object]) -> tuple[str, str]:
    """A duet or stitch whose original left public view (apps.studio.takedown)."""
    kind = "duet" if data.get("kind") == "duet" else "stitch"
    name = str(data.get("original_username") or "")
    original = f"@{name}'s video" if name else "the video you used"
    return (f"Your {kind} no longer shows {original}",
            f"The original was removed, deleted or is no longer public, so we are "
            f"re-rendering your {kind} with only your own part (your clips and your sound). "
            "Until that is ready it stays as it was; nothing else about your post changes.")


def direct_message_text(row: Notification, names: Mapping[int, str]) -> tuple[str, str]:
    """A conversation's unread messages (the group grows by one per message)."""
    sender = names.get(row.actor_id or 0, "Someone")
    count = row.actor_count
    where = str(row.data.get("conversation_name", ""))
    if row.data.get("group"):
        title = (f"{sender} in {where or 'your group'}" if count == 1
                 else f"{count} new messages in {where or 'your group'}")
    elif row.data.get("request"):
        title = f"{sender} wants to send you a message"
    else:
        title = (f"{sender} sent you a message" if count == 1
                 else f"{sender} sent you {count} messages")
    return title, str(row.data.get("excerpt", ""))


def who(row: Notification, names: Mapping[int, str]) -> str:
    """"maya", "maya and leo", "maya and 41 others"."""
    first = names.get(row.actor_id or 0, "Someone")
    others = row.actor_count - 1
    if others <= 0:
        return first
    if others == 1 and len(row.actor_ids) > 1 and row.actor_ids[1] in names:
        return f"{first} and {names[row.actor_ids[1]]}"
    return f"{first} and {others} other{'s' if others != 1 else ''}"


def _quoted(row: Notification) -> str:
    excerpt = str(row.data.get("excerpt", ""))
    return f": “{excerpt}”" if excerpt else ""


def sentence(row: Notification, names: Mapping[int, str]) -> tuple[str, str]:
    """(title, body) of an inbox row."""
    actor = who(row, names)
    match row.type:
        case types.POST_LIKED.name:
            return f"{actor} liked your video", ""
        case types.COMMENT_LIKED.name:
            return f"{actor} liked your comment", str(row.data.get("excerpt", ""))
        case types.COMMENT.name:
            return f"{actor} commented on your video", str(row.data.get("excerpt", ""))
        case types.REPLY.name:
            return f"{actor} replied to your comment", str(row.data.get("excerpt", ""))
        case types.MENTION_POST.name:
            return f"{actor} mentioned you in a video", str(row.data.get("excerpt", ""))
        case types.MENTION_COMMENT.name:
            return f"{actor} mentioned you in a comment", str(row.data.get("excerpt", ""))
        case types.FOLLOW.name:
            return f"{actor} started following you", ""
        case types.FOLLOW_REQUEST.name:
            return f"{actor} asked to follow you", ""
        case types.FOLLOW_ACCEPTED.name:
            return f"{actor} accepted your follow request", ""
        case types.NEW_POST.name:
            count = row.actor_count
            return (f"{names.get(row.actor_id or 0, 'Someone')} posted "
                    f"{'a new video' if count == 1 else f'{count} new videos'}"), ""
        case types.SOUND_USED.name:
            title = str(row.data.get("sound_title", ""))
            return f"{actor} used your sound{f' “{title}”' if title else ''}", ""
        case types.POST_REMIXED.name:
            did = "stitched" if row.data.get("kind") == "stitch" else "dueted"
            return f"{actor} {did} your video", ""
        case name if name in types.MODERATION_TYPES:
            # moderation's own words (the notice), as the /notices page shows them
            return str(row.data.get("title", "A moderation decision")), \
                str(row.data.get("body", ""))
        case types.SUPPORT_RESOURCES.name:
            return (str(row.data.get("title", "You're not alone")),
                    support_text(row.data))
        case types.REPORT_OUTCOME.name:
            return report_outcome_text(row.data)
        case types.UPLOAD_PROBLEM.name:
            return upload_problem_text(row.data)
        case types.REMIX_ORIGINAL_GONE.name:
            return remix_original_gone_text(row.data)
        case types.DIRECT_MESSAGE.name:
            return direct_message_text(row, names)
        case types.SECURITY.name:
            title, body = SECURITY_TEXTS.get(str(row.data.get("kind", "")),
                                             ("Account security", "Something changed."))
            where = str(row.data.get("platform", ""))
            return title, body.format(where=f" ({where})" if where else "")
    kind = types.find(row.type)
    if kind is not None and kind.words is not None:  # a higher app's type (gifts, tips)
        return kind.words(row, names)
    return "Something happened", ""


def support_text(data: Mapping[str, Any]) -> str:
    """The support notice's words and each resource (name, phone, address) in full: the
    person reads them where they are, without following a link."""
    lines = [str(data.get("body", ""))]
    for res in data.get("resources") or []:
        if isinstance(res, dict):
            contact = " · ".join(str(res[k]) for k in ("phone", "url") if res.get(k))
            lines.append(f"{res.get('name', '')}: {contact}".strip())
    return "\n".join(line for line in lines if line)


def path_of(row: Notification, names: Mapping[int, str]) -> str:
    """The web path the notification opens."""
    if row.target_type == "post" and row.target_id:
        return f"/p/{row.target_id}/"
    if row.target_type == "comment" and row.data.get("post_id"):
        return f"/p/{row.data['post_id']}/"
    if row.type == types.FOLLOW_REQUEST.name:
        return "/follow-requests"
    if row.type in types.MODERATION_TYPES:
        return "/notices"
    if row.type == types.UPLOAD_PROBLEM.name and row.data.get("path"):
        return str(row.data["path"])  # the post's page (a draft or removed: its owner's)
    if row.type == types.REPORT_OUTCOME.name and row.data.get("policy") in Policy.values:
        return moderation_conf.guideline_url(str(row.data["policy"]))  # the rule reported
    if row.type == types.SECURITY.name:
        return "/settings/sessions"
    if row.type == types.DIRECT_MESSAGE.name and row.target_id:
        return f"/messages/{row.target_id}"
    found = types.find(row.type)
    if found is not None and found.words is not None and row.data.get("path"):
        return str(row.data["path"])  # a higher app's type names its page (payouts)
    if row.actor_id is not None and row.actor_id in names:
        return f"/@{names[row.actor_id]}"
    return "/inbox"


def describe(row: Notification) -> tuple[str, str, str]:
    """(title, body, path) for one notification (the push): one query for the names."""
    names = dict(User.objects.filter(pk__in=row.actor_ids or [row.actor_id or 0])
                 .values_list("id", "username"))
    title, body = sentence(row, names)
    return title, body, path_of(row, names)
