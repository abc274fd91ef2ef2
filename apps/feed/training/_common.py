"""What the training modules share."""

from __future__ import annotations

SEED = 7
