"""Inside the QEMU guest, on Debian's kernel with its WireGuard module: the kernel back end, for real.

Run only by tests/kernel/test_kernel_layer.py, which boots the guest (GRIDNET_IN_GUEST is set there).
"""

import os
import re
import sys

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import labtools  # tests/support

from contract import run_contract
from farm import COLLECTIONS


def test_kernel_backend_keeps_the_contract():
    run_contract("kernel", "gridnet-guest")


def test_auto_picks_the_kernel_here(farm):
    pid = farm.host("probe")
    script = ("from pyroute2 import IPRoute\n"
              "from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard import select_backend\n"
              "with IPRoute() as ipr: print(select_backend(ipr, 'auto').name)\n")
    out = lab.run(pid, [sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=COLLECTIONS)).stdout
    assert out.strip() == "kernel"


def test_network_resource_on_kernel_links_pings_and_reruns_idempotently(farm):
    farm.node("nodea", ipv6="2001:db8:1::1", ipv4="192.0.2.1")
    farm.node("nodeb", ipv6="2001:db8:1::2", ipv4="192.0.2.2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    the_plan = farm.plan()
    results = {node: farm.module(node, "network_resource", resource=the_plan["nodes"][node]["resources"][0],
                                 wireguard_backend=backend)
               for node, backend in (("nodea", "kernel"), ("nodeb", "auto"))}
    for node, result in results.items():
        assert not result.get("failed") and result["backend"] == "kernel", (node, result)
    farm.workload(the_plan, "nodea")
    b6, b4 = farm.workload(the_plan, "nodeb")
    assert farm.ping("nodea", b6, deadline=20) and farm.ping("nodea", b4, deadline=10)
    resource = the_plan["nodes"]["nodea"]["resources"][0]
    links = lab.run(farm.pids["nodea"], ["ip", "-n", resource["namespace"], "-o", "link", "show"]).stdout
    info = farm.module("nodea", "network_resource_info")
    again = farm.module("nodea", "network_resource", resource=resource, wireguard_backend="kernel")
    assert again["changed"] is False and again["changes"] == [], again
    assert lab.run(farm.pids["nodea"], ["ip", "-n", resource["namespace"], "-o", "link", "show"]).stdout == links
    (seen,) = info["resources"]
    (link,) = seen["wireguard"].values()
    assert link["listen_port"] == resource["connected"][0]["listen_port"]
    assert link["peer"]["public_key"] == resource["connected"][0]["public_key"]
    assert link["peer"]["last_handshake"] > 0
    assert sorted(link["peer"]["allowed_ips"]) == sorted(resource["connected"][0]["allowed_ips"])
    private = lab.run(farm.pids["nodea"], ["sh", "-c", "cat /var/lib/gridnet-tenant/keys/*.key"]).stdout.strip()
    assert private and private not in repr(info) + repr(again) + repr(results)
    assert re.search(r"wireguard", lab.run(farm.pids["nodea"], ["ip", "-n", resource["namespace"], "-d", "link"]).stdout)


def test_three_nodes_mixed_back_ends_endpoint_in_place_and_peer_removal(farm):
    """a on the kernel, b on auto (the kernel here), c forced to wireguard-go: one mesh."""
    for name, last in (("nodea", 1), ("nodeb", 2), ("nodec", 3)):
        farm.node(name, ipv6="2001:db8:1::%d" % last, ipv4="192.0.2.%d" % last)
    farm.exit_node = "nodeb"
    farm.host("switch")
    for name in ("nodea", "nodeb", "nodec"):  # one L3 segment through a router-less bridge
        labtools.connect(farm.pids[name], "up0", farm.pids["switch"], "p-" + name)
        lab.run(farm.pids["switch"], ["ip", "link", "set", "p-" + name, "up"])
    lab.run(farm.pids["switch"], ["sh", "-c", "ip link add br0 type bridge && ip link set br0 up && "
                                  "for p in p-nodea p-nodeb p-nodec; do ip link set $p master br0; done"])
    for name, last in (("nodea", 1), ("nodeb", 2), ("nodec", 3)):
        lab.add_address(farm.pids[name], "up0", "2001:db8:1::%d/64" % last)
        lab.add_address(farm.pids[name], "up0", "192.0.2.%d/24" % last)
    backends = {"nodea": "kernel", "nodeb": "auto", "nodec": "userspace"}
    keys = farm.keys()
    the_plan = farm.plan(public_keys=keys)
    for name, backend in backends.items():
        result = farm.module(name, "network_resource", resource=the_plan["nodes"][name]["resources"][0],
                             wireguard_backend=backend)
        assert not result.get("failed") and result["backend"] == ("userspace" if name == "nodec" else "kernel"), result
    farm.workload(the_plan, "nodea")
    b6, _unused = farm.workload(the_plan, "nodeb")
    c6, c4 = farm.workload(the_plan, "nodec")
    assert farm.ping("nodea", b6, deadline=20) and farm.ping("nodea", c6, deadline=20)  # kernel <-> wireguard-go
    assert farm.ping("nodea", c4, deadline=10)

    resource = the_plan["nodes"]["nodea"]["resources"][0]
    namespace = resource["namespace"]
    link = next(c for c in resource["connected"] if c["peer"] == "nodeb")
    before = lab.run(farm.pids["nodea"], ["ip", "-n", namespace, "-o", "link", "show", link["interface"]]).stdout
    link["endpoint"] = link["endpoint"].replace("2001:db8:1::2", "2001:db8:1::99")
    moved = farm.module("nodea", "network_resource", resource=resource, wireguard_backend="kernel")
    assert moved["changes"] == ["update %s peer: endpoint" % link["interface"], "record resource %s for boot" % namespace]
    after = lab.run(farm.pids["nodea"], ["ip", "-n", namespace, "-o", "link", "show", link["interface"]]).stdout
    assert after.split(":")[0] == before.split(":")[0]  # the same interface index: updated in place
    seen = lab.run(farm.pids["nodea"], ["ip", "netns", "exec", namespace, "wg", "show", link["interface"], "endpoints"])
    assert "[2001:db8:1::99]:" in seen.stdout

    without_c = farm.plan(members=["nodea", "nodeb"], public_keys=keys)
    gone = next(c for c in resource["connected"] if c["peer"] == "nodec")
    removed = farm.module("nodea", "network_resource", resource=without_c["nodes"]["nodea"]["resources"][0],
                          wireguard_backend="kernel")
    assert "remove WireGuard link %s" % gone["interface"] in removed["changes"], removed
    links = lab.run(farm.pids["nodea"], ["ip", "-n", namespace, "-o", "link", "show"]).stdout
    routes = lab.run(farm.pids["nodea"], ["ip", "-n", namespace, "-6", "route", "show", "proto", "152"]).stdout
    assert gone["interface"] not in links and gone["interface"] not in routes
    assert all(prefix.split("/")[0] not in routes for prefix in gone["prefixes"] if ":" in prefix)


def test_babel_routes_over_kernel_wireguard_links(farm):
    """babeld speaks over kernel WireGuard links (no MULTICAST flag on them), learns the peer's prefixes, IPv4
    over IPv6 next hops included, and a second converge changes nothing."""
    farm.node("nodea", ipv6="2001:db8:1::1", ipv4="192.0.2.1")
    farm.node("nodeb", ipv6="2001:db8:1::2", ipv4="192.0.2.2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    the_plan = farm.plan(routing="babel")
    for node in ("nodea", "nodeb"):
        result = farm.module(node, "network_resource", resource=the_plan["nodes"][node]["resources"][0],
                             wireguard_backend="kernel")
        assert not result.get("failed") and result["backend"] == "kernel", (node, result)
    farm.workload(the_plan, "nodea")
    b6, b4 = farm.workload(the_plan, "nodeb")
    assert farm.ping("nodea", b6, deadline=30) and farm.ping("nodea", b4, deadline=10)
    resource = the_plan["nodes"]["nodea"]["resources"][0]
    learnt = lab.run(farm.pids["nodea"], ["ip", "-n", resource["namespace"], "route", "show", "proto", "babel"]).stdout
    peer = the_plan["nodes"]["nodeb"]["resources"][0]
    assert peer["ipv4"] in learnt, learnt
    (seen,) = farm.module("nodea", "network_resource_info")["resources"]
    assert seen["routes"] == {} and seen["babel"]["running"]
    again = farm.module("nodea", "network_resource", resource=resource, wireguard_backend="kernel")
    assert again["changed"] is False and again["changes"] == [], again
