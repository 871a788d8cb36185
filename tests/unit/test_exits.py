"""Several exits for one Babel network: the preferred one first, the others announced at a cost no path reaches."""

import pytest

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from inventory_factory import farm


def two_exit_farm():
    networks, hostvars, groups, keys = farm(dc_nodes=4, home_nodes=1)
    hostvars["dc0"]["gridnet_tenant_exit"] = dict(hostvars["gw1"]["gridnet_tenant_exit"],
                                                  uplink={"parent": "eth2", "ipv6_gateway": "2001:db8:fd::1",
                                                          "ipv4_gateway": "192.0.2.65"})
    net = networks[0]
    net["routing"] = "babel"
    net["exits"] = [net.pop("exit"), {"node": "dc0", "ipv6": "2001:db8:fd::10/64", "ipv4": "192.0.2.74/26"}]
    return networks, hostvars, groups, keys


def test_a_second_exit_announces_a_default_only_chosen_when_the_first_is_gone_and_is_routed_upstream():
    p = plan(*two_exit_farm())
    exits = [(e["node"], e["gateway_address"]) for e in p["exits"]]
    assert exits == [("gw1", "2001:db8:ff::10"), ("dc0", "2001:db8:fd::10")]
    assert p["exits"][1]["uplink"]["ipv4"]["address"] == "192.0.2.74/26"
    assert p["exits"][0]["block"] == p["exits"][1]["block"]
    metrics = {n: s["resources"][0]["babel"]["default_metric"] for n, s in p["nodes"].items()}
    assert metrics["gw1"] == 128 and metrics["dc0"] > 128 + 96 * len(metrics)  # longer than any path to gw1
    assert all(m is None for n, m in metrics.items() if n not in ("gw1", "dc0"))
    assert all(s["resources"][0]["is_exit"] == (n in ("gw1", "dc0")) for n, s in p["nodes"].items())
    block = p["exits"][0]["block"]
    own = p["nodes"]["dc0"]["resources"][0]["prefix"]
    assert [(r["prefix"], r["via"], r["metric"]) for r in p["upstream_routes"]] == [
        (block, "2001:db8:ff::10", 1024), (block, "2001:db8:fd::10", 1280), (own, "2001:db8:fd::10", 1280)]


@pytest.mark.parametrize("change, message", [
    (lambda net: net.update(routing="static"), "several exits need routing babel"),
    (lambda net: net["exits"].pop(), "give two or more"),
    (lambda net: net.update(exit=net["exits"][0]), "give exit or exits, not both"),
    (lambda net: net["exits"][1].update(node="gw1"), "'gw1' is already an exit"),
    (lambda net: net["exits"][1].pop("ipv6"), r"exits\[1\].ipv6 .* is required"),
])
def test_bad_exits_are_refused_by_name(change, message):
    networks, hostvars, groups, keys = two_exit_farm()
    change(networks[0])
    with pytest.raises(PlanError, match=message):
        plan(networks, hostvars, groups, keys)
