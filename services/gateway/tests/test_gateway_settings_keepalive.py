"""The gateway lets idle upstream connections go before the services close them."""

from __future__ import annotations

from lfi_gateway.settings import Settings
from lfi_shared.settings import ServiceSettings


def test_services_keep_idle_connections_longer_than_the_gateway_does() -> None:
    # A service closing an idle connection while the gateway sends a POST on it would turn
    # that request into a 502 (a POST is never retried): the gateway must close first.
    assert Settings().upstream_keepalive_expiry_s < ServiceSettings().http_keep_alive_s
