"""Tax forms: W-9 / W-8BEN field checks (TIN formats), encryption at rest (no plaintext in
the database column), and key rotation by the management command."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from apps.core.errors import ApplicationError
from apps.core.models import AuditEvent
from apps.monetization import crypto
from apps.monetization.models import TaxForm
from apps.monetization.services import tax
from tests.factories import UserFactory

W9 = {"legal_name": "Maya Lopez", "tax_classification": "individual",
      "address_line": "1 Main Street", "city": "Springfield", "state": "il", "zip": "62704",
      "tin_type": "ssn", "tin": "123-45-6789", "signature_name": "maya lopez", "certify": True}
W8 = {"legal_name": "Lena Weber", "citizenship_country": "DE", "address_line": "Hauptstr. 5",
      "city": "Berlin", "residence_country": "de", "foreign_tin": "DE 12 345 678 901",
      "date_of_birth": "1995-06-01", "signature_name": "Lena Weber", "certify": True}


def _raw_sealed(form: TaxForm) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sealed FROM {TaxForm._meta.db_table} WHERE id = %s", [form.pk])
        return str(cursor.fetchone()[0])


@pytest.mark.parametrize(("tin_type", "tin", "ok"), [
    ("ssn", "123-45-6789", True), ("ssn", "123456789", True),
    ("ssn", "000-12-3456", False), ("ssn", "666-12-3456", False),
    ("ssn", "123-00-4567", False), ("ssn", "123-45-0000", False),
    ("ssn", "912-70-1234", True),   # an ITIN
    ("ssn", "912-40-1234", False),  # 9xx but not an ITIN group
    ("ssn", "12-3456789", False), ("ssn", "123-45-678a", False),
    ("ein", "12-3456789", True), ("ein", "07-3456789", False), ("ein", "123-45-6789", False),
])
def test_w9_tin_formats(db: Any, tin_type: str, tin: str, ok: bool) -> None:
    user = UserFactory()
    data = {**W9, "tin_type": tin_type, "tin": tin}
    if ok:
        assert tax.validated(user=user, kind="w9", data=data)["tin"].replace("-", "") == \
            tin.replace("-", "")
    else:
        with pytest.raises(ApplicationError) as caught:
            tax.validated(user=user, kind="w9", data=data)
        assert list(caught.value.fields) == ["tin"]


def test_each_bad_field_is_named_in_words(db: Any) -> None:
    user = UserFactory()
    bad = {**W9, "state": "XX", "zip": "1234", "tax_classification": "pirate",
           "signature_name": "Someone Else", "certify": "yes", "legal_name": 7}
    with pytest.raises(ApplicationError) as caught:
        tax.validated(user=user, kind="w9", data=bad)
    assert set(caught.value.fields) == {"state", "zip", "tax_classification", "certify",
                                        "legal_name"}
    assert caught.value.code == "invalid_tax_form"
    with pytest.raises(ApplicationError):
        tax.validated(user=user, kind="1099", data=W9)
    w8_bad = {**W8, "citizenship_country": "US", "foreign_tin": "", "date_of_birth": "1990-01-01"}
    with pytest.raises(ApplicationError) as caught:
        tax.validated(user=user, kind="w8ben", data=w8_bad)
    assert set(caught.value.fields) == {"citizenship_country", "foreign_tin", "date_of_birth"}
    assert tax.validated(user=user, kind="w8ben", data={
        **W8, "foreign_tin": "", "foreign_tin_not_required": True})["foreign_tin_not_required"]


@pytest.mark.django_db(transaction=True)  # the rotation locks rows: no test transaction
def test_sealed_at_rest_and_rotated(settings: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SWIPEME_TAX_FORM_KEYS = [old]
    user = UserFactory()
    first = tax.tax_form_submit(user=user, kind="w9", data=W9)
    second = tax.tax_form_submit(user=user, kind="w8ben", data=W8)
    first.refresh_from_db()
    assert not first.active
    assert second.active
    for form, secrets_ in ((first, ("123-45-6789", "123456789", "Maya", "Springfield")),
                           (second, ("345 678", "Lena", "Hauptstr", "1995-06-01"))):
        raw = _raw_sealed(form)
        assert not any(s in raw for s in secrets_)
        assert Fernet(old.encode()).decrypt(raw.encode())  # really under the old key
    assert tax.tax_form_summary(first).tin_hint == "SSN or ITIN ending 6789"

    settings.SWIPEME_TAX_FORM_KEYS = [new, old]
    call_command("rotate_tax_form_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert AuditEvent.objects.filter(app="monetization", verb="tax_form_keys_rotate").exists()
    first.refresh_from_db()
    second.refresh_from_db()
    settings.SWIPEME_TAX_FORM_KEYS = [new]  # the old key removed: still readable
    assert tax.tax_form_summary(first).legal_name == "Maya Lopez"
    assert tax.tax_form_summary(second).tin_hint == "Tax number ending 8901"
    settings.SWIPEME_TAX_FORM_KEYS = [old]  # the old key alone no longer reads them
    with pytest.raises(ImproperlyConfigured):
        crypto.unseal(_raw_sealed(first))


def test_production_without_keys_refuses(db: Any, settings: Any) -> None:
    settings.SWIPEME_TAX_FORM_KEYS = []
    settings.SWIPEME_TAX_FORM_KEYS_DERIVED_OK = False
    with pytest.raises(ImproperlyConfigured):
        crypto.seal({"tin": "123-45-6789"})


def test_the_api_files_a_form_and_shows_it_masked(db: Any) -> None:
    from rest_framework.test import APIClient

    user = UserFactory()
    api = APIClient()
    api.force_authenticate(user)
    url = "/api/v1/me/tax-form"
    assert api.get(url).status_code == 404
    refused = api.post(url, {"kind": "w9", "form": {**W9, "tin": "666-12-3456"}},
                       format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {
        "tin": ["Not a valid SSN or ITIN (123-45-6789)."]}
    assert api.post(url, {"kind": "w9", "form": "not a dict"}, format="json").status_code == 400
    filed = api.post(url, {"kind": "w9", "form": W9}, format="json")
    assert filed.status_code == 201
    shown = api.get(url).json()
    assert (shown["kind"], shown["tin_hint"], shown["legal_name"]) == (
        "w9", "SSN or ITIN ending 6789", "Maya Lopez")
    assert "123-45-6789" not in str(shown)
