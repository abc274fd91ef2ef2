from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from apps.accounts.models import User


class SignupExtraForm(forms.Form):
    """Extra sign-up fields; allauth merges them into its web form and headless API."""

    date_of_birth = forms.DateField(help_text="YYYY-MM-DD")

    def signup(self, request: HttpRequest, user: User) -> None:
        user.date_of_birth = self.cleaned_data["date_of_birth"]
        user.save(update_fields=["date_of_birth"])

    def clean(self) -> dict[str, Any]:
        return super().clean() or {}
