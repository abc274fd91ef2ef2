"""Trust and safety: reports, cases, review, enforcement, appeals, audience rules."""
