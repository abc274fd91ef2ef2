"""Ad delivery: the auction, predictions, pacing, budgets, frequency caps, slots and
the served-ad token (docs/architecture.md, "Ads")."""
