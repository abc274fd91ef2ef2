"""The garbage collector of a socket worker: `apps.core.socket_gc` (the live chat's sockets
tune it too); kept under this name for messaging's consumer and its test."""

from apps.core.socket_gc import THRESHOLDS, tune_once

__all__ = ["THRESHOLDS", "tune_once"]
