"""Settings: account (display name, bio, avatar, country and language from lists, username),
privacy (private account, liked posts shown), sessions and devices, blocked accounts, and
"Your data" (data export, deactivate, delete). Forms post here and call the
same services the API calls; sessions and blocks are ended through the API from the page
(`static/js/pages/actions.js`). Password, e-mail and MFA are allauth's pages.

Renaming, exporting, deactivating and deleting need what the API needs: a re-authentication
within the last few minutes (allauth's; `apps.accounts.reauthentication`). A form posted
without one goes to allauth's re-authentication page and is then carried out (allauth
keeps the request); the deletion form, which holds the password, is not kept: the person
comes back to the page and confirms again."""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts import hooks as accounts_hooks
from apps.accounts import locales, usernames
from apps.accounts import selectors as accounts_selectors
from apps.accounts import services as accounts_services
from apps.accounts.models import DataExport, User
from apps.accounts.reauthentication import (
    ALLAUTH_APP,
    reauthenticate_url,
    session_needs_reauthentication,
)
from apps.core.errors import ApplicationError
from apps.engagement import selectors as engagement_selectors
from apps.engagement import services as engagement_services
from apps.social import selectors as social_selectors
from apps.web.pages import avatar_url, page_of, viewer_of

SECTIONS = (
    ("account", "Account"),
    ("privacy", "Privacy"),
    # short labels: the six fit two rows on a phone; each section's headings say it in full
    ("sessions", "Sessions"),
    ("blocked", "Blocked"),
    ("data", "Your data"),
    ("payouts", "Payouts"),
)


def _with_current(choices: tuple[tuple[str, str], ...], current: str,
                  ) -> list[tuple[str, str]]:
    """The list, led by "Not set", plus the stored value when the list lacks it (set
    through the API, which takes any well-formed code), so saving keeps it."""
    options = [("", "Not set"), *choices]
    if current and current not in {code for code, _ in choices}:
        options.insert(1, (current, current))
    return options


class AccountForm(forms.Form):
    display_name = forms.CharField(max_length=50, required=False,
                                   widget=forms.TextInput(attrs={"autocomplete": "nickname"}))
    bio = forms.CharField(max_length=160, required=False,
                          widget=forms.Textarea(attrs={"rows": 3}))
    country = forms.ChoiceField(required=False, help_text="Where you live.",
                                widget=forms.Select(attrs={"autocomplete": "country"}))
    language = forms.ChoiceField(required=False, help_text="The language you use SwipeMe in.",
                                 widget=forms.Select(attrs={"autocomplete": "language"}))

    def __init__(self, *args: Any, current: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country = self.fields["country"]
        language = self.fields["language"]
        assert isinstance(country, forms.ChoiceField)
        assert isinstance(language, forms.ChoiceField)
        country.choices = _with_current(locales.country_choices(), current.country)
        language.choices = _with_current(locales.language_choices(), current.language)


def _account_form(me: User, data: Any = None) -> AccountForm:
    initial = {"display_name": me.display_name, "bio": me.bio, "country": me.country,
               "language": me.language}
    return AccountForm(data, initial=initial, current=me)


class UsernameForm(forms.Form):
    username = forms.CharField(
        max_length=usernames.MAX_LENGTH, label="New username",
        help_text=f"{usernames.MIN_LENGTH} to {usernames.MAX_LENGTH} characters: letters, "
                  "digits, underscores and periods. Once changed, it can change again only "
                  f"after {settings.SWIPEME_USERNAME_CHANGE_COOLDOWN.days} days.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none",
                                      "spellcheck": "false"}))


class DeleteForm(forms.Form):
    password = forms.CharField(
        label="Your password", strip=False, required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    confirm = forms.BooleanField(
        label="I understand my account, videos and data will be deleted for good after "
              f"{settings.SWIPEME_DELETION_GRACE.days} days",
        error_messages={"required": "Tick the box to confirm."})


class AvatarForm(forms.Form):
    file = forms.ImageField(label="New avatar", help_text="JPEG, PNG, WebP or GIF, up to 10 MB.")


class PrivacyForm(forms.Form):
    is_private = forms.BooleanField(
        required=False, label="Private account",
        help_text="Only people you approve can follow you and see your posts and lists.")
    show_liked_posts = forms.BooleanField(
        required=False, label="Show the posts I liked",
        help_text="People who can see your profile's content see a Liked tab.")


def _context(request: HttpRequest, section: str, **extra: Any) -> dict[str, Any]:
    return {"sections": SECTIONS, "section": section, **extra}


def _apply_errors(form: forms.Form, error: ApplicationError) -> None:
    """A service's refusal shown on the form (on its field when it names one)."""
    placed = False
    for name, problems in error.fields.items():
        if name in form.fields:
            for problem in problems:
                form.add_error(name, problem)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _me(request: HttpRequest) -> User:
    viewer = viewer_of(request)
    assert viewer is not None  # login_required
    return viewer


@login_required
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return redirect("web:settings-account")


def _account_page(request: HttpRequest, me: User, *, form: AccountForm | None = None,
                  avatar_form: AvatarForm | None = None,
                  username_form: UsernameForm | None = None, status: int = 200,
                  ) -> HttpResponse:
    next_change = usernames.next_username_change_at(me.username_changed_at)
    return render(request, "web/settings.html", _context(
        request, "account", form=form or _account_form(me),
        avatar_form=avatar_form or AvatarForm(), avatar=avatar_url(me, "320"),
        username_form=username_form or UsernameForm(initial={"username": me.username}),
        username_next_change=next_change if next_change and next_change > timezone.now()
        else None), status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    form = _account_form(me, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            accounts_services.user_profile_update(user=me, **form.cleaned_data)
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("web:settings-account")
    return _account_page(request, me, form=form,
                         status=400 if form.is_bound and form.errors else 200)


@login_required
@require_http_methods(["POST"])
@reauthentication_required(app=ALLAUTH_APP)
def username(request: HttpRequest) -> HttpResponse:
    """The username rules and the cool-down are the service's (as for the API)."""
    me = _me(request)
    form = UsernameForm(request.POST)
    if form.is_valid():
        try:
            accounts_services.user_username_change(user=me, username=form.cleaned_data["username"])
        except ApplicationError as error:
            if error.code == "username_cooldown":  # its message says when
                form.add_error(None, error.message)
            else:
                _apply_errors(form, error)
        else:
            messages.success(request, f"Your username is now @{me.username}.")
            return redirect("web:settings-account")
    return _account_page(request, me, username_form=form, status=400)


@login_required
@require_http_methods(["POST"])
def avatar(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    form = AvatarForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            accounts_services.user_avatar_set(user=me, file=upload, size=upload.size)
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Your new avatar is being prepared.")
            return redirect("web:settings-account")
    return _account_page(request, me, avatar_form=form, status=400)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def privacy(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    initial = {"is_private": me.is_private,
               "show_liked_posts": engagement_selectors.shows_liked_posts(me)}
    form = PrivacyForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        accounts_services.user_profile_update(user=me, is_private=form.cleaned_data["is_private"])
        engagement_services.engagement_settings_update(
            user=me, show_liked_posts=form.cleaned_data["show_liked_posts"])
        messages.success(request, "Your privacy settings are saved.")
        return redirect("web:settings-privacy")
    return render(request, "web/settings.html", _context(
        request, "privacy", form=form,
        follow_requests_url=reverse("web:follow-requests")))


@login_required
@require_safe
def sessions(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    page = page_of(request, accounts_selectors.user_sessions_for(me), size=50)
    devices = accounts_selectors.devices_by_session_key(
        user=me, session_keys=[s.session_key for s in page.rows])
    current = request.session.session_key
    rows = [{"session": s, "device": devices.get(s.session_key),
             "is_current": s.session_key == current,
             "revoke_url": reverse("v1:me-session-detail", args=[s.pk])}
            for s in page.rows]
    return render(request, "web/settings.html", _context(
        request, "sessions", sessions=rows, next_before=page.next_before,
        revoke_all_url=reverse("v1:me-sessions-revoke-all")))


@login_required
@require_safe
def blocked(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    page = page_of(request, social_selectors.get_blocks_for(me))
    rows = [{"user": b.blocked, "avatar": avatar_url(b.blocked, "48"),
             "unblock_url": reverse("v1:user-block", args=[b.blocked.username])}
            for b in page.rows]
    return render(request, "web/settings.html", _context(
        request, "blocked", blocks=rows, next_before=page.next_before))


# --- your data and account: export, deactivate, delete ------------------------------------


def _delete_form(me: User, data: Any = None) -> DeleteForm:
    form = DeleteForm(data)
    if not me.has_usable_password():  # the service asks for it only when there is one
        del form.fields["password"]
    return form


def _data_page(request: HttpRequest, me: User, *, delete_form: DeleteForm | None = None,
               status: int = 200) -> HttpResponse:
    export = accounts_selectors.latest_data_export_for(me)
    in_flight = export is not None and export.state in (DataExport.State.PENDING,
                                                        DataExport.State.RUNNING)
    return render(request, "web/settings.html", _context(
        request, "data", export=export, export_in_flight=in_flight,
        export_download_url=(reverse("accounts-export-download", args=[export.pk])
                             if export is not None and export.state == DataExport.State.READY
                             else None),
        delete_form=delete_form or _delete_form(me),
        deletion_notices=accounts_hooks.deletion_notices(user_id=me.pk),
        deletion_grace_days=settings.SWIPEME_DELETION_GRACE.days), status=status)


@login_required
@require_safe
def data(request: HttpRequest) -> HttpResponse:
    return _data_page(request, _me(request))


@login_required
@require_http_methods(["POST"])
@reauthentication_required(app=ALLAUTH_APP)
def export(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    try:
        accounts_services.data_export_request(user=me)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "We are preparing your data. Come back to this page in a "
                                  "few minutes to download it.")
    return redirect("web:settings-data")


@login_required
@require_http_methods(["POST"])
@reauthentication_required(app=ALLAUTH_APP)
def deactivate(request: HttpRequest) -> HttpResponse:
    """The service ends every session, this browser's too."""
    accounts_services.user_deactivate(user=_me(request))
    logout(request)
    messages.success(request, "Your account is deactivated: nobody sees your profile or "
                              "videos. Log in again to reactivate it.")
    return redirect("account_login")


@login_required
@require_http_methods(["POST"])
def delete(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    if session_needs_reauthentication(request):
        # not through allauth's kept request: this one holds the password
        messages.info(request, "Confirm it is you, then delete your account again.")
        return redirect(reauthenticate_url(request, reverse("web:settings-data")))
    form = _delete_form(me, request.POST)
    if form.is_valid():
        try:
            accounts_services.user_deletion_schedule(user=me,
                                                     password=form.cleaned_data.get("password"))
        except ApplicationError as error:
            _apply_errors(form, error)
        else:
            when = me.deletion_scheduled_for
            logout(request)
            messages.success(request, f"Your account will be deleted on {when:%-d %B %Y}. "
                                      "Log in before then to cancel the deletion.")
            return redirect("account_login")
    return _data_page(request, me, delete_form=form, status=400)
