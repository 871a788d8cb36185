"""Planner stage topology.py: which pairs link directly, how, and at what MTU."""

import pytest
from hypothesis import given, strategies as st

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.hosts import Underlay
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.topology import direct_link, link_mtu


def underlay(node, ipv6=None, ipv4=None, reachable=True, segment=None, mtu=1500, link_mtu_cap=None):
    return Underlay(node=node, ipv6=ipv6, ipv4=ipv4, reachable=reachable, segment=segment, mtu=mtu,
                    link_mtu=link_mtu_cap, port_range=(51820, 59999), l2_interface=None)


def test_a_shared_segment_links_by_vxlan_else_by_wireguard_preferring_ipv6():
    a = underlay("a", ipv6="2001:db8::1", ipv4="192.0.2.1", segment="rack")
    b = underlay("b", ipv6="2001:db8::2", ipv4="192.0.2.2", segment="rack")
    c = underlay("c", ipv6="2001:db8::3", ipv4="192.0.2.3")
    assert direct_link(a, b)[:2] == ("localvxlan", 6)
    assert direct_link(a, c)[:4] == ("wireguard", 6, True, True)
    assert direct_link(underlay("d", ipv4="192.0.2.4"), c)[:2] == ("wireguard", 4)


def test_a_node_behind_nat_is_never_dialled_and_two_such_nodes_have_no_direct_link():
    hidden = underlay("h", ipv4="198.51.100.7", reachable=False)
    other = underlay("o", ipv4="198.51.100.8", reachable=False)
    open_ = underlay("p", ipv4="192.0.2.9")
    link = direct_link(hidden, open_)
    assert link.connection == "wireguard" and link[2] is True and link[3] is False  # hidden dials, is not dialled
    assert direct_link(hidden, other) is None  # routed through a relay instead (render.py)


@given(st.integers(1280, 9000), st.integers(1280, 9000), st.sampled_from([4, 6]))
def test_a_link_mtu_leaves_room_for_its_encapsulation_on_the_smaller_underlay(mtu_a, mtu_b, family):
    a, b = underlay("a", mtu=mtu_a), underlay("b", mtu=mtu_b)
    overhead = {6: 80, 4: 60}[family]  # WireGuard over IPv6 / IPv4
    if min(mtu_a, mtu_b) - overhead < 1280:
        with pytest.raises(PlanError, match="below the IPv6 minimum"):
            link_mtu(a, b, "wireguard", family)
    else:
        assert link_mtu(a, b, "wireguard", family) == min(mtu_a, mtu_b) - overhead


def test_a_node_cap_lowers_every_link_of_that_node():
    a, b = underlay("a", mtu=9000, link_mtu_cap=1400), underlay("b", mtu=9000)
    assert link_mtu(a, b, "wireguard", 6) == 1400
    assert link_mtu(a, b, "localvxlan", 6) == 1400
