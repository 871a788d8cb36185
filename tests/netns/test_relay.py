"""Two nodes behind NAT linked through the exit's UDP relay: real NATs, real WireGuard, the kernel relaying.

    home0 -- nat0 --\\                  (nat0, nat1 masquerade; home0 and home1 cannot be dialled)
                     wan -- gw          (gw: the exit, reachable, relays; it forwards nothing)
    home1 -- nat1 --/
"""

import re
import sys

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import labtools

# /30s of TEST-NET-1: gw-wan, nat0-wan, nat1-wan, home0-nat0, home1-nat1
GW, NAT0, NAT1, HOME0, HOME1 = "192.0.2.1", "192.0.2.5", "192.0.2.9", "192.0.2.65", "192.0.2.69"


def wire(farm):
    farm.node("gw", ipv4=GW)
    farm.exit_node = "gw"
    for home, address in (("home0", HOME0), ("home1", HOME1)):
        farm.node(home, ipv4=address, reachable=False)
    wan = farm.host("wan")
    lab.run(wan, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    pairs = [("gw", "wan", "192.0.2.0"), ("nat0", "wan", "192.0.2.4"), ("nat1", "wan", "192.0.2.8"),
             ("home0", "nat0", "192.0.2.64"), ("home1", "nat1", "192.0.2.68")]
    for a, b, net in pairs:
        if a not in farm.pids:
            farm.host(a)
        base = net.rsplit(".", 1)
        labtools.connect(farm.pids[a], "to-" + b, farm.pids[b], "to-" + a)
        lab.add_address(farm.pids[a], "to-" + b, "%s.%d/30" % (base[0], int(base[1]) + 1))
        lab.add_address(farm.pids[b], "to-" + a, "%s.%d/30" % (base[0], int(base[1]) + 2))
        if b in ("wan", "nat0", "nat1"):
            lab.run(farm.pids[a], ["ip", "route", "add", "default", "via", "%s.%d" % (base[0], int(base[1]) + 2)])
    for nat in ("nat0", "nat1"):
        lab.run(farm.pids[nat], ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        lab.run(farm.pids[nat], ["nft", "-f", "-"], input=(
            'table ip nat {\n chain post {\n type nat hook postrouting priority srcnat;\n'
            ' oifname "to-wan" masquerade\n }\n}\n'))


def relay_table(farm, family="ip"):
    return lab.run(farm.pids["gw"], ["nft", "list", "table", family, "gt_relay_" + farm.tag], check=False)


def wire6(farm):
    """The same farm over IPv6 only, the NATs masquerading IPv6 (NAT66): a /64 per cable."""
    farm.node("gw", ipv6="2001:db8:a0::1")
    farm.exit_node = "gw"
    for home, net in (("home0", "2001:db8:a3::1"), ("home1", "2001:db8:a4::1")):
        farm.node(home, ipv6=net, reachable=False)
    farm.host("wan")
    lab.run(farm.pids["wan"], ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
    for a, b, net in (("gw", "wan", "2001:db8:a0::"), ("nat0", "wan", "2001:db8:a1::"),
                      ("nat1", "wan", "2001:db8:a2::"), ("home0", "nat0", "2001:db8:a3::"),
                      ("home1", "nat1", "2001:db8:a4::")):
        if a not in farm.pids:
            farm.host(a)
        labtools.connect(farm.pids[a], "to-" + b, farm.pids[b], "to-" + a)
        lab.add_address(farm.pids[a], "to-" + b, net + "1/64")
        lab.add_address(farm.pids[b], "to-" + a, net + "2/64")
        lab.run(farm.pids[a], ["ip", "-6", "route", "add", "default", "via", net + "2"])
    for nat in ("nat0", "nat1"):
        lab.run(farm.pids[nat], ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        lab.run(farm.pids[nat], ["nft", "-f", "-"], input=(
            'table ip6 nat {\n chain post {\n type nat hook postrouting priority srcnat;\n'
            ' oifname "to-wan" masquerade\n }\n}\n'))


def test_the_relay_over_an_ipv6_underlay_behind_nat66(farm):
    wire6(farm)
    plan = farm.plan(exit={"node": "gw", "ipv6": "2001:db8:ff::10/64", "ipv4": "203.0.113.10/24"})
    home0 = plan["nodes"]["home0"]["resources"][0]
    link = {c["peer"]: c for c in home0["connected"]}["home1"]
    assert link["relay"] == "gw" and link["endpoint"].startswith("[2001:db8:a0::1]:") and link["mtu"] == 1420
    assert plan["nodes"]["gw"]["resources"][0]["relay"]["ipv6"]["address"] == "2001:db8:a0::1"
    farm.tag = home0["namespace"][len("gt-"):]
    for node in ("gw", "home0", "home1"):
        result = farm.converge(plan, node)
        assert result.get("changed") and not result.get("failed"), result
    v6, v4 = farm.workload(plan, "home1")
    farm.workload(plan, "home0")
    assert farm.ping("home0", v6, size=home0["mtu"] - 48, count=3, forbid_fragments=True, deadline=20)
    assert farm.ping("home0", v4, size=home0["mtu"] - 28, count=3, forbid_fragments=True, deadline=10)
    listing = relay_table(farm, "ip6").stdout
    assert "2001:db8:a1::1" in listing and "2001:db8:a2::1" in listing, listing  # the NATs' addresses, learnt
    assert not farm.converge(plan, "gw")["changed"]


def test_hidden_nodes_talk_over_their_own_link_through_the_exits_kernel_relay(farm):
    wire(farm)
    plan = farm.plan(exit={"node": "gw", "ipv6": "2001:db8:ff::10/64", "ipv4": "203.0.113.10/24"})
    home0 = plan["nodes"]["home0"]["resources"][0]
    link = {c["peer"]: c for c in home0["connected"]}["home1"]
    assert link["relay"] == "gw" and link["endpoint"].startswith(GW + ":")
    relay = plan["nodes"]["gw"]["resources"][0]["relay"]
    assert relay["ipv4"]["address"] == GW
    farm.tag = home0["namespace"][len("gt-"):]
    for node in ("gw", "home0", "home1"):
        result = farm.converge(plan, node)
        assert result["changed"] and not result.get("failed"), result
    assert farm.converge(plan, "gw", check=True)["changes"] == []  # what the relay learns is no difference
    v6, v4 = farm.workload(plan, "home1")
    farm.workload(plan, "home0")
    mtu = home0["mtu"]
    # full-size packets, IPv6 and IPv4: the only route to home1 is the relayed link. (wireguard-go pads a
    # packet over 1420 bytes past the link MTU, so its underlay fragments it: the relay reassembles first)
    assert farm.ping("home0", v6, size=mtu - 48, count=3, forbid_fragments=True, deadline=20)
    assert farm.ping("home0", v4, size=mtu - 28, count=3, forbid_fragments=True, deadline=10)
    assert not [r for r in home0["routes"] if r["dst"] == plan["nodes"]["home1"]["resources"][0]["prefix"]]
    # the relay learnt both ends as their NATs show them, and forwards without being a router
    listing = relay_table(farm).stdout
    assert NAT0 in listing and NAT1 in listing, listing
    assert lab.run(farm.pids["gw"], ["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "0"
    assert not farm.converge(plan, "gw")["changed"]  # idempotent with learnt entries

    # home1's NAT maps it anew (other source ports, its old mappings forgotten): the relay follows at once
    lab.run(farm.pids["nat1"], ["nft", "-f", "-"], input=(
        'flush ruleset\ntable ip nat {\n chain post {\n type nat hook postrouting priority srcnat;\n'
        ' oifname "to-wan" meta l4proto udp masquerade to :20000-20100\n }\n}\n'))
    lab.run(farm.pids["nat1"], [sys.executable, "-c", "from pyroute2 import Conntrack; Conntrack().flush()"])
    assert farm.ping("home1", host_of(plan, "home0"), count=3, deadline=40)
    listing = relay_table(farm).stdout
    assert re.search(r"%s \. 20[01]\d\d \. " % NAT1, listing), listing  # learnt from its new port

    # the node leaves every network: its relay tables go with its resources
    pruned = farm.module("gw", "prune_resources", keep=[])
    assert not pruned.get("failed") and relay_table(farm).returncode != 0, pruned


def host_of(plan, node):
    """The workload's IPv6 address on node (Farm.workload's)."""
    return plan["nodes"][node]["resources"][0]["prefix"].replace("::/64", "::10")
