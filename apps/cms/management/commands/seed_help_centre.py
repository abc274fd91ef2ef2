"""The CMS home page (/pages/, replacing Wagtail's "Welcome to your new Wagtail site!"),
the help centre (/pages/help/), the community guidelines (/pages/community-guidelines/,
one page per moderation policy), the terms and the privacy policy in Wagtail, which staff
edit at /cms/. Idempotent: existing pages (and staff edits to them) are left alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.cms.models import GuidelinePage, HelpPage
from apps.moderation.policies import Policy

HELP_PAGES = [
    (
        "account",
        "Your account",
        "<p>Sign up with an e-mail address and a date of birth; you must be at least 13. "
        "Manage your sessions and devices from Settings, and switch on two-factor "
        "authentication with any authenticator app.</p>",
    ),
    (
        "privacy",
        "Privacy and safety",
        "<p>A private account approves each follower. Blocking someone hides you from each "
        "other completely; muting hides them from you without telling them.</p>",
    ),
]


_STRIKES = (
    "<p>Content that breaks this rule is removed and the account gets a strike. Strikes "
    "expire after 90 days. Two active strikes limit features (new posts are reviewed "
    "before they are published), three suspend the account for 7 days, four ban it. "
    "Severe cases can lead to an immediate ban.</p>"
)

# (policy, summary, body) — the titles are the policy labels.
GUIDELINES: list[tuple[str, str, str]] = [
    (Policy.NUDITY_SEXUAL, "No nudity, pornography or sexually explicit content.",
     "<p>We remove nudity and sexual activity, sexual solicitation and sexually explicit "
     "language. Some content, such as art, education or breastfeeding, may stay up but be "
     "age-restricted.</p>"),
    (Policy.MINOR_SAFETY, "We have zero tolerance for content that endangers young people.",
     "<p>We remove any content that sexualises, grooms, exploits or endangers minors, and "
     "we report child sexual abuse material to the authorities. Accounts of people under 16 "
     "are private by default and cannot be messaged by strangers, duetted or stitched.</p>"),
    (Policy.VIOLENCE_GRAPHIC, "No gratuitously shocking, graphic or violent content.",
     "<p>We remove content that glorifies violence or shows gore. Documentary or "
     "newsworthy content may stay up but be age-restricted.</p>"),
    (Policy.HATE_HARASSMENT, "No attacks on people for who they are; no bullying.",
     "<p>We remove hateful content targeting protected attributes, slurs, threats, "
     "doxxing and coordinated harassment.</p>"),
    (Policy.SELF_HARM, "No content that promotes suicide, self-harm or dangerous acts.",
     "<p>We remove content that encourages self-harm, disordered eating or dangerous "
     "challenges, and point people to support resources.</p>"),
    (Policy.SPAM_SCAM, "No spam, scams, or fake engagement.",
     "<p>We remove deceptive links, repetitive content, fraud, and bought or automated "
     "likes, follows and comments.</p>"),
    (Policy.ILLEGAL_GOODS, "No trading of illegal or regulated goods and services.",
     "<p>We remove the sale or promotion of drugs, weapons, counterfeit goods and other "
     "illegal activities.</p>"),
    (Policy.MISINFORMATION, "No misinformation that causes significant harm.",
     "<p>Content with harmful false claims (health, elections, emergencies) may be removed "
     "or have its reach limited.</p>"),
    (Policy.COPYRIGHT, "Respect other people's intellectual property.",
     "<p>We remove content that infringes copyright or trademarks when rights holders "
     "notify us or our audio matching finds unlicensed music.</p>"),
    (Policy.IMPERSONATION, "Do not pretend to be someone else.",
     "<p>We remove accounts and content that deceive people by impersonating a person or "
     "organisation. Parody accounts must say so.</p>"),
    (Policy.UNDISCLOSED_PROMOTION, "Say when a brand paid for your post.",
     "<p>A post a brand paid for, or gave you something for, carries the “Paid partnership” "
     "label. We add the label to posts that hide it and may remove repeated cases; branded "
     "posts follow our ads policy.</p>"),
    (Policy.OTHER, "Everything else in our Terms of Service.",
     "<p>Other behaviour that breaks our Terms of Service, including evading a ban with a "
     "new account.</p>"),
]

LEGAL_PAGES = [
    ("terms", "Terms of Service",
     "<p>By using SwipeMe you agree to follow the Community Guidelines. We may remove "
     "content or restrict accounts that break them, and you may appeal our decisions.</p>"),
    ("privacy-policy", "Privacy Policy",
     "<p>What we collect (account details, your content, device and usage data), why, and "
     "how to export or delete your data from Settings.</p>"),
]


HOME_BODY = (
    '<p><a href="/pages/help/">Help centre</a></p>'
    '<p><a href="/pages/community-guidelines/">Community Guidelines</a></p>'
    '<p><a href="/pages/terms/">Terms of Service</a></p>'
    '<p><a href="/pages/privacy-policy/">Privacy Policy</a></p>'
    '<p><a href="/">Back to SwipeMe</a></p>'
)


def _new_home() -> HelpPage:
    return HelpPage(title="SwipeMe help and policies", slug="swipeme",
                    summary="How SwipeMe works, the rules everyone follows, and your rights.",
                    body=HOME_BODY)


def seed_home() -> HelpPage:
    """The default site's root page as a real SwipeMe page. Wagtail's install creates a
    bare `Page` titled "Welcome to your new Wagtail site!"; it is replaced (its children
    moved over) once. A HelpPage root that staff have edited is left alone. A database
    without Wagtail's initial rows (flushed) gets a tree root and a default site."""
    from django.conf import settings
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Locale, Page, Site

    # a flushed database lacks Wagtail's initial rows, the default locale among them
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
    root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is None:
        home = _new_home()
        root.add_child(instance=home)
        home.save_revision().publish()
        Site.objects.create(hostname="localhost", port=80, root_page=home,
                            is_default_site=True, site_name="SwipeMe")
        return home
    old = site.root_page.specific
    if isinstance(old, HelpPage):
        return old
    home = _new_home()
    root.add_child(instance=home)
    home.save_revision().publish()
    for child in old.get_children():
        child.move(home, pos="last-child")
    site.root_page = home
    site.save()
    if type(old) is Page:  # only Wagtail's placeholder; anything else staff made stays
        old.delete()
    return home


def _child(parent: Any, page: Any) -> Any:
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def seed_guidelines(home: Any) -> None:
    index = HelpPage.objects.child_of(home).filter(slug="community-guidelines").first()
    if index is None:
        index = _child(home, HelpPage(
            title="Community Guidelines", slug="community-guidelines",
            summary="The rules everyone on SwipeMe follows. Reports, moderators' decisions "
                    "and notices refer to these pages.",
            body="".join(f'<p><a href="/pages/community-guidelines/{p}/">{Policy(p).label}'
                         "</a></p>" for p, _, _ in GUIDELINES)))
    for policy, summary, body in GUIDELINES:
        if not GuidelinePage.objects.filter(policy=policy).exists():
            _child(index, GuidelinePage(title=Policy(policy).label, slug=policy,
                                        policy=policy, summary=summary, body=body,
                                        enforcement=_STRIKES))
    for slug, title, body in LEGAL_PAGES:
        if not HelpPage.objects.child_of(home).filter(slug=slug).exists():
            _child(home, HelpPage(title=title, slug=slug, body=body))


class Command(BaseCommand):
    help = "Create the help-centre pages if they are not there."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        home = seed_home()
        help_page = HelpPage.objects.child_of(home).filter(slug="help").first()
        if help_page is None:
            help_page = HelpPage(
                title="Help centre",
                slug="help",
                summary="Answers to common questions about SwipeMe.",
            )
            home.add_child(instance=help_page)
            help_page.save_revision().publish()
        for slug, title, body in HELP_PAGES:
            if not HelpPage.objects.child_of(help_page).filter(slug=slug).exists():
                page = HelpPage(title=title, slug=slug, body=body)
                help_page.add_child(instance=page)
                page.save_revision().publish()
        seed_guidelines(home)
