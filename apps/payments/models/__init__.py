"""The payments app's models: the double-entry ledger (`ledger`) and the payment
providers' records (`providers`). Knows nothing of posts, gifts or creators."""

from apps.payments.models.ledger import LedgerAccount, Transfer, TransferSet

__all__ = ["LedgerAccount", "Transfer", "TransferSet"]
