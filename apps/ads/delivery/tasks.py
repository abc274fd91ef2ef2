"""Delivery's Celery tasks (registered from AdsConfig.ready)."""

from __future__ import annotations

import logging

from celery import shared_task

from . import predict

logger = logging.getLogger(__name__)


@shared_task(name="ads.train_predictor", ignore_result=True)
def train_predictor(days: int = 14) -> int:
    """Retrain the pCTR / p2sView predictor (daily); too few events is not an error."""
    try:
        return int(predict.train_from_events(days=days).version)
    except ValueError as exc:
        logger.info("ad predictor not trained: %s", exc)
        return 0
