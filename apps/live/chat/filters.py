"""The chat's text checks, before anyone else sees a message.

- Links: refused (the author told why) unless the host allowed them; the host and their
  moderators may always post links.
- Moderation's text checks (`moderation.detection.services.text_verdict`: the staff term
  lists, the abuse classifier, the link-spam signals): a live chat is public and fast, so
  a message is hidden from the room from "review" up (spam from "limit reach" up), like a
  stranger's message request. A hidden message is kept (reports, the chat around them)
  and its author is told in words that nobody else sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.accounts.models import User
from apps.live.models import LiveChatMessage
from apps.moderation.detection import text
from apps.moderation.detection.models import SEVERITY, Outcome
from apps.moderation.detection.services import text_verdict
from apps.moderation.policies import Policy

HIDDEN_WORDS = {
    LiveChatMessage.Hidden.FILTERED: "Your message wasn't shown to others: it contains words "
                                     "this chat doesn't allow.",
    LiveChatMessage.Hidden.CLASSIFIER: "Your message wasn't shown to others: it looks abusive. "
                                       "Please keep the chat respectful.",
}
SPAM_WORDS = "Your message wasn't shown to others: it looks like spam."
LINKS_WORDS = "Links aren't allowed in this chat."


@dataclass(frozen=True)
class Hide:
    reason: str  # a LiveChatMessage.Hidden value
    words: str  # what the author reads


def has_links(body: str) -> bool:
    return bool(text.links(body))


def _bar(policy: str) -> str:
    return Outcome.LIMIT_REACH if policy == Policy.SPAM_SCAM else Outcome.REVIEW


def check(author: User, body: str) -> Hide | None:
    """Why this message is hidden from the room, or None to show it."""
    verdict = text_verdict(content=body, author=author, language=author.language,
                           field="live_chat", classifier_from=_bar(Policy.HATE_HARASSMENT))
    hits = [d for d in verdict.decisions if SEVERITY[d.outcome] >= SEVERITY[_bar(d.policy)]]
    if not hits:
        return None
    worst = max(hits, key=lambda d: SEVERITY[d.outcome])
    if worst.source == "abuse_classifier":
        reason = LiveChatMessage.Hidden.CLASSIFIER
    else:
        reason = LiveChatMessage.Hidden.FILTERED
    words = SPAM_WORDS if worst.policy == Policy.SPAM_SCAM else HIDDEN_WORDS[reason]
    return Hide(reason, words)
