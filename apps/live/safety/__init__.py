"""Live safety (docs/architecture.md, "Live" / "Safety"): reports of lives and of their chat
messages (`reporting`: a copy of the live, its latest frame and the chat around the report
handed to moderation), the hooks moderation's decisions reach live through
(`moderation_hooks`: end the live, ban the key, remove a chat message, the review page's
preview and files), and the sampled-frame nudity check while a live is on air (`frames`).
"""
