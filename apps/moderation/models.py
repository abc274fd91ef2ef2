"""Trust and safety records: reports, cases, enforcement actions (the audit of every
decision), strikes, account standing, ban signals, notices and appeals.

Targets are referenced by (`target_type`, `target_id`) rather than foreign keys: a case
outlives the content it is about, and one table serves posts, comments, accounts and
sounds. `subject` is the account that answers for the target (the post's author, the
account itself) so that an account's history is one indexed query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import AuditEvent as CoreAuditEvent
from apps.core.models import SnowflakeModel, TimestampedModel
from apps.moderation.policies import Policy


class TargetType(models.TextChoices):
    POST = "post"
    COMMENT = "comment"
    USER = "user"
    SOUND = "sound"
    # A direct message: moderation never reads messaging's tables; what a report showed is
    # copied into `MessageEvidence` (the case's target is the first reported message).
    MESSAGE = "message"
    # A live stream and a message of its chat: moderation never reads live's tables either;
    # what a report (or the frame sampler) saw is copied into `LiveEvidence`.
    LIVE = "live"
    LIVE_MESSAGE = "live_message"


class Queue(models.TextChoices):
    GENERAL = "general", "General"
    MINOR_SAFETY = "minor_safety", "Minor safety"
    COPYRIGHT = "copyright", "Copyright"
    APPEALS = "appeals", "Appeals"
    SENIOR = "senior", "Senior"
    # Lives happen now: their reports and frame alerts have their own, faster queue.
    LIVE = "live", "Live"


class Priority(models.IntegerChoices):
    URGENT = 0, "P0 urgent"
    HIGH = 1, "P1 high"
    NORMAL = 2, "P2 normal"
    LOW = 3, "P3 low"


class Case(TimestampedModel):
    """One piece of review work. Reports and automated flags of the same target merge into
    its one open review case; an appeal is a case of its own in the appeals queue."""

    class Kind(models.TextChoices):
        REVIEW = "review"
        APPEAL = "appeal"

    class Source(models.TextChoices):
        REPORT = "report"
        AUTOMATED = "automated"
        APPEAL = "appeal"

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    class Resolution(models.TextChoices):
        NO_VIOLATION = "no_violation", "No violation"
        ACTIONED = "actioned", "Action taken"
        UPHELD = "upheld", "Appeal rejected (decision upheld)"
        OVERTURNED = "overturned", "Appeal granted (decision overturned)"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.REVIEW)
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.BigIntegerField()
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                help_text="The account that answers for the target.")
    policy = models.CharField(max_length=32, choices=Policy.choices)
    queue = models.CharField(max_length=16, choices=Queue.choices, default=Queue.GENERAL)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices,
                                                default=Priority.NORMAL)
    source = models.CharField(max_length=10, choices=Source.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    sla_due_at = models.DateTimeField()
    reports_count = models.PositiveIntegerField(default=0)
    # Automated detection's findings (scores, hash matches), newest last.
    evidence = models.JSONField(default=list, blank=True)
    # The claim: who works the case, until when (compare-and-set in services.case_claim).
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=12, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    # For an appeal case: the action appealed (the appeal row points back here too).
    appealed_action = models.ForeignKey("EnforcementAction", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            # Reports and flags of one target merge: at most one open review case each.
            models.UniqueConstraint(
                fields=["target_type", "target_id"], name="moderation_one_open_case",
                condition=Q(status="open", kind="review")),
        ]
        indexes = [
            models.Index(fields=["queue", "priority", "sla_due_at"],
                         name="moderation_case_queue",
                         condition=Q(status="open")),
            models.Index(fields=["subject", "-id"], name="moderation_case_subject"),
            models.Index(fields=["target_type", "target_id"], name="moderation_case_target"),
        ]
        permissions = [
            ("work_queue_general", "Can work the general queue"),
            ("work_queue_minor_safety", "Can work the minor safety queue"),
            ("work_queue_copyright", "Can work the copyright queue"),
            ("work_queue_appeals", "Can work the appeals queue"),
            ("work_queue_senior", "Can work the senior queue"),
            ("work_queue_live", "Can work the live queue"),
            ("enforce_suspend", "Can suspend accounts"),
            ("enforce_ban", "Can ban accounts"),
            ("view_dashboard", "Can see the moderation dashboard and export reports"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.kind} {self.target_type} {self.target_id})"


class Report(SnowflakeModel):
    """A user's report. Open while its case is open; then it carries the outcome the
    reporter sees."""

    class Outcome(models.TextChoices):
        PENDING = "pending"
        ACTION_TAKEN = "action_taken"
        NO_VIOLATION = "no_violation"

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reports")
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.BigIntegerField()
    policy = models.CharField(max_length=32, choices=Policy.choices)
    details = models.CharField(max_length=1000, blank=True)
    outcome = models.CharField(max_length=14, choices=Outcome.choices,
                               default=Outcome.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                name="moderation_one_open_report", condition=Q(outcome="pending")),
        ]
        indexes = [models.Index(fields=["reporter", "-id"], name="moderation_report_mine")]

    def __str__(self) -> str:
        return f"report {self.pk} of {self.target_type} {self.target_id}"


class MessageEvidence(SnowflakeModel):
    """A copy of one direct message, taken when a participant reported the conversation:
    the reported messages and the few around each, and nothing else of the conversation.
    Moderators see only these rows (moderation never imports messaging). Ids are the
    messaging app's own, kept as plain numbers."""

    report = models.ForeignKey(Report, null=True, on_delete=models.CASCADE,
                               related_name="messages")
    message_id = models.BigIntegerField()
    conversation_id = models.BigIntegerField()
    seq = models.BigIntegerField(null=True, blank=True)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    sender_username = models.CharField(max_length=150, blank=True)  # as it was then
    kind = models.CharField(max_length=8)
    body = models.TextField(blank=True)
    # what else it carried: {"shared_post_id", "shared_user_id", "asset_id", "state"}
    attachment = models.JSONField(default=dict, blank=True)
    sent_at = models.DateTimeField()
    reported = models.BooleanField(default=False)  # pointed at by the reporter (else context)

    class Meta:
        indexes = [
            models.Index(fields=["message_id"], name="moderation_msgevidence_msg"),
            models.Index(fields=["report", "seq"], name="moderation_msgevidence_report"),
        ]

    def __str__(self) -> str:
        return f"copy of message {self.message_id} (report {self.report_id})"


class LiveEvidence(SnowflakeModel):
    """What a report of a live (or of a message in its chat) saw, or what the frame sampler
    flagged: the live as it was (host, title, state), its latest frame, and for reports
    the chat around it (`LiveChatEvidence`). Live hands these over (moderation never
    imports live); the review page shows only these and the stream itself while on air."""

    class Source(models.TextChoices):
        REPORT = "report"
        FRAMES = "frames"  # the sampled-frame nudity check

    case = models.ForeignKey(Case, null=True, on_delete=models.CASCADE,
                             related_name="live_evidence")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="live_evidence")
    source = models.CharField(max_length=8, choices=Source.choices)
    live_id = models.BigIntegerField()
    host = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    host_username = models.CharField(max_length=150, blank=True)  # as it was then
    title = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=16, blank=True)  # the live's state then
    frame = models.BinaryField(null=True, blank=True)  # frames/latest.jpg then (JPEG)
    frame_at = models.DateTimeField(null=True, blank=True)
    # the nudity check of that frame (detection's finding), when one ran
    nudity = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["live_id", "-id"], name="moderation_liveev_live")]

    def __str__(self) -> str:
        return f"live {self.live_id} as {self.source} saw it"


class LiveChatEvidence(SnowflakeModel):
    """A copy of one live chat message a report kept: the reported one and the chat
    around it (hidden messages included, marked: moderators see what filters held)."""

    evidence = models.ForeignKey(LiveEvidence, on_delete=models.CASCADE, related_name="chat")
    message_id = models.BigIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    author_username = models.CharField(max_length=150, blank=True)
    text = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField()
    hidden = models.CharField(max_length=16, blank=True)  # live's reason, "" when shown
    reported = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["message_id"], name="moderation_livechat_msg")]

    def __str__(self) -> str:
        return f"copy of live chat message {self.message_id}"


class EnforcementAction(SnowflakeModel):
    """Every decision the enforcement service applied: the audit of who, when, why, which
    policy and case. Reversed (not deleted) when an appeal overturns it."""

    class Action(models.TextChoices):
        REMOVE = "remove"
        AGE_RESTRICT = "age_restrict"
        LIMIT_REACH = "limit_reach"
        DISABLE_COMMENTS = "disable_comments"
        STRIKE = "strike"
        SUSPEND = "suspend"
        BAN = "ban"
        # Hidden from search results (an account, or one post); nothing else changes.
        SEARCH_BAN = "search_ban"
        RESTORE = "restore"
        # A live: ended now (live's hook), or its host's stream key revoked with no new
        # one until `expires_at` (the unreversed row is the ban; `selectors.live_key_ban_for`).
        END_LIVE = "end_live"
        KEY_BAN = "key_ban"

    action = models.CharField(max_length=16, choices=Action.choices)
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.BigIntegerField()
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    policy = models.CharField(max_length=32, choices=Policy.choices)
    reason = models.CharField(max_length=1000)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              help_text="Empty for automated actions.")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="actions")
    # What the action changed, so that a restore can put it back (e.g. the comment status).
    detail = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", help_text="The restore action.")

    class Meta:
        indexes = [
            models.Index(fields=["subject", "-id"], name="moderation_action_subject"),
            models.Index(fields=["target_type", "target_id"], name="moderation_action_target"),
            models.Index(fields=["created_at"], name="moderation_action_created"),
        ]

    @property
    def automated(self) -> bool:
        return self.actor_id is None

    def __str__(self) -> str:
        return f"{self.action} {self.target_type} {self.target_id} ({self.policy})"


class Strike(SnowflakeModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    action = models.OneToOneField(EnforcementAction, on_delete=models.CASCADE,
                                  related_name="strike")
    policy = models.CharField(max_length=32, choices=Policy.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "expires_at"], name="moderation_strike_user",
                                condition=Q(removed_at__isnull=True))]

    def __str__(self) -> str:
        return f"strike {self.pk} on {self.user_id}"


class Standing(models.Model):
    """An account's standing: feature limits, suspension or ban. Suspended and banned
    accounts are also `is_active=False`, which is what refuses their log-in and tokens."""

    class State(models.TextChoices):
        GOOD = "good"
        LIMITED = "limited"
        SUSPENDED = "suspended"
        BANNED = "banned"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.GOOD)
    limited_until = models.DateTimeField(null=True, blank=True)
    suspended_until = models.DateTimeField(null=True, blank=True)
    banned_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.state}"


class BanSignal(SnowflakeModel):
    """A device id or IP address a banned account used: a sign-up or log-in from one is
    refused (device) or flagged for review (IP, which households and carriers share)."""

    class Kind(models.TextChoices):
        DEVICE = "device"
        IP = "ip"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    value = models.CharField(max_length=128)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="+")
    action = models.ForeignKey(EnforcementAction, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "value"], name="moderation_bansignal_value",
                                condition=Q(lifted_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class Notice(SnowflakeModel):
    """Moderation's record of what it told the person an action concerns: what happened,
    why, the guideline, until when it may be appealed. Telling it and its read state are
    the notifications app's (one inbox; `notice_hooks`)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    action = models.ForeignKey(EnforcementAction, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="notices")
    kind = models.CharField(max_length=24)
    title = models.CharField(max_length=200)
    body = models.TextField()
    policy = models.CharField(max_length=32, choices=Policy.choices, blank=True)
    guideline_url = models.CharField(max_length=300, blank=True)
    appealable_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="moderation_notice_user")]

    def __str__(self) -> str:
        return f"notice {self.pk} to {self.user_id}"


class Appeal(SnowflakeModel):
    class Status(models.TextChoices):
        PENDING = "pending"
        UPHELD = "upheld"
        OVERTURNED = "overturned"

    appellant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+")
    action = models.OneToOneField(EnforcementAction, on_delete=models.CASCADE,
                                  related_name="appeal")
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="appeal")
    statement = models.CharField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"appeal {self.pk} of action {self.action_id}"


class AuditEvent(CoreAuditEvent):
    """Moderation's rows of the one audit trail (`core.AuditEvent`, app `moderation`):
    claims, escalations, decisions, actions, appeals, each with its case and enforcement
    action. Nothing updates or deletes these rows."""

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="audit")
    action = models.ForeignKey(EnforcementAction, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="audit")
    policy = models.CharField(max_length=32, blank=True)
