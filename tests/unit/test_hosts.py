"""Planner stage hosts.py: each host's variables read once, refused by name when they are wrong."""

import pytest

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.hosts import read_exit_gateway, read_underlay


def underlay_of(**values):
    return read_underlay("n1", {"n1": {"gridnet_tenant_underlay": values}})


def test_an_underlay_gets_its_defaults_and_canonical_addresses():
    found = underlay_of(ipv6="2001:DB8:0::0010")
    assert found.ipv6 == "2001:db8::10" and found.ipv4 is None
    assert found.reachable is True and found.mtu == 1500 and found.port_range == (51820, 59999)


@pytest.mark.parametrize("values, named", [
    ({}, "has neither ipv6 nor ipv4"),
    ({"ipv4": "2001:db8::1"}, "ipv4"),
    ({"ipv6": "2001:db8::1", "mtu": 1000}, "mtu"),
    ({"ipv6": "2001:db8::1", "port_range": [60000, 50000]}, "port_range"),
    ({"ipv6": "2001:db8::1", "reachable": "maybe"}, "reachable"),
    ({"ipv6": "2001:db8::1", "l2_interface": "x" * 16}, "l2_interface"),
    ({"ipv6": "2001:db8::1", "typo": 1}, "typo"),
])
def test_a_wrong_underlay_is_refused_naming_the_host_and_the_field(values, named):
    with pytest.raises(PlanError, match="host n1") as raised:
        underlay_of(**values)
    assert named in str(raised.value)


def test_an_exit_gateway_needs_its_uplink_parent_and_an_allocation():
    hostvars = {"gw": {"gridnet_tenant_underlay": {"ipv6": "2001:db8::1"},
                       "gridnet_tenant_exit": {"allocation": "2001:db8:100::/40", "uplink": {}}}}
    with pytest.raises(PlanError, match="gw"):
        read_exit_gateway("gw", hostvars)
    hostvars["gw"]["gridnet_tenant_exit"]["uplink"]["parent"] = "eth1"
    assert read_exit_gateway("gw", hostvars) is not None
