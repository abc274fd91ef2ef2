"""Tax forms: a W-9 (US persons) or a W-8BEN (everyone else), checked field by field, then
sealed (`apps.monetization.crypto`) so the database never holds a name, address or TIN in
plaintext. A new form replaces the active one (the old row stays, inactive, for records)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.locales import country_choices
from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.monetization import crypto
from apps.monetization.models import TaxForm

W9_CLASSIFICATIONS = {
    "individual": "Individual or sole proprietor", "c_corp": "C corporation",
    "s_corp": "S corporation", "partnership": "Partnership", "trust_estate": "Trust or estate",
    "llc": "Limited liability company", "other": "Other"}
_STATES = ("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT "
           "NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP "
           "PR VI")
US_STATES = frozenset(_STATES.split(" "))
# EIN prefixes the IRS never assigns.
_EIN_INVALID_PREFIXES = frozenset({"00", "07", "08", "09", "17", "18", "19", "28", "29", "49",
                                   "69", "70", "78", "79", "89", "96", "97"})
_SSN = re.compile(r"(\d{3})-?(\d{2})-?(\d{4})")
_EIN = re.compile(r"(\d{2})-?(\d{7})")
_FOREIGN_TIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]{2,28}[A-Za-z0-9]")
_ZIP = re.compile(r"\d{5}(-\d{4})?")


def _is_itin(area: str, group: str) -> bool:
    g = int(group)
    return area.startswith("9") and (50 <= g <= 65 or 70 <= g <= 88 or 90 <= g <= 92
                                     or 94 <= g <= 99)


def ssn_or_itin(raw: str) -> str | None:
    """The TIN as AAA-GG-SSSS when it is a well-formed SSN or ITIN, else None."""
    match = _SSN.fullmatch(raw.strip())
    if match is None:
        return None
    area, group, serial = match.groups()
    if area.startswith("9"):
        return f"{area}-{group}-{serial}" if _is_itin(area, group) else None
    if area in ("000", "666") or group == "00" or serial == "0000":
        return None
    return f"{area}-{group}-{serial}"


def ein(raw: str) -> str | None:
    match = _EIN.fullmatch(raw.strip())
    if match is None or match.group(1) in _EIN_INVALID_PREFIXES:
        return None
    return f"{match.group(1)}-{match.group(2)}"


class _Form:
    """Collects the field errors of one submission, then raises them all at once."""

    def __init__(self, data: Any) -> None:
        self.data = data if isinstance(data, dict) else {}
        self.errors: dict[str, list[str]] = {}
        self.clean: dict[str, Any] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(self, name: str, *, max_length: int = 120, required: bool = True) -> str:
        raw = self.data.get(name, "")
        if not isinstance(raw, str):
            self.fail(name, "Must be text.")
            return ""
        value = " ".join(raw.split())
        if required and not value:
            self.fail(name, "This field is required.")
        elif len(value) > max_length:
            self.fail(name, f"At most {max_length} characters.")
        self.clean[name] = value
        return value

    def country(self, name: str, *, not_us: bool = False) -> str:
        value = self.text(name, max_length=2).upper()
        self.clean[name] = value
        if value and value not in dict(country_choices()):
            self.fail(name, "Not a country code (ISO 3166, two letters, e.g. DE).")
        elif not_us and value == "US":
            self.fail(name, "US persons fill in a W-9 instead.")
        return value

    def certified(self) -> None:
        if self.data.get("certify") is not True:
            self.fail("certify", "Confirm that the information is true and correct.")
        signature = self.text("signature_name")
        legal = self.clean.get("legal_name", "")
        if signature and legal and signature.casefold() != legal.casefold():
            self.fail("signature_name", "Sign with your legal name as written above.")

    def raise_errors(self) -> None:
        if self.errors:
            raise ApplicationError("Some fields of the tax form need fixing.",
                                   code="invalid_tax_form", fields=self.errors)


def _w9(form: _Form) -> None:
    form.text("legal_name")
    form.text("business_name", required=False)
    classification = form.text("tax_classification", max_length=20)
    if classification and classification not in W9_CLASSIFICATIONS:
        form.fail("tax_classification", f"One of: {', '.join(W9_CLASSIFICATIONS)}.")
    form.text("address_line")
    form.text("city", max_length=60)
    state = form.text("state", max_length=2).upper()
    form.clean["state"] = state
    if state and state not in US_STATES:
        form.fail("state", "A US state or territory code, e.g. CA.")
    zip_code = form.text("zip", max_length=10)
    if zip_code and not _ZIP.fullmatch(zip_code):
        form.fail("zip", "A ZIP code: 5 digits, or ZIP+4 (12345-6789).")
    tin_type = form.text("tin_type", max_length=4)
    tin = form.text("tin", max_length=20)
    if tin_type not in ("ssn", "ein"):
        form.fail("tin_type", "Either ssn (an SSN or ITIN) or ein.")
    elif tin:
        checked = ssn_or_itin(tin) if tin_type == "ssn" else ein(tin)
        if checked is None:
            form.fail("tin", "Not a valid SSN or ITIN (123-45-6789)." if tin_type == "ssn"
                      else "Not a valid EIN (12-3456789).")
        else:
            form.clean["tin"] = checked
    form.certified()


def _w8ben(form: _Form, user: User) -> None:
    form.text("legal_name")
    form.country("citizenship_country", not_us=True)
    form.text("address_line")
    form.text("city", max_length=60)
    form.country("residence_country", not_us=True)
    foreign_tin = form.text("foreign_tin", max_length=30, required=False)
    not_required = form.data.get("foreign_tin_not_required") is True
    form.clean["foreign_tin_not_required"] = not_required
    if foreign_tin and not _FOREIGN_TIN.fullmatch(foreign_tin):
        form.fail("foreign_tin", "4 to 30 letters and digits (spaces, dots, slashes and "
                  "hyphens between them).")
    elif not foreign_tin and not not_required:
        form.fail("foreign_tin", "Give your tax identification number, or say that your "
                  "country does not require one.")
    us_tin = form.text("us_tin", max_length=20, required=False)
    if us_tin:
        checked = ssn_or_itin(us_tin)
        if checked is None:
            form.fail("us_tin", "Not a valid SSN or ITIN (123-45-6789).")
        else:
            form.clean["us_tin"] = checked
    born = form.text("date_of_birth", max_length=10)
    if born:
        try:
            day = date.fromisoformat(born)
        except ValueError:
            form.fail("date_of_birth", "A date as YYYY-MM-DD.")
        else:
            if user.date_of_birth is not None and day != user.date_of_birth:
                form.fail("date_of_birth", "Does not match the date of birth on your account.")
    if form.data.get("treaty_country"):
        form.country("treaty_country")
    form.certified()


def validated(*, user: User, kind: Any, data: Any) -> dict[str, Any]:
    if kind not in TaxForm.Kind.values:
        raise ApplicationError("Choose the form: w9 (US persons) or w8ben (everyone else).",
                               code="invalid_tax_form", fields={"kind": ["w9 or w8ben."]})
    form = _Form(data)
    if kind == TaxForm.Kind.W9:
        _w9(form)
    else:
        _w8ben(form, user)
    form.raise_errors()
    return form.clean


def tax_form_submit(*, user: User, kind: Any, data: Any) -> TaxForm:
    fields = validated(user=user, kind=kind, data=data)
    with transaction.atomic():
        # One active form per person (a partial unique index): the new one replaces it.
        TaxForm.objects.filter(user_id=user.pk, active=True).update(active=False)
        return TaxForm.objects.create(user_id=user.pk, kind=kind, sealed=crypto.seal(fields),
                                      signed_at=timezone.now())


def active_tax_form(user_id: int) -> TaxForm | None:
    return TaxForm.objects.filter(user_id=user_id, active=True).first()


@dataclass(frozen=True)
class TaxFormSummary:
    """What the creator sees of their form: never the full TIN."""

    id: int
    kind: str
    kind_label: str
    legal_name: str
    tin_hint: str  # "SSN ending 6789"
    signed_at: Any


def _last4(tin: object) -> str:
    return "".join(ch for ch in str(tin) if ch.isalnum())[-4:]


def mask(fields: dict[str, Any], kind: str) -> str:
    if kind == TaxForm.Kind.W9:
        label = "SSN or ITIN" if fields.get("tin_type") == "ssn" else "EIN"
        return f"{label} ending {_last4(fields.get('tin', ''))}"
    if fields.get("foreign_tin"):
        return f"Tax number ending {_last4(fields['foreign_tin'])}"
    return "No tax number required in your country"


def tax_form_summary(form: TaxForm) -> TaxFormSummary:
    fields = crypto.unseal(form.sealed)
    return TaxFormSummary(id=form.pk, kind=form.kind, kind_label=form.get_kind_display(),
                          legal_name=str(fields.get("legal_name", "")),
                          tin_hint=mask(fields, form.kind), signed_at=form.signed_at)


def tax_forms_rotate_keys(*, batch: int = 500) -> int:
    """Re-encrypt every tax form under the first key of SWIPEME_TAX_FORM_KEYS (each row
    locked while it is rewritten). Returns how many rows were rewritten."""
    done = 0
    last = 0
    while True:
        with transaction.atomic():
            rows = list(TaxForm.objects.select_for_update().filter(pk__gt=last)
                        .order_by("pk")[:batch])
            if not rows:
                return done
            for row in rows:
                row.sealed = crypto.reseal(row.sealed)
            TaxForm.objects.bulk_update(rows, ["sealed"])
            done += len(rows)
            last = rows[-1].pk
