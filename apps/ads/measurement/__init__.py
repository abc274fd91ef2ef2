"""Measurement of served ads: the events viewers' clients report (impressions, 2 s and 6 s
views, completions) and clicks through our redirect, each verified against its served-ad
token and filtered for invalid traffic before it is billed (`events`, `ivt`); billing and
the spend moved into the payments ledger (`billing`); conversions from the pixel and the
conversions API with their attribution (`conversions`); the daily report table (`rollup`)
and the reports read from it (`reporting`)."""
