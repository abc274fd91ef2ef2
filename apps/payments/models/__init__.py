"""The payments app's models: the double-entry ledger (`ledger`) and the payment
providers' records (`providers`). Knows nothing of posts, gifts or creators."""

from apps.payments.models.ledger import LedgerAccount, Transfer, TransferSet
from apps.payments.models.providers import (
    LocalProviderEvent,
    LocalProviderObject,
    Payment,
    Provider,
    ProviderEvent,
    ProviderPayout,
    Refund,
)

__all__ = ["LedgerAccount", "Transfer", "TransferSet"]
__all__ += ["LocalProviderEvent", "LocalProviderObject", "Payment", "Provider", "ProviderEvent",
            "ProviderPayout", "Refund"]
