"""Seed the blocked search terms (self-harm and eating-disorder searches, which get a
safety notice with help resources instead of results, as TikTok does). Staff edit these
lists in the admin (Term lists, purpose "Blocked search terms"); written out here so the
migration does not change when the code does."""

from django.db import migrations

LISTS = [
    ("Search: self-harm (English)", "en",
     "suicide\nsuicidal\nkill myself\nkms\nwant to die\nself harm\nselfharm\nself-harm\n"
     "cutting myself\nhow to die\nsuicide methods\nthinspiration\nthinspo\npro ana\nproana\n"
     "pro mia\npromia"),
    ("Search: autolesión (español)", "es",
     "suicidio\nsuicidarme\nmatarme\nquiero morir\nautolesion\nautolesiones\ncortarme"),
    ("Search: automutilação (português)", "pt",
     "suicidio\nme matar\nquero morrer\nautomutilacao\nautolesao\nme cortar"),
]


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    term_list = apps.get_model("moderation_detection", "TermList")
    for name, language, terms in LISTS:
        term_list.objects.get_or_create(name=name, purpose="search_blocked", defaults={
            "language": language, "policy": "self_harm", "terms": terms})


class Migration(migrations.Migration):
    dependencies = [("moderation_detection", "0003_termlist_purpose")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
