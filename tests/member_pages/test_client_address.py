"""Which address a member login try counts as, for the per-address limits."""

import pytest

from huzhu.members.throttle import address_bucket


def test_a_forged_forwarded_for_does_not_escape_the_limit(client, db, settings):
    settings.HUZHU_TRUSTED_PROXIES = 0
    statuses = [
        client.post(
            "/api/member/login/code",
            {"phone": f"1390000{i:04d}"},
            content_type="application/json",
            REMOTE_ADDR="198.51.100.66",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{i}",
        ).status_code
        for i in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_behind_a_trusted_proxy_each_client_counts_apart(client, db, settings):
    # One nginx in front: every request comes from its address, the client's is appended.
    settings.HUZHU_TRUSTED_PROXIES = 1
    statuses = [
        client.post(
            "/api/member/login/code",
            {"phone": f"1390000{i:04d}"},
            content_type="application/json",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"6.6.6.6, 203.0.113.{i}",  # the first hop is the client's say
        ).status_code
        for i in range(8)
    ]
    assert statuses == [200] * 8


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
