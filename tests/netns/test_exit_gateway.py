"""The exit gateway and upstream router with real packets.

    b (workload) --wg-- gw (exit) --uplink0/macvlan-- router --- inet

The internet host only knows the router; the router only learns the tenant
block from gridnet.tenant.upstream_routes. Probes are real TCP/UDP exchanges
whose far end echoes the source address it saw.
"""

import copy
import re

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import labtools  # tests/support

INET6, INET4 = "2001:db8:fe::2", "198.51.100.2"
EXIT6, EXIT4 = "2001:db8:ff::10", "203.0.113.10"
NETWORK = dict(
    exit={"node": "gw", "ipv6": EXIT6 + "/64", "ipv4": EXIT4 + "/24"},
    uplink={"parent": "uplink0", "ipv6_gateway": "2001:db8:ff::1", "ipv4_gateway": "203.0.113.1", "metric": 500},
    ipv4_dnat=[{"proto": "tcp", "port": 8080, "node": "b", "host": 10, "to_port": 80}],
    ipv6_allow=[{"node": "b", "proto": "tcp", "port": 22}, {"node": "b", "proto": "udp", "port": 5353}],
)


def build(farm, **network):
    farm.exit_node = "gw"
    farm.node("gw", ipv6="2001:db8:1::1", reachable=True)
    farm.node("b", ipv6="2001:db8:1::2", reachable=True)
    farm.cable("gw", "b", "2001:db8:1::")
    farm.outside("gw")
    the_plan = farm.plan(**dict(NETWORK, **network))
    for node in ("gw", "b"):
        assert not farm.converge(the_plan, node).get("failed")
    return the_plan


def exit_gateway(farm, the_plan, **args):
    return farm.module("gw", "exit_gateway", exit=the_plan["exits"][0], **args)


def nft_handles(farm, table):
    return lab.run(farm.pids["gw"], ["nsenter", "--net=/run/netns/" + table_ns(farm), "nft", "-a", "list", "table",
                                     "inet", table]).stdout


def table_ns(farm):
    return farm.last_plan["exits"][0]["namespace"]


@pytest.fixture
def exit_farm(farm):
    farm.last_plan = build(farm)
    first = exit_gateway(farm, farm.last_plan)
    assert first["changed"] and not first.get("failed"), first
    routes = farm.module("router", "upstream_routes", routes=farm.last_plan["upstream_routes"])
    assert routes["changed"], routes
    farm.workload_addresses = farm.workload(farm.last_plan, "b")
    return farm


def test_ipv6_routed_with_source_kept_and_ipv4_natted(exit_farm):
    farm = exit_farm
    inet = farm.pids["inet"]
    echo = labtools.serve_source_echo(inet, None, ["udp:9000", "tcp:9001"])
    try:
        wl6, wl4 = farm.workload_addresses
        assert farm.ping("b", INET6, deadline=10), "workload cannot reach the internet host over IPv6"
        assert labtools.probe(farm.pids["b"], "wl", "udp", INET6, 9000) == wl6  # routed: the workload's own address
        assert labtools.probe(farm.pids["b"], "wl", "tcp", INET6, 9001) == wl6
        assert labtools.probe(farm.pids["b"], "wl", "udp", INET4, 9000) == EXIT4  # NAT44 to the uplink address
        assert labtools.probe(farm.pids["b"], "wl", "tcp", INET4, 9001) == EXIT4
    finally:
        echo.kill()


def test_dnat_forward_and_ipv6_allow_list(exit_farm):
    farm = exit_farm
    wl6, _unused = farm.workload_addresses
    echo = labtools.serve_source_echo(farm.pids["b"], "wl", ["tcp:80", "tcp:22", "tcp:23", "udp:5353", "udp:5354"])
    try:
        assert farm.ping("b", INET6, deadline=10)  # the tunnel is up before the probes count
        inet = farm.pids["inet"]
        # DNAT: the internet host reaches the workload's port 80 through the exit's 8080, source kept
        assert labtools.probe(inet, None, "tcp", EXIT4, 8080) == "198.51.100.2"
        # allow-list: listed ports pass, unlisted ones are dropped (no reply, not even a reset)
        assert labtools.probe(inet, None, "tcp", wl6, 22) == INET6
        assert labtools.probe(inet, None, "udp", wl6, 5353) == INET6
        assert labtools.probe(inet, None, "tcp", wl6, 23, timeout=2) is None
        assert labtools.probe(inet, None, "udp", wl6, 5354, timeout=2) is None
    finally:
        echo.kill()


def test_reapply_changes_nothing_and_keeps_rule_handles(exit_farm):
    farm = exit_farm
    table = farm.last_plan["exits"][0]["table"]
    handles = nft_handles(farm, table)
    assert "masquerade" in handles and "dnat ip to" in handles
    again = exit_gateway(farm, farm.last_plan)
    assert again["changed"] is False, again["changes"]
    assert again["diff"]["before"] == again["diff"]["after"]
    assert nft_handles(farm, table) == handles
    routes = farm.module("router", "upstream_routes", routes=farm.last_plan["upstream_routes"])
    assert routes["changed"] is False


def test_changed_allow_list_replaces_the_table_whole(exit_farm):
    farm = exit_farm
    table = farm.last_plan["exits"][0]["table"]
    changed = farm.plan(**dict(NETWORK, ipv6_allow=[{"node": "b", "proto": "tcp", "port": 23}]))
    check = exit_gateway(farm, changed, check=True)
    recorded = "record exit %s for boot" % farm.last_plan["exits"][0]["namespace"]  # the node's copy for its agent
    assert check["changes"] == ["replace nftables table inet %s" % table, recorded]
    assert "dport 22" in nft_handles(farm, table)  # check mode touched nothing
    result = exit_gateway(farm, changed)
    assert result["changes"] == ["replace nftables table inet %s" % table, recorded]
    listing = nft_handles(farm, table)
    assert re.search(r"tcp dport 23 counter .*accept", listing) and "dport 22" not in listing


def test_removal_takes_exit_state_and_upstream_route_only(exit_farm):
    farm = exit_farm
    router = farm.pids["router"]
    lab.run(router, ["ip", "-6", "route", "add", "2001:db8:aaaa::/48", "via", "2001:db8:ff::99"])
    removed = exit_gateway(farm, farm.last_plan, state="absent")
    assert removed["changed"] and not removed.get("failed"), removed
    namespace = table_ns(farm)
    links = lab.run(farm.pids["gw"], ["ip", "-n", namespace, "-o", "link"]).stdout
    assert "gtu-" not in links and "gtw" in links  # the mesh stays, the uplink went
    assert lab.run(farm.pids["gw"], ["nsenter", "--net=/run/netns/" + namespace, "nft", "list", "tables"]).stdout == ""
    assert exit_gateway(farm, farm.last_plan, state="absent")["changed"] is False
    gone = farm.module("router", "upstream_routes", routes=[])
    assert gone["changes"] == ["remove route %s via %s" % (farm.last_plan["upstream_routes"][0]["prefix"], EXIT6)]
    table = lab.run(router, ["ip", "-6", "route"]).stdout
    assert "2001:db8:aaaa::/48" in table  # a route we did not make stays
    assert farm.last_plan["upstream_routes"][0]["prefix"] not in table


def test_nat66_for_a_ula_block(farm):
    the_plan = build(farm, allocation="fd00:77::/40", ipv6_nat=True)
    farm.last_plan = the_plan
    assert the_plan["upstream_routes"] == []  # nothing upstream routes a ULA block
    assert not exit_gateway(farm, the_plan).get("failed")
    wl6, _unused = farm.workload(the_plan, "b")
    assert wl6.startswith("fd00:77")
    echo = labtools.serve_source_echo(farm.pids["inet"], None, ["udp:9000"])
    try:
        assert farm.ping("b", INET6, deadline=10)
        assert labtools.probe(farm.pids["b"], "wl", "udp", INET6, 9000) == EXIT6  # masqueraded to the uplink address
    finally:
        echo.kill()


@pytest.mark.parametrize("mutate, message", [
    (lambda e: e["ipv4_dnat"][0].update(to="10.99.0.5"), "outside the network's IPv4 subnets"),
    (lambda e: e["ipv6_allow"].append(dict(e["ipv6_allow"][0], port=None)), "overlaps"),
    (lambda e: e["uplink"]["ipv6"].update(gateway="2001:db8:ee::1"), "not on the uplink subnet"),
    (lambda e: e["uplink"]["ipv4"].update(gateway="192.0.2.1"), "not on the uplink subnet"),
    (lambda e: e["uplink"].update(parent="nosuch0"), "does not exist on this node"),
    (lambda e: e["uplink"].update(name="gtu-waytoolongname"), "15 characters"),
    (lambda e: e.pop("block"), "lacks block"),
])
def test_bad_input_fails_before_anything_is_applied(farm, mutate, message):
    the_plan = build(farm)
    bad = copy.deepcopy(the_plan["exits"][0])
    mutate(bad)
    result = farm.module("gw", "exit_gateway", exit=bad)
    assert result.get("failed") and message in result["msg"], result
    namespace = the_plan["exits"][0]["namespace"]
    assert "gtu-" not in lab.run(farm.pids["gw"], ["ip", "-n", namespace, "-o", "link"]).stdout
    assert lab.run(farm.pids["gw"], ["nsenter", "--net=/run/netns/" + namespace, "nft", "list", "tables"]).stdout == ""


def test_check_mode_on_a_fresh_exit_touches_nothing(farm):
    the_plan = build(farm)
    result = exit_gateway(farm, the_plan, check=True)
    assert result["changed"] and any(c.startswith("create uplink") for c in result["changes"])
    namespace = the_plan["exits"][0]["namespace"]
    assert "gtu-" not in lab.run(farm.pids["gw"], ["ip", "-n", namespace, "-o", "link"]).stdout
