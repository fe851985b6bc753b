"""The client address a request came from, for per-address limits (huzhu.members.throttle).

`REMOTE_ADDR` unless the setting `HUZHU_TRUSTED_PROXIES` says how many reverse proxies in
front of Huzhu append to `X-Forwarded-For`: then the address the outermost trusted proxy saw
(the header read from the right). The header is never read without that setting: anyone can
send one, and a forged address would dodge every per-address limit.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

__all__ = ["client_address"]


def client_address(request) -> str:
    """The client's IP address as text ("" when unknown)."""
    count = int(getattr(settings, "HUZHU_TRUSTED_PROXIES", 0) or 0)
    address = request.META.get("REMOTE_ADDR", "") or ""
    if count > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            address = hops[-count]
    try:
        return str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        return ""
