"""The marketplace's writes, one module per use case: `optin` (creators joining, the one
eligibility rule), `mediakit` (the kit filled from real data), `deals` (the state machine
and its money on the ledger), `shortlist` (a brand's shortlist)."""
