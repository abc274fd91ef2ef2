from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.http import HttpRequest

from apps.accounts.age import validate_date_of_birth
from apps.accounts.hooks import account_changed, run_account_created_hooks
from apps.accounts.models import User


class _DateField(forms.DateField):
    """A date that also refuses JSON lists and objects (the headless API passes JSON values
    straight to the form; Django's DateField would call .strip() on them)."""

    def to_python(self, value: Any) -> date | None:
        if value is not None and not isinstance(value, (str, date)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class SignupExtraForm(forms.Form):
    """Extra sign-up fields; allauth merges them into its web form and headless API."""

    date_of_birth = _DateField(
        # The field is a date picker shown in the browser's own date format, so the hint
        # names no format (the API takes ISO 8601, as its schema says).
        help_text="We use it to check you're old enough for SwipeMe. "
                  "It isn't shown on your profile.",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
    )

    def clean_date_of_birth(self) -> date:
        born: date = self.cleaned_data["date_of_birth"]
        return validate_date_of_birth(born)

    def signup(self, request: HttpRequest, user: User) -> None:
        user.date_of_birth = self.cleaned_data["date_of_birth"]
        run_account_created_hooks(user=user)  # e.g. protected minors start private
        user.save(update_fields=["date_of_birth", "is_private"])
        account_changed(user_ids=[user.pk])

    def clean(self) -> dict[str, Any]:
        return super().clean() or {}
