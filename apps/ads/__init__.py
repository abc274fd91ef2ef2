"""Ads: advertiser organisations, campaigns → ad groups → ads, targeting, audiences, review,
delivery (the auction) and measurement. See docs/architecture.md "Ads"."""
