"""The monetization admin, one module per use area (each registers its own models):
`payout_admin` (KYC review, tax forms, payouts, the finance review queue). Owners of other
areas add one import line here."""

from apps.monetization import coin_admin, payout_admin  # noqa: F401
