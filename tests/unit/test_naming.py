import ipaddress

import pytest
from hypothesis import example, given, strategies as st

from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import naming
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from inventory_factory import fake_public_key

netids = st.text(min_size=1, max_size=64)


@given(netids)
def test_resource_names_fit_the_kernel_limit_and_are_distinct(netid):
    names = naming.resource_names(naming.net_tag(netid))
    assert all(len(n) <= 15 for n in names.values())
    assert len(set(names.values())) == len(names)


@given(netids)
def test_tag_is_a_pure_function_of_the_netid(netid):
    assert naming.net_tag(netid) == naming.net_tag(netid)
    assert naming.net_tag(netid).isalnum()


def test_known_values_do_not_drift_between_releases():
    # Renaming interfaces on upgrade would tear down every tenant link.
    assert naming.net_tag("acme") == naming.short_hash("net", "acme")
    assert naming.resource_names("acme")["namespace"] == "gt-acme"
    assert naming.wireguard_ifname(fake_public_key("n1", "acme")) == naming.wireguard_ifname(fake_public_key("n1", "acme"))
    assert len(naming.wireguard_ifname(fake_public_key("n1", "acme"))) == 13


@pytest.mark.parametrize("tag", ["toolongtagname", "Upper", "with-dash", ""])
def test_bad_user_tag_is_refused_by_name(tag):
    with pytest.raises(PlanError, match="tag"):
        naming.net_tag("acme", tag)


def test_longest_tag_fits():
    names = naming.resource_names(naming.net_tag("acme", "a" * naming.TAG_MAX))
    assert max(len(n) for n in names.values()) == 15


def test_overlong_interface_name_is_refused():
    with pytest.raises(PlanError, match="16 characters"):
        rules.check_ifname("x" * 16, "test")


@given(st.text(min_size=1, max_size=20), netids)
@example("\U00071f96\xfd\x17 \x89\xb4T", "\U00071f96\xfd\x17 \x89\xb4T")  # its first group is zero
def test_link_local_is_a_valid_fe80_address(node, netid):
    address = ipaddress.IPv6Address(naming.link_local(netid, node))
    assert address in ipaddress.IPv6Network("fe80::/64")
    assert naming.link_local(netid, node) == str(address)  # canonical form, so diffs compare equal


@pytest.mark.parametrize("key,message", [
    ("not base64!", "not valid base64"),
    ("AAAA", "decodes to 3 bytes"),
    (42, "must be a string"),
])
def test_malformed_public_key_is_refused_by_name(key, message):
    with pytest.raises(PlanError, match=message):
        rules.check_public_key(key, "node n1")


def test_valid_public_key_passes():
    key = fake_public_key("n1", "acme")
    assert rules.check_public_key(key, "node n1") == key
