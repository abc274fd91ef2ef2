"""One audit trail for staff actions (issue 12, the house): every staff action, whichever
app it belongs to, leaves exactly one `core.AuditEvent` row per target with the actor, the
action, the target and the reason, readable (only) in the admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client, RequestFactory

from apps.accounts.models import User
from apps.content.models import Sound
from apps.core.admin import AuditedModelAdmin
from apps.core.audit import record_audit
from apps.core.models import AuditEvent
from apps.experiments.models import Experiment, ExperimentMetric, Flag, Layer
from apps.feed.models import RankerModel
from apps.media import storage
from apps.media.models import MediaAsset
from apps.moderation.detection.models import AssetCheck, HashList, TermList
from apps.moderation.groups import GROUPS
from apps.moderation.services import enforce
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.experiments.flag_helpers import standard_metric
from tests.factories import UserFactory

# moderation_gate_live: assets the tests create are not auto-cleared (that clearing would be
# an audit row of its own)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("moderation_gate_live")]

REASON = "ticket 4242: checked with the rights team"


@pytest.fixture
def staff() -> User:
    user: User = UserFactory(is_staff=True, is_superuser=True, username="staffer")
    return user


@pytest.fixture
def web(staff: User) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def _action(web: Client, url: str, action: str, pk: int) -> None:
    response = web.post(url, {"action": action, "_selected_action": [str(pk)],
                              "reason": REASON})
    assert response.status_code == 302, response.content.decode()[:500]


def _asset_with_source() -> MediaAsset:
    asset = MediaAsset.objects.create(owner=UserFactory(), state="ready")
    storage.source_path(asset.pk).parent.mkdir(parents=True, exist_ok=True)
    storage.source_path(asset.pk).write_bytes(b"source")
    return asset


# Each case: do one staff action through the admin; return (action, target type, target id)
# of the one row it must leave.

def _ranker_activation(web: Client) -> tuple[str, str, int]:
    row = RankerModel.objects.create(version=7, artifact="feed/models/v7.joblib")
    _action(web, "/django-admin/feed/rankermodel/", "activate", row.pk)
    assert RankerModel.objects.get(pk=row.pk).is_active
    return "feed.ranker_activate", "rankermodel", row.pk


def _sound_take_down(web: Client) -> tuple[str, str, int]:
    sound = LibrarySoundFactory()
    _action(web, "/django-admin/content/sound/", "take_down", sound.pk)
    assert Sound.objects.get(pk=sound.pk).is_taken_down
    return "content.sound_take_down", "sound", sound.pk


def _sound_restore(web: Client) -> tuple[str, str, int]:
    sound = LibrarySoundFactory(is_taken_down=True)
    _action(web, "/django-admin/content/sound/", "restore", sound.pk)
    assert not Sound.objects.get(pk=sound.pk).is_taken_down
    return "content.sound_restore", "sound", sound.pk


def _media_reprocess(web: Client) -> tuple[str, str, int]:
    asset = _asset_with_source()
    _action(web, "/django-admin/media/mediaasset/", "rerun", asset.pk)
    assert MediaAsset.objects.get(pk=asset.pk).state == "uploaded"
    storage.remove_asset_files(asset.pk)
    return "media.asset_reprocess", "mediaasset", asset.pk


def _verify(web: Client) -> tuple[str, str, int]:
    user = UserFactory()
    _action(web, "/django-admin/accounts/user/", "mark_verified", user.pk)
    assert User.objects.get(pk=user.pk).is_verified
    return "accounts.verify", "user", user.pk


def _unverify(web: Client) -> tuple[str, str, int]:
    user = UserFactory(is_verified=True)
    _action(web, "/django-admin/accounts/user/", "unmark_verified", user.pk)
    assert not User.objects.get(pk=user.pk).is_verified
    return "accounts.unverify", "user", user.pk


def _detection_clear(web: Client) -> tuple[str, str, int]:
    asset = MediaAsset.objects.create(owner=UserFactory(), state="ready")
    check = AssetCheck.objects.create(asset=asset)
    _action(web, "/django-admin/moderation_detection/assetcheck/", "clear_manually", check.pk)
    assert AssetCheck.objects.get(asset=asset).state == AssetCheck.State.DONE
    return "moderation_detection.asset_clear", "mediaasset", asset.pk


def _detection_rescan(web: Client) -> tuple[str, str, int]:
    asset = MediaAsset.objects.create(owner=UserFactory(), state="ready")
    check = AssetCheck.objects.create(asset=asset, features={"pdq": ["a" * 64]})
    _action(web, "/django-admin/moderation_detection/assetcheck/", "scan_again", check.pk)
    assert AssetCheck.objects.get(asset=asset).features == {}
    return "moderation_detection.asset_rescan", "mediaasset", asset.pk


def _flag_kill(web: Client) -> tuple[str, str, int]:
    flag = Flag.objects.create(key="ui.kill_me", default_value=False, variations=[False, True])
    _action(web, "/django-admin/experiments/flag/", "kill", flag.pk)
    assert not Flag.objects.get(pk=flag.pk).enabled
    return "experiments.flag_kill", "flag", flag.pk


def _experiment_start(web: Client) -> tuple[str, str, int]:
    Flag.objects.create(key="ui.color", kind="multivariate", default_value="a",
                        variations=["a", "b"])
    exp = Experiment.objects.create(
        key="color", layer=Layer.objects.create(key="ui"), bucket_start=0, bucket_end=500,
        arms=[{"key": "a", "weight": 1, "values": {}},
              {"key": "b", "weight": 1, "values": {"ui.color": "b"}}])
    ExperimentMetric.objects.create(experiment=exp, metric=standard_metric(),
                                    role="primary")
    _action(web, "/django-admin/experiments/experiment/", "start", exp.pk)
    assert Experiment.objects.get(pk=exp.pk).status == "running"
    return "experiments.experiment_start", "experiment", exp.pk


def _ad_predictor_activation(web: Client) -> tuple[str, str, int]:
    from apps.ads.models import AdPredictor

    row = AdPredictor.objects.create(version=1, params={}, metrics={})
    _action(web, "/django-admin/ads/adpredictor/", "activate", row.pk)
    assert AdPredictor.objects.get(pk=row.pk).active
    return "ads.predictor_activate", "adpredictor", row.pk


def _pending_ad() -> Any:
    from django.test import override_settings

    from apps.ads.services import review
    from tests.ads.core_helpers import ad_for, campaign_for, group_for, org_with

    org, owner = org_with()
    ad = ad_for(group_for(campaign_for(org, owner), owner), owner)
    with override_settings(SWIPEME_ADS_LANDING_CHECK=False):
        review.ad_submit(user=owner, ad=ad)
    ad.refresh_from_db()
    assert ad.review_state == "pending"
    return ad


def _ad_approve(web: Client) -> tuple[str, str, int]:
    ad = _pending_ad()
    _action(web, "/django-admin/ads/ad/", "approve_ads", ad.pk)
    ad.refresh_from_db()
    assert ad.review_state == "approved"
    return "ads.ad_approve", "ad", ad.pk


def _ad_reject(web: Client) -> tuple[str, str, int]:
    ad = _pending_ad()
    _action(web, "/django-admin/ads/ad/", "reject_ads", ad.pk)
    ad.refresh_from_db()
    assert (ad.review_state, ad.review_reasons) == ("rejected", [REASON])
    return "ads.ad_reject", "ad", ad.pk


def _deal_dispute_decide(web: Client) -> tuple[str, str, int]:
    from apps.marketplace.models import Deal
    from apps.marketplace.services import deals
    from tests.marketplace.helpers import brand, draft_post, invite, opted_in

    org, admin = brand()
    maker = opted_in()
    deal = invite(org, admin, maker)
    deals.deal_accept(user=maker, deal_id=deal.pk)
    deals.deal_submit_draft(user=maker, deal_id=deal.pk, post_id=draft_post(maker).pk)
    deals.deal_dispute(user=admin, deal_id=deal.pk, reason="Not what we asked for")
    _action(web, "/django-admin/marketplace/deal/", "split_half", deal.pk)
    assert Deal.objects.get(pk=deal.pk).state == "paid"
    return "marketplace.dispute_resolve", "deal", deal.pk


def _post_label_branded(web: Client) -> tuple[str, str, int]:
    from apps.content.models import Post

    post = PostFactory()
    _action(web, "/django-admin/content/post/", "label_branded", post.pk)
    assert Post.objects.get(pk=post.pk).branded_source == "moderator"
    return "content.post_label_branded", "post", post.pk


STAFF_ACTIONS: dict[str, Callable[[Client], tuple[str, str, int]]] = {
    "ranker activation": _ranker_activation,
    "sound take-down": _sound_take_down,
    "sound restore": _sound_restore,
    "media reprocessing": _media_reprocess,
    "verified badge given": _verify,
    "verified badge taken": _unverify,
    "upload cleared without a scan": _detection_clear,
    "upload scanned again": _detection_rescan,
    "flag killed": _flag_kill,
    "experiment started": _experiment_start,
    "ad predictor activated": _ad_predictor_activation,
    "ad approved in the ad-ops queue": _ad_approve,
    "ad rejected in the ad-ops queue": _ad_reject,
    "marketplace dispute decided": _deal_dispute_decide,
    "paid-partnership label added by a moderator": _post_label_branded,
}


@pytest.mark.parametrize("case", STAFF_ACTIONS)
def test_each_staff_action_leaves_one_audit_row(case: str, web: Client, staff: User):
    action, target_type, target_id = STAFF_ACTIONS[case](web)
    rows = list(AuditEvent.objects.all())
    assert len(rows) == 1, [(r.action_name, r.target_id) for r in rows]
    row = rows[0]
    assert (row.actor_id, row.action_name, row.target_type, row.target_id, row.reason) == (
        staff.pk, action, target_type, target_id, REASON)
    assert row.ip == "127.0.0.1"


def test_doing_it_again_changes_nothing_and_records_nothing(web: Client):
    sound = LibrarySoundFactory()
    _action(web, "/django-admin/content/sound/", "take_down", sound.pk)
    _action(web, "/django-admin/content/sound/", "take_down", sound.pk)
    assert AuditEvent.objects.filter(verb="sound_take_down").count() == 1


def _form_data(web: Client, url: str) -> dict[str, Any]:
    """The admin change form's current values, as the browser would post them back."""
    form = web.get(url).context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form.initial.get(name, field.initial)
        if value is None:
            value = ""
        elif isinstance(value, bool):
            value = "on" if value else ""
        elif isinstance(value, list | tuple):
            value = [str(getattr(v, "pk", v)) for v in value]
        data[name] = value
    return {k: v for k, v in data.items() if v != ""}


def test_making_someone_staff_in_the_user_form_is_recorded(web: Client, staff: User):
    target = UserFactory(username="newcomer")
    url = f"/django-admin/accounts/user/{target.pk}/change/"
    data = _form_data(web, url)
    data["is_staff"] = "on"
    response = web.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(pk=target.pk).is_staff
    row = AuditEvent.objects.get()
    assert (row.actor_id, row.action_name, row.target_type, row.target_id) == (
        staff.pk, "accounts.user_change", "user", target.pk)
    assert row.data == {"changed": {"is_staff": True}}

    # saving the form again without a change records nothing
    assert web.post(url, {**data}).status_code == 302
    assert AuditEvent.objects.count() == 1


def test_detection_list_changes_are_recorded(web: Client, staff: User):
    response = web.post("/django-admin/moderation_detection/hashlist/add/", {
        "name": "partner-list", "policy": "spam_scam", "max_distance": "31",
        "outcome": "block", "is_active": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    hash_list = HashList.objects.get()
    added = AuditEvent.objects.get()
    assert (added.actor_id, added.action_name, added.target_id) == (
        staff.pk, "moderation_detection.hashlist_add", hash_list.pk)
    assert added.data["changed"]["name"] == "partner-list"

    response = web.post(f"/django-admin/moderation_detection/hashlist/{hash_list.pk}/delete/",
                        {"post": "yes"})
    assert response.status_code == 302
    deleted = AuditEvent.objects.exclude(pk=added.pk).get()
    assert (deleted.action_name, deleted.target_id) == (
        "moderation_detection.hashlist_delete", hash_list.pk)


def test_moderation_actions_are_in_the_same_trail(staff: User):
    post = PostFactory()
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="spam link", actor=staff)
    row = AuditEvent.objects.get(app="moderation")
    assert (row.actor_id, row.verb, row.target_type, row.target_id, row.reason) == (
        staff.pk, "enforce_remove", "post", post.pk, "spam link")


def test_the_reprocess_command_records_automation_with_its_reason():
    asset = _asset_with_source()
    call_command("media_reprocess", "--id", str(asset.pk), "--reason", "new ladder")
    row = AuditEvent.objects.get()
    assert (row.actor_id, row.action_name, row.target_id, row.reason, row.data) == (
        None, "media.asset_reprocess", asset.pk, "new ladder",
        {"via": "manage.py media_reprocess"})
    storage.remove_asset_files(asset.pk)


def test_record_audit_targets_and_names(staff: User):
    sound = LibrarySoundFactory(title="Night drive")
    by_instance = record_audit(actor=staff, action="content.sound_note", target=sound,
                               reason="  why  ", extra=1)
    assert (by_instance.target_type, by_instance.target_id, by_instance.reason,
            by_instance.data) == ("sound", sound.pk, "why", {"extra": 1})
    assert "Night drive" in by_instance.target_repr
    by_ref = record_audit(actor=None, action="core.flag_change", target="flag:uploads")
    assert (by_ref.target_type, by_ref.target_id, by_ref.target_repr) == ("", None,
                                                                          "flag:uploads")
    with pytest.raises(ValueError, match=r"<app>\.<verb>"):
        record_audit(actor=staff, action="undotted")


def test_the_audit_admin_filters_searches_and_is_read_only(web: Client, staff: User):
    sound = LibrarySoundFactory()
    record_audit(actor=staff, action="content.sound_take_down", target=sound, reason="dmca")
    record_audit(actor=None, action="feed.ranker_activate", target=("rankermodel", 3))
    url = "/django-admin/core/auditevent/"
    listing = web.get(url)
    assert listing.status_code == 200
    assert "content.sound_take_down" in listing.content.decode()
    for query, expected in (({"app": "content"}, 1), ({"verb": "ranker_activate"}, 1),
                            ({"actor": str(staff.pk)}, 1), ({"actor": "automation"}, 1),
                            ({"q": str(sound.pk)}, 1), ({"q": "staffer"}, 1)):
        page = web.get(url, query)
        assert page.status_code == 200
        assert len(page.context["cl"].result_list) == expected, query
    row = AuditEvent.objects.get(app="content")
    assert web.get(f"{url}add/").status_code == 403
    assert web.post(f"{url}{row.pk}/change/", {"reason": "edited"}).status_code == 403
    assert web.post(f"{url}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=row.pk).reason == "dmca"


def test_every_admin_that_writes_is_audited(staff: User):
    """Each of our admins (and auth's groups, which carry staff permissions) that lets staff
    add, change or delete rows records those writes (`AuditedModelAdmin`); the rest are
    read-only. Third-party admins (allauth, Celery beat, Wagtail, sites) are not ours."""
    request = RequestFactory().get("/django-admin/")
    request.user = staff
    unaudited = []
    for model, model_admin in admin.site._registry.items():
        if not (model.__module__.startswith("apps.") or model is Group):
            continue
        writes = (model_admin.has_add_permission(request)
                  or model_admin.has_change_permission(request)
                  or model_admin.has_delete_permission(request))
        if writes and not isinstance(model_admin, AuditedModelAdmin):
            unaudited.append(model._meta.label)
    assert sorted(unaudited) == []


@pytest.mark.parametrize("model", ["engagement/like", "engagement/favourite",
                                   "engagement/share", "comments/commentlike"])
def test_a_viewers_own_acts_are_read_only_in_the_admin(web: Client, model: str):
    # a like added or deleted here would skip the counter journal and the person's history
    url = f"/django-admin/{model}/"
    assert web.get(url).status_code == 200
    assert web.get(f"{url}add/").status_code == 403


def test_a_group_permission_change_is_recorded(web: Client, staff: User):
    group = Group.objects.create(name="Audit test reviewers")  # not a seeded group
    # by natural key, not ContentType's cache (ids change when a transactional test flushes)
    kind, _ = ContentType.objects.get_or_create(app_label="core", model="auditevent")
    perm, _ = Permission.objects.get_or_create(codename="view_auditevent", content_type=kind,
                                               defaults={"name": "Can view audit event"})
    response = web.post(f"/django-admin/auth/group/{group.pk}/change/",
                        {"name": "Audit test reviewers", "permissions": [str(perm.pk)]})
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response)
    row = AuditEvent.objects.get()
    assert (row.actor_id, row.action_name, row.target_id, row.data) == (
        staff.pk, "auth.group_change", group.pk, {"changed": {"permissions": [str(perm.pk)]}})


def test_a_hash_list_import_is_recorded(tmp_path):
    path = tmp_path / "hashes.csv"
    path.write_text("pdq,note\n" + "ab" * 32 + ",first\nnot-a-hash,bad\n")
    call_command("moderation_import_hashes", str(path), "--list", "partner", "--policy",
                 "spam_scam", "--reason", "partner feed 2026-12")
    row = AuditEvent.objects.get()
    hash_list = HashList.objects.get(name="partner")
    assert (row.actor_id, row.action_name, row.target_type, row.target_id, row.reason) == (
        None, "moderation_detection.hash_list_import", "hashlist", hash_list.pk,
        "partner feed 2026-12")
    assert (row.data["added"], row.data["rejected"], row.data["created"]) == (1, 1, True)


def test_setting_up_the_moderator_groups_records_permission_changes_once():
    call_command("moderation_setup_groups")
    first = AuditEvent.objects.filter(app="moderation", verb="group_permissions_set")
    assert sorted(first.values_list("target_repr", flat=True)) == sorted(GROUPS)
    senior = first.get(target_repr="Senior moderators")
    assert "moderation.enforce_ban" in senior.data["added"]
    call_command("moderation_setup_groups")  # nothing changed: nothing recorded
    assert AuditEvent.objects.count() == len(GROUPS)


def test_delete_selected_records_one_row_per_deleted_row(web: Client, staff: User):
    lists = [TermList.objects.create(name=f"terms {n}", policy="spam_scam", terms="x")
             for n in range(2)]
    response = web.post("/django-admin/moderation_detection/termlist/", {
        "action": "delete_selected", "_selected_action": [str(t.pk) for t in lists],
        "post": "yes"})
    assert response.status_code == 302
    # (the seeded search-blocked lists stay: only the two selected are deleted)
    assert not TermList.objects.filter(pk__in=[t.pk for t in lists]).exists()
    assert sorted(AuditEvent.objects.values_list("app", "verb", "target_id")) == sorted(
        ("moderation_detection", "termlist_delete", t.pk) for t in lists)
