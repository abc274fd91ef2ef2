"""The monetization app's models, one module per use area: coins (packs, purchases),
gifts and tips, subscriptions, payouts (KYC, tax forms, payout requests) and fraud
(risk reviews)."""
