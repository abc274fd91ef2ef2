"""The default coin packs, gift catalogue and revenue shares (staff edit them later)."""

from typing import Any

from django.db import migrations

PACKS = [("Handful", 70, 99), ("Pouch", 350, 499), ("Chest", 1400, 1999),
         ("Vault", 7000, 9999)]
GIFTS = [("Rose", 1, "🌹", "float"), ("Heart", 5, "💖", "float"),
         ("Sparkles", 10, "✨", "burst"), ("Ice cream", 30, "🍦", "float"),
         ("Trophy", 100, "🏆", "spin"), ("Rocket", 500, "🚀", "burst"),
         ("Star shower", 1000, "🌟", "rain")]
SHARES = [("gift", 5000), ("tip", 8000), ("subscription", 7000)]


def seed(apps: Any, schema_editor: Any) -> None:
    from apps.core.ids import allocate_ids

    CoinPack = apps.get_model("monetization", "CoinPack")
    Gift = apps.get_model("monetization", "Gift")
    RevenueShare = apps.get_model("monetization", "RevenueShare")
    if not CoinPack.objects.exists():
        ids = allocate_ids(len(PACKS))
        CoinPack.objects.bulk_create(
            CoinPack(id=pk, name=name, coins=coins, price_minor=price, currency="USD", sort=i)
            for i, (pk, (name, coins, price)) in enumerate(zip(ids, PACKS, strict=True)))
    if not Gift.objects.exists():
        ids = allocate_ids(len(GIFTS))
        Gift.objects.bulk_create(
            Gift(id=pk, name=name, coins=coins, emoji=emoji, animation=animation, sort=i)
            for i, (pk, (name, coins, emoji, animation)) in enumerate(zip(ids, GIFTS,
                                                                          strict=True)))
    for source, bps in SHARES:
        RevenueShare.objects.get_or_create(source=source, defaults={"creator_bps": bps})


class Migration(migrations.Migration):
    dependencies = [("monetization", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
