"""allauth adapter: our username rules, and what happens around every log-in (device
recording, reactivation, cancelling a scheduled deletion).

Clients identify themselves at log-in with optional headers (see docs/api-auth.md):
``X-Client-Platform`` (ios | android | web), ``X-App-Version`` and ``X-Device-Id`` (a
stable install id the app generates once and keeps).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.headless.adapter import DefaultHeadlessAdapter
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from apps.accounts import services
from apps.accounts.hooks import access_refusal
from apps.accounts.models import User
from apps.accounts.usernames import validate_username

# A log-in with the right password to an account that is not active (suspended or banned
# by moderation) notes whose it was in the browser's session, so that the page allauth
# redirects to (`account_inactive`, the web's) can say why and until when. Only for a while.
INACTIVE_LOGIN_SESSION_KEY = "swipeme_inactive_login"
INACTIVE_LOGIN_TTL_SECONDS = 15 * 60


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # allauth's code for any address that may not be removed; ours also covers the
        # last verified one.
        "cannot_remove_primary_email": (
            "You cannot remove your primary or only verified e-mail address. Add and "
            "verify another address (and make it primary) first."
        ),
    }

    def can_delete_email(self, email_address: EmailAddress) -> bool:
        """Never the last verified address: the account would have nowhere to send a
        reset code or a security notice, and whoever holds a stolen session could cut the
        owner off before adding their own address."""
        if email_address.pk and email_address.verified and not (
            EmailAddress.objects.filter(user_id=email_address.user_id, verified=True)
            .exclude(pk=email_address.pk).exists()
        ):
            return False
        allowed: bool = super().can_delete_email(email_address)
        return allowed

    def send_notification_mail(
        self,
        template_prefix: str,
        user: AbstractBaseUser,
        context: dict[str, Any] | None = None,
        email: str | None = None,
    ) -> None:
        """Security notices (e-mail, password and 2FA changes) carry the two links that
        secure an account: reset the password, and see and end sessions."""
        links = {
            "password_reset_url": f"{settings.SITE_URL}{reverse('account_reset_password')}",
            "sessions_url": f"{settings.SITE_URL}{reverse('web:settings-sessions')}",
        }
        super().send_notification_mail(template_prefix, user, {**links, **(context or {})},
                                       email)

    def clean_username(self, username: str, shallow: bool = False) -> str:
        username = super().clean_username(username, shallow=True)
        try:
            if shallow:
                from apps.accounts.usernames import validate_username_format

                validate_username_format(username)
            else:
                validate_username(username)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0], code=exc.code) from None
        return username

    def get_login_stages(self) -> list[str]:
        stages: list[str] = super().get_login_stages()
        return [
            "apps.accounts.stages.EmailVerificationStage"
            if stage == "allauth.account.stages.EmailVerificationStage" else stage
            for stage in stages
        ]

    def _access_refusal(self, request: HttpRequest, user_id: int | None) -> str | None:
        return access_refusal(user_id=user_id,
                              device_identifier=request.headers.get("X-Device-Id", "").strip(),
                              ip=self.get_client_ip(request))

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Closed to devices a gate refuses (moderation: those of banned accounts)."""
        return super().is_open_for_signup(request) and not self._access_refusal(request, None)

    def pre_login(
        self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any
    ) -> HttpResponse | None:
        if self._access_refusal(request, user.pk):
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            refused: HttpResponse = self.respond_user_inactive(request, user)
            return refused
        response: HttpResponse | None = super().pre_login(request, user, **kwargs)
        return response

    def respond_user_inactive(self, request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
        # allauth calls this only once the credentials were right (pre_login). Only for the
        # web's page: the apps' headless flow answers 401 and must not get a session token.
        if getattr(getattr(request, "allauth", None), "headless", None) is None:
            request.session[INACTIVE_LOGIN_SESSION_KEY] = {"id": user.pk, "at": time.time()}
        response: HttpResponse = super().respond_user_inactive(request, user)
        return response

    def post_login(
        self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any
    ) -> HttpResponse:
        assert isinstance(user, User)
        services.user_on_login(user=user)
        # allauth.usersessions records the UserSession from the login signal sent here.
        response: HttpResponse = super().post_login(request, user, **kwargs)
        session_key = request.session.session_key
        if session_key:
            services.device_record(
                user=user,
                session_key=session_key,
                platform=request.headers.get("X-Client-Platform", "web").strip().lower(),
                app_version=request.headers.get("X-App-Version", "").strip(),
                device_identifier=request.headers.get("X-Device-Id", "").strip(),
                user_agent=request.headers.get("User-Agent", ""),
                ip=self.get_client_ip(request),
            )
        return response


class HeadlessAdapter(DefaultHeadlessAdapter):
    """Ids are 64-bit: JSON clients get them as strings (JavaScript loses precision above
    2**53), here as everywhere else in the API."""

    def get_user_dataclass(self) -> Any:
        base = super().get_user_dataclass()
        fields: list[tuple[str, Any, Any]] = []
        for field in dataclasses.fields(base):
            metadata = dict(field.metadata)
            kind: Any = field.type
            if field.name == "id":
                kind = str | None
                metadata["example"] = "237218731481104393"
            fields.append((field.name, kind, dataclasses.field(metadata=metadata)))
        return dataclasses.make_dataclass("User", fields)

    def user_as_dataclass(self, user: AbstractBaseUser) -> Any:
        data = super().user_as_dataclass(user)
        if data.id is not None:
            data.id = str(data.id)
        return data
