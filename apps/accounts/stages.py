"""Log-in stages that replace allauth's (AccountAdapter.get_login_stages)."""

from __future__ import annotations

from typing import Any

from allauth.account import app_settings
from allauth.account.internal.flows.email_verification import get_address_for_login
from allauth.account.stages import EmailVerificationStage as AllauthEmailVerificationStage
from allauth.account.utils import has_verified_email


class EmailVerificationStage(AllauthEmailVerificationStage):
    """allauth's mandatory e-mail verification, except for an account that has no e-mail
    address at all (legacy accounts, or one whose address was removed before the last
    verified one had to stay). allauth would stop such a log-in at a `verify_email` step
    with nowhere to send the code, for ever. It proved its password (and any second
    factor follows), so it logs in; without a verified address it stays hidden from
    everyone else (`social.selectors.discoverable_q`) until it adds and verifies one."""

    def handle(self) -> tuple[Any, bool]:
        login = self.login
        if (
            app_settings.EMAIL_VERIFICATION == app_settings.EmailVerificationMethod.MANDATORY
            and login.user is not None
            and not login.signup
            and not has_verified_email(login.user)
            and get_address_for_login(login) is None
        ):
            return None, True
        response: tuple[Any, bool] = super().handle()
        return response
