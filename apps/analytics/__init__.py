"""Aggregates of the event stream (watch stats per user x post, per post and hour, per
creator) that the feed and creator analytics read."""
