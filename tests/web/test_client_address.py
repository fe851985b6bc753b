"""Which address a request counts as for the per-address login limits."""

import pytest
from django.test import RequestFactory

from huzhu.members.throttle import address_bucket
from huzhu.web.client import client_address


def _request(remote="10.0.0.5", xff=None):
    extra = {"REMOTE_ADDR": remote}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().get("/", **extra)


def test_forwarded_for_is_ignored_without_a_trusted_proxy(settings):
    settings.HUZHU_TRUSTED_PROXIES = 0
    assert client_address(_request(xff="1.2.3.4")) == "10.0.0.5"


@pytest.mark.parametrize(
    "proxies, xff, expected",
    [
        (1, "1.2.3.4", "1.2.3.4"),
        (1, "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # a forged first hop is not believed
        (2, "6.6.6.6, 1.2.3.4, 172.16.0.9", "1.2.3.4"),
        (2, "1.2.3.4", "10.0.0.5"),  # fewer hops than proxies: the direct peer
        (1, "", "10.0.0.5"),
        (1, "not-an-address", ""),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_behind_trusted_proxies_the_outermost_proxys_peer_counts(settings, proxies, xff, expected):
    settings.HUZHU_TRUSTED_PROXIES = proxies
    assert client_address(_request(xff=xff)) == expected


@pytest.mark.parametrize(
    "address, bucket",
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", ""),
    ],
)
def test_an_ipv6_address_counts_as_its_64(address, bucket):
    assert address_bucket(address) == bucket
