"""allauth's rate limits (ACCOUNT_RATE_LIMITS), tighter while Redis is unavailable.

allauth keeps its rate-limit histories in the default cache. While Redis is unavailable the
cache serves them from each process's stand-in (apps.core.cache_backend): every web process
then counts on its own, so the configured budgets would add up across processes. Sign-up,
log-in and password resets are what an attacker would try during an outage, so for those
the budgets shrink while the breaker is not closed. allauth reads the setting on every
check (`allauth.account.app_settings.RATE_LIMITS` merges it over its defaults), so this
Mapping answers the rates in force at that moment.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from apps.core import redis_health

# Per process; allauth's defaults are 20/m/ip for sign-up and password resets, 30/m/ip for
# log-ins, 20/m/ip,3/m/key for log-in codes.
OUTAGE_RATES = {
    "login_failed": "5/m/ip,3/5m/key",
    "login": "10/m/ip",
    "signup": "5/m/ip",
    "reset_password": "5/m/ip,2/m/key",
    "reset_password_from_key": "5/m/ip",
    "request_login_code": "5/m/ip,1/m/key",
    "reauthenticate": "3/5m/user",
}


class OutageStricterRates(Mapping[str, str]):
    def __init__(self, normal: Mapping[str, str],
                 during_outage: Mapping[str, str] | None = None) -> None:
        self.normal = dict(normal)
        self.during_outage = {**self.normal, **(OUTAGE_RATES if during_outage is None
                                                else during_outage)}

    def _current(self) -> dict[str, str]:
        if redis_health.breaker().state == redis_health.CLOSED:
            return self.normal
        return self.during_outage

    def __getitem__(self, action: str) -> str:
        current = self._current()
        if action in current:
            return current[action]
        # The breaker closed between allauth's keys() and this lookup: the stricter rate,
        # for this one check, rather than a KeyError.
        return self.during_outage[action]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())
