"""The portal's forms: they parse what a person typed (money in the org's currency → integer
micros, the day-parting grid → hours of the week, comma lists → codes) and show errors beside
each field. The rules (what is allowed, what is absurd, who may do it) are apps.ads'
services'; a service's refusal comes back onto the field it names (`apply_errors`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.core.errors import ApplicationError
from apps.payments.money import MICROS_PER_UNIT

Choices = Sequence[tuple[str, str]]

# Form-level sanity bounds (the services hold the real rules; these keep a typo like
# 1e12 from ever reaching them as a number).
MAX_AMOUNT = Decimal("100000000")  # 100 million in the org's currency
MONEY_DECIMALS = 4
DAYS = (
    ("0", "Mon"),
    ("1", "Tue"),
    ("2", "Wed"),
    ("3", "Thu"),
    ("4", "Fri"),
    ("5", "Sat"),
    ("6", "Sun"),
)
HOURS = tuple((str(h), f"{h:02d}:00") for h in range(24))
HOURS_END = tuple((str(h), f"{h:02d}:00" if h < 24 else "24:00") for h in range(1, 25))
REGION_RE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def micros_of(amount: Decimal) -> int:
    """An amount in currency units (12.34) → integer micros (12_340_000), exactly."""
    return int((amount * MICROS_PER_UNIT).to_integral_value())


def amount_of(micros: int | None) -> Decimal | None:
    """Integer micros → an amount to prefill a form with (no trailing zeros past cents)."""
    if micros is None:
        return None
    value = Decimal(micros) / MICROS_PER_UNIT
    return (
        value.quantize(Decimal("0.01"))
        if value == value.quantize(Decimal("0.01"))
        else value.normalize()
    )


class MoneyField(forms.DecimalField):
    """An amount in the org's currency: positive, at most 4 decimals, below MAX_AMOUNT."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", Decimal("0.0001"))
        kwargs.setdefault("max_value", MAX_AMOUNT)
        kwargs.setdefault("decimal_places", MONEY_DECIMALS)
        kwargs.setdefault("max_digits", 13)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "step": "any"})
        self.error_messages["invalid"] = "Enter an amount, such as 25 or 12.50."
        self.error_messages["min_value"] = "Enter an amount above zero."
        self.error_messages["max_decimal_places"] = (
            f"Use at most {self.decimal_places} decimal places."
        )

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().replace(",", "").lstrip("$€")
        try:
            return super().to_python(value)
        except InvalidOperation as exc:  # pragma: no cover - DecimalField raises its own
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc


# The services name some fields otherwise than the forms do (money in micros, ids).
SERVICE_FIELD_NAMES = {
    "budget_micros": "budget",
    "bid_micros": "bid",
    "target_cost_micros": "target_cost",
    "hours_of_week": "hour_to",
    "custom_audience_ids": "custom_audiences",
    "lookalike_ids": "lookalikes",
    "asset": "asset_id",
    "hashes": "file",
    "seed_id": "seed",
}


def apply_errors(form: forms.Form, error: ApplicationError) -> None:
    """A service's refusal shown on the form: on each field it names (known to the form,
    under the form's name for it), else above the form, always in the service's words."""
    placed = False
    for name, problems in (error.fields or {}).items():
        target = SERVICE_FIELD_NAMES.get(name, name)
        if target not in form.fields:
            continue
        for problem in problems if isinstance(problems, list | tuple) else [problems]:
            form.add_error(target, str(problem))
        placed = True
    if not placed:
        form.add_error(None, error.message)


def _codes(raw: str) -> list[str]:
    return [part.strip().upper() for part in re.split(r"[\s,;]+", raw or "") if part.strip()]


class OrgForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Organisation name",
        help_text="Shown to your team; ads show their own display name.",
    )
    country = forms.ChoiceField(label="Country", help_text="Where the business is registered.")
    currency = forms.ChoiceField(
        label="Currency",
        help_text="Budgets, bids and the balance are in this currency. It cannot change later.",
    )
    timezone = forms.ChoiceField(
        label="Time zone", help_text="Schedules and day-parting hours are read in it."
    )

    def __init__(
        self, *args: Any, countries: Choices, currencies: Choices, zones: Choices, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._choices("country", [("", "Choose a country"), *countries])
        self._choices("currency", currencies)
        self._choices("timezone", zones)

    def _choices(self, name: str, choices: Iterable[tuple[str, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = list(choices)


class InviteForm(forms.Form):
    identifier = forms.CharField(
        max_length=254,
        label="Username or e-mail",
        help_text="The SwipeMe account of the person to add.",
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(label="Role")

    def __init__(self, *args: Any, roles: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["role"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = list(roles)

    def clean_identifier(self) -> str:
        return str(self.cleaned_data["identifier"]).strip().lstrip("@")


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role")

    def __init__(self, *args: Any, roles: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["role"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = list(roles)


class FundForm(forms.Form):
    amount = MoneyField(
        label="Amount",
        max_value=Decimal("100000"),
        decimal_places=2,
        help_text="Added to the prepaid balance once the payment succeeds.",
    )
    payment_method = forms.ChoiceField(
        label="Payment method",
        required=False,
        help_text="The local test provider's cards (this is not a real payment).",
    )

    def __init__(self, *args: Any, methods: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["payment_method"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = list(methods)
        field.required = bool(methods)
        if not methods:
            field.widget = forms.HiddenInput()


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=120, label="Campaign name")
    objective = forms.ChoiceField(
        label="Objective",
        help_text="What you pay for results of: it sets what the target-cost strategy optimises.",
    )
    budget_kind = forms.ChoiceField(label="Budget", widget=forms.RadioSelect)
    budget = MoneyField(
        label="Budget amount",
        help_text="Daily: spent at most per day. Lifetime: over the whole schedule (needs an end).",
    )
    start_at = forms.DateTimeField(
        label="Starts",
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    end_at = forms.DateTimeField(
        label="Ends",
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text="Leave empty to run until you pause it (daily budgets only).",
    )
    inventory_tier = forms.ChoiceField(
        label="Inventory",
        widget=forms.RadioSelect,
        help_text="How far your ads stay from sensitive content.",
    )

    def __init__(
        self, *args: Any, objectives: Choices, budget_kinds: Choices, tiers: Choices, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        for name, choices in (
            ("objective", objectives),
            ("budget_kind", budget_kinds),
            ("inventory_tier", tiers),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = list(choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: datetime | None = data.get("start_at")
        end: datetime | None = data.get("end_at")
        if start and end and end <= start:
            self.add_error("end_at", "The end must be after the start.")
        if data.get("budget_kind") == "lifetime" and not end and "end_at" not in self.errors:
            self.add_error("end_at", "A lifetime budget needs an end date.")
        return data


class AdGroupForm(forms.Form):
    name = forms.CharField(max_length=120, label="Ad group name")
    bid_strategy = forms.ChoiceField(label="Bid strategy", widget=forms.RadioSelect)
    bid = MoneyField(
        label="Bid",
        required=False,
        help_text="CPM: per 1,000 impressions. CPC: per click. 2-second view: "
        "per view. Not used by the target-cost strategy.",
    )
    target_cost = MoneyField(
        label="Target cost per result",
        required=False,
        help_text="Only for the target-cost strategy: what one result of "
        "the campaign's objective should cost on average.",
    )
    frequency_cap_day = forms.IntegerField(
        label="At most per person per day",
        required=False,
        min_value=1,
        max_value=100,
        help_text="Impressions. Empty: no daily cap.",
    )
    frequency_cap_week = forms.IntegerField(
        label="At most per person per week",
        required=False,
        min_value=1,
        max_value=500,
        help_text="Impressions. Empty: no weekly cap.",
    )
    placements = forms.MultipleChoiceField(label="Placements", widget=forms.CheckboxSelectMultiple)
    days = forms.MultipleChoiceField(
        label="Days",
        choices=DAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every day.",
    )
    hour_from = forms.TypedChoiceField(label="From", choices=HOURS, coerce=int, initial="0")
    hour_to = forms.TypedChoiceField(
        label="Until",
        choices=HOURS_END,
        coerce=int,
        initial="24",
        help_text="In the organisation's time zone.",
    )
    countries = forms.MultipleChoiceField(
        label="Countries",
        required=False,
        help_text="None chosen: every country. Hold Ctrl (⌘ on a Mac) to pick several.",
    )
    regions = forms.CharField(
        label="Regions",
        required=False,
        max_length=400,
        help_text="ISO 3166-2 codes separated by commas, such as US-CA, "
        "GB-SCT. Empty: the whole of each country.",
    )
    languages = forms.MultipleChoiceField(
        label="Languages", required=False, help_text="None chosen: any language."
    )
    age_bands = forms.MultipleChoiceField(
        label="Age bands",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every adult band.",
    )
    interests = forms.MultipleChoiceField(
        label="Interests",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Adults who chose the topic or recently watched videos about it.",
    )
    devices = forms.MultipleChoiceField(
        label="Devices",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every device.",
    )
    topics = forms.MultipleChoiceField(
        label="Content topics",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Show the ad only between videos on these topics (by their hashtags), to "
        "anyone, signed-out viewers and teens included. None ticked: next to any video.",
    )
    custom_audiences = forms.MultipleChoiceField(
        label="Custom audiences", required=False, widget=forms.CheckboxSelectMultiple
    )
    lookalikes = forms.MultipleChoiceField(
        label="Lookalike audiences", required=False, widget=forms.CheckboxSelectMultiple
    )

    TARGETING = (
        "countries",
        "regions",
        "languages",
        "age_bands",
        "interests",
        "devices",
        "custom_audiences",
        "lookalikes",
        "topics",
    )

    def __init__(self, *args: Any, choices: dict[str, Choices], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField | forms.MultipleChoiceField)
            field.choices = list(options)
        for name in ("countries", "languages"):
            self.fields[name].widget.attrs["size"] = 8

    def clean_regions(self) -> list[str]:
        codes = _codes(self.cleaned_data.get("regions", ""))
        bad = [code for code in codes if not REGION_RE.match(code)]
        if bad:
            raise ValidationError(
                f"Not a region code: {', '.join(bad[:5])}. Use codes such as US-CA."
            )
        return list(dict.fromkeys(codes))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        strategy = data.get("bid_strategy")
        if strategy == "target_cost":
            if data.get("target_cost") is None and "target_cost" not in self.errors:
                self.add_error("target_cost", "Enter the cost per result you are aiming for.")
        elif strategy and data.get("bid") is None and "bid" not in self.errors:
            self.add_error("bid", "Enter your bid.")
        start, end = data.get("hour_from"), data.get("hour_to")
        if start is not None and end is not None and end <= start:
            self.add_error("hour_to", "The end hour must be after the start hour.")
        return data

    def hours_of_week(self) -> list[int]:
        """The ticked days by [from, until) → hours of the week (0 = Monday 00:00); every day
        all day is [] ("always")."""
        data = self.cleaned_data
        days = [int(d) for d in data.get("days") or []] or list(range(7))
        start, end = int(data.get("hour_from") or 0), int(data.get("hour_to") or 24)
        if len(days) == 7 and start == 0 and end == 24:
            return []
        return sorted(day * 24 + hour for day in days for hour in range(start, end))

    @staticmethod
    def grid_initial(hours: Sequence[int]) -> dict[str, Any]:
        """hours_of_week → the form's days/from/until (the widest span of the first day)."""
        if not hours:
            return {"days": [], "hour_from": 0, "hour_to": 24}
        days = sorted({h // 24 for h in hours})
        first = sorted(h % 24 for h in hours if h // 24 == days[0])
        return {
            "days": [str(d) for d in days] if len(days) < 7 else [],
            "hour_from": first[0],
            "hour_to": first[-1] + 1,
        }


class AdForm(forms.Form):
    name = forms.CharField(
        max_length=120, label="Ad name", help_text="For you and your team; viewers do not see it."
    )
    asset_id = forms.CharField(
        widget=forms.HiddenInput,
        required=True,
        error_messages={"required": "Upload the video first."},
    )
    display_name = forms.CharField(
        max_length=50, label="Display name", help_text="Shown on the ad, above the Sponsored label."
    )
    cta = forms.ChoiceField(label="Call to action")
    landing_url = forms.URLField(
        max_length=2000,
        label="Landing page",
        assume_scheme="https",
        help_text="Where the button goes (https://). It is checked when you submit the ad.",
    )
    redirect_disclosed = forms.BooleanField(
        required=False,
        label="The landing page redirects to another domain, and I disclose it",
        help_text="Needed when the link ends on a domain other than its own.",
    )
    restricted_category = forms.ChoiceField(
        label="Restricted category",
        required=False,
        help_text="Alcohol, gambling, dating, financial services and weight loss are shown "
        "to adults only and reviewed more strictly.",
    )

    def __init__(self, *args: Any, ctas: Choices, categories: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, options in (("cta", ctas), ("restricted_category", categories)):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = list(options)


class AudienceForm(forms.Form):
    name = forms.CharField(max_length=120, label="Audience name")
    file = forms.FileField(
        label="E-mail list (CSV)",
        help_text="One e-mail address per line (or in the first column). The server "
        "normalises and hashes each address with SHA-256 as it reads the file and "
        "keeps no address: only the people they match. Lines that are already "
        "SHA-256 hex are taken as they are.",
    )

    MAX_BYTES = 20 * 1024 * 1024

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError("The file is larger than 20 MB. Split it into several audiences.")
        return upload


class LookalikeForm(forms.Form):
    name = forms.CharField(max_length=120, label="Lookalike name")
    seed = forms.ChoiceField(
        label="Seed audience", help_text="People like the members of this audience."
    )
    size = forms.IntegerField(
        label="Size", min_value=100, max_value=1_000_000, help_text="How many people to find."
    )

    def __init__(self, *args: Any, seeds: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["seed"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = list(seeds)
