"""Which address the per-address budgets count, behind our own load balancers and behind Shopify's app proxy."""
from __future__ import annotations

from django.test import RequestFactory

from backend.storefront.access import client_ip


def request(forwarded: str = "", remote: str = "10.0.0.5"):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_HOPS = 0
    assert client_ip(request("203.0.113.9")) == "10.0.0.5"


def test_behind_one_load_balancer_the_entry_it_appended_counts_not_what_the_client_wrote(settings):
    settings.TRUSTED_PROXY_HOPS = 1
    # The client sent "1.2.3.4" itself; the balancer appended the address it really saw.
    assert client_ip(request("1.2.3.4, 198.51.100.20")) == "198.51.100.20"
    assert client_ip(request("198.51.100.20")) == "198.51.100.20"
    assert client_ip(request()) == "10.0.0.5"


def test_behind_shopifys_app_proxy_the_first_hop_is_the_shopper(settings):
    settings.TRUSTED_PROXY_HOPS = 1
    assert client_ip(request("198.51.100.30, 23.227.38.1"), via_proxy=True) == "198.51.100.30"


def test_an_ipv6_household_counts_as_one_address_whatever_its_interface_ids(settings):
    """Rotating the low 64 bits must not give a fresh budget each time."""
    settings.TRUSTED_PROXY_HOPS = 0
    one = client_ip(request(remote="2001:db8:1:2::1"))
    other = client_ip(request(remote="2001:db8:1:2:ffff:abcd:1234:5678"))
    assert one == other == "2001:db8:1:2::/64"
    assert client_ip(request(remote="2001:db8:1:3::1")) != one
    assert client_ip(request(remote="198.51.100.4")) == "198.51.100.4"
