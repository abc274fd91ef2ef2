"""Server-rendered allauth pages in our layout; the username rules as a unit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from apps.accounts.models import User
from apps.accounts.usernames import skeleton, validate_username, validate_username_format
from tests.accounts.conftest import PASSWORD
from tests.factories import UserFactory


@pytest.mark.django_db
def test_the_login_page_is_rendered_in_the_site_layout():
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="topbar"' in html  # our templates/base.html
    assert "SwipeMe" in html
    assert 'name="login"' in html


@pytest.mark.django_db
def test_the_web_signup_form_refuses_an_under_13_with_a_field_error():
    client = Client()
    response = client.post("/accounts/signup/", {
        "email": "kid@example.com", "username": "kiddo", "password1": PASSWORD,
        "password2": PASSWORD, "date_of_birth": "2022-03-03",
    })
    assert response.status_code == 200  # the form again, with errors
    assert "at least 13 years old" in response.content.decode()
    assert response.context["form"].errors["date_of_birth"]
    assert not User.objects.filter(username="kiddo").exists()


@pytest.mark.django_db
def test_the_web_signup_form_creates_an_adult_account():
    response = Client().post("/accounts/signup/", {
        "email": "adult@example.com", "username": "grown.up", "password1": PASSWORD,
        "password2": PASSWORD, "date_of_birth": "1990-03-03",
    })
    assert response.status_code == 302
    user = User.objects.get(username="grown.up")
    assert user.username_skeleton == skeleton("grown.up")
    assert not user.is_minor


@pytest.mark.parametrize("name", ["ab", "x" * 24, "nina.k", "nina_k", "Ниночка", "jürgen",
                                  "山田太郎", "nina123"])
def test_acceptable_usernames(name):
    validate_username_format(name)


@pytest.mark.parametrize(
    ("name", "code"),
    [("a", "length"), ("x" * 25, "length"), ("nina-k", "characters"), ("nina k", "characters"),
     (".nina", "period"), ("nina.", "period"), ("ni..na", "period"), ("admin", "reserved"),
     ("Settings", "reserved"), ("sup.port", "reserved"), ("adm1n", "reserved"),
     ("swipe_me", "reserved"), ("pаypal", "mixed_script"), ("раура", "confusable"),
     ("ｎｉｎａ", "characters"), ("nina@x", "characters")],
)
def test_refused_usernames(name, code):
    with pytest.raises(ValidationError) as excinfo:
        validate_username_format(name)
    assert excinfo.value.code == code


@pytest.mark.parametrize("lookalike", ["PayPal", "paypa1", "pay.pal", "pay_pal", "PAYPAL",
                                       "раураl"])
def test_skeletons_fold_lookalikes_together(lookalike):
    assert skeleton(lookalike) == skeleton("paypal")


@pytest.mark.django_db
def test_availability_is_case_insensitive_and_lookalike_aware():
    owner = UserFactory(username="paypal")
    for taken in ("PayPal", "paypa1", "pay.pal"):
        with pytest.raises(ValidationError):
            validate_username(taken)
    # the owner may change the case of their own name
    assert validate_username("PayPal", exclude_user_id=owner.pk) == "PayPal"
    assert validate_username("paypals") == "paypals"
