"""The address a page's browser connects from, for the services' rate limits.

Reflex records the websocket's peer (`router.session.client_ip`) and the handshake's headers. Leave Reflex's own
`trusted_proxy_hops` unset: which proxies to believe is ASSISTANT_TRUSTED_PROXIES, applied by
backend.security.client_address, the same rule the HTTP routes use.
"""

from __future__ import annotations

import reflex as rx

from backend.security import client_address as resolve


def client_address(state: rx.State) -> str:
    router = state.router
    return resolve(router.session.client_ip, router.headers.raw_headers.get("x-forwarded-for", ""))
