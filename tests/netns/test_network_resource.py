"""network_resource on real namespaces: links come up, packets cross, reruns change nothing."""

import re

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

ICMP6_HEADERS = 40 + 8   # IPv6 + ICMPv6 echo
ICMP4_HEADERS = 20 + 8


def two_node_farm(farm, segment=None):
    extra = {"l2_segment": segment} if segment else {}
    farm.node("nodea", ipv6="2001:db8:1::1", ipv4="192.0.2.1", **extra)
    farm.node("nodeb", ipv6="2001:db8:1::2", ipv4="192.0.2.2", **extra)
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    return farm.plan()


def converged_pair_with_workloads(farm):
    """Two WireGuard-linked nodes, converged, a workload on each, first contact made."""
    the_plan = two_node_farm(farm)
    for node in ("nodea", "nodeb"):
        farm.converge(the_plan, node)
    farm.workload(the_plan, "nodea")
    b6, _unused = farm.workload(the_plan, "nodeb")
    assert farm.ping("nodea", b6, deadline=15)
    return the_plan, b6


def links_of(farm, node, namespace):
    out = lab.run(farm.pids[node], ["ip", "-n", namespace, "-o", "link", "show"]).stdout
    return {m.group(2): int(m.group(1)) for m in re.finditer(r"^(\d+): ([^:@]+)", out, re.M)}


def owned_routes(farm, node, namespace):
    out = ""
    for family in ("-6", "-4"):
        out += lab.run(farm.pids[node], ["ip", family, "-n", namespace, "route", "show", "proto", "152"]).stdout
    return sorted(line.split(" metric")[0].strip() for line in out.splitlines())


def handshakes(farm, node, namespace):
    out = lab.run(farm.pids[node], ["wg", "show", "all", "latest-handshakes"]).stdout
    return {line.split()[0]: line.split()[2] for line in out.splitlines()}


@pytest.mark.parametrize("segment", [None, "rack-a"], ids=["wireguard", "vxlan"])
def test_two_nodes_linked_workloads_ping_and_full_mtu_crosses(farm, segment):
    the_plan = two_node_farm(farm, segment)
    kind = "localvxlan" if segment else "wireguard"
    resource_a = the_plan["nodes"]["nodea"]["resources"][0]
    assert resource_a["connected"][0]["connection"] == kind
    for node in ("nodea", "nodeb"):
        result = farm.converge(the_plan, node)
        assert result["changed"] and not result.get("failed"), result
    a6, a4 = farm.workload(the_plan, "nodea")
    b6, b4 = farm.workload(the_plan, "nodeb")
    assert farm.ping("nodea", b6, deadline=15), "IPv6 workload to workload over " + kind
    assert farm.ping("nodeb", a4), "IPv4 workload to workload over " + kind
    mtu = resource_a["mtu"]
    assert mtu == (1500 - 70 if segment else 1500 - 80)
    assert farm.ping("nodea", b6, size=mtu - ICMP6_HEADERS, forbid_fragments=True)
    assert farm.ping("nodea", b4, size=mtu - ICMP4_HEADERS, forbid_fragments=True)
    # one byte more does not fit the workload's link: the probe above was really full size
    assert not farm.ping("nodea", b6, size=mtu - ICMP6_HEADERS + 1, forbid_fragments=True, timeout=1)


def test_second_run_changes_nothing_and_keeps_interfaces_and_handshakes(farm):
    the_plan, b6 = converged_pair_with_workloads(farm)
    namespace = the_plan["nodes"]["nodea"]["resources"][0]["namespace"]
    links_before, shakes_before = links_of(farm, "nodea", namespace), handshakes(farm, "nodea", namespace)
    assert shakes_before and all(v != "0" for v in shakes_before.values())
    for node in ("nodea", "nodeb"):
        again = farm.converge(the_plan, node)
        assert again["changed"] is False, again["changes"]
        assert again["diff"]["before"] == again["diff"]["after"]
    assert links_of(farm, "nodea", namespace) == links_before
    assert handshakes(farm, "nodea", namespace) == shakes_before
    assert farm.ping("nodea", b6)


def test_check_mode_reports_and_touches_nothing(farm):
    the_plan = two_node_farm(farm)
    result = farm.converge(the_plan, "nodea", check=True)
    assert result["changed"] is True
    assert any(c.startswith("create namespace") for c in result["changes"])
    assert result["diff"]["before"]["namespace"] is False and result["diff"]["after"]["namespace"] is True
    assert lab.run(farm.pids["nodea"], ["ip", "netns", "list"]).stdout.strip() == ""
    assert "gtb-" not in lab.run(farm.pids["nodea"], ["ip", "link"]).stdout


def test_diff_shows_a_changed_endpoint_and_it_is_updated_in_place(farm):
    the_plan = two_node_farm(farm)
    farm.converge(the_plan, "nodea")
    namespace = the_plan["nodes"]["nodea"]["resources"][0]["namespace"]
    links_before = links_of(farm, "nodea", namespace)
    link = the_plan["nodes"]["nodea"]["resources"][0]["connected"][0]
    link["endpoint"] = link["endpoint"].replace("2001:db8:1::2", "2001:db8:1::99")
    checked = farm.converge(the_plan, "nodea", check=True)
    assert checked["changed"] and checked["changes"] == ["update %s peer: endpoint" % link["interface"],
                                                         "record resource %s for boot" % namespace]
    before = checked["diff"]["before"]["wireguard"][link["interface"]]["peer"]["endpoint"]
    after = checked["diff"]["after"]["wireguard"][link["interface"]]["peer"]["endpoint"]
    assert before != after and "2001:db8:1::99" in after
    applied = farm.converge(the_plan, "nodea")
    assert applied["changed"]
    assert links_of(farm, "nodea", namespace) == links_before  # same interface, same index
    assert farm.converge(the_plan, "nodea")["changed"] is False


def test_removing_a_peer_removes_exactly_its_link_and_routes(farm):
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    farm.node("nodec", ipv6="2001:db8:1::3")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::")
    keys = farm.keys()
    full = farm.plan(public_keys=keys)
    farm.converge(full, "nodea")
    namespace = full["nodes"]["nodea"]["resources"][0]["namespace"]
    links = {c["peer"]: c["interface"] for c in full["nodes"]["nodea"]["resources"][0]["connected"]}
    c_prefix = full["nodes"]["nodec"]["resources"][0]["prefix"]
    routes_before = owned_routes(farm, "nodea", namespace)
    assert any(r.startswith(c_prefix) for r in routes_before)
    index_before = links_of(farm, "nodea", namespace)
    smaller = farm.plan(members=["nodea", "nodeb"], public_keys=keys, assignments=full["assignments"])
    result = farm.converge(smaller, "nodea")
    assert result.get("changed"), result
    assert "remove WireGuard link %s" % links["nodec"] in result["changes"]
    index_after = links_of(farm, "nodea", namespace)
    assert links["nodec"] not in index_after
    assert index_after == {k: v for k, v in index_before.items() if k != links["nodec"]}
    routes_after = owned_routes(farm, "nodea", namespace)
    c_subnet = full["nodes"]["nodec"]["resources"][0]["ipv4"]
    assert routes_after == [r for r in routes_before if not r.startswith((c_prefix, c_subnet))]
    assert len(routes_after) == len(routes_before) - 2  # the /64 and the /24 of nodec, nothing else
    assert farm.converge(smaller, "nodea")["changed"] is False


def test_absent_removes_everything_it_made_and_nothing_else(farm):
    the_plan = two_node_farm(farm)
    farm.converge(the_plan, "nodea")
    pid = farm.pids["nodea"]
    assert lab.run(pid, ["pgrep", "-c", "wireguard-go"]).stdout.strip() == "1"
    result = farm.converge(the_plan, "nodea", state="absent")
    assert result["changed"]
    assert lab.run(pid, ["ip", "netns", "list"]).stdout.strip() == ""
    links = lab.run(pid, ["ip", "-o", "link"]).stdout
    assert "gtb-" not in links and "gth-" not in links and "to-nodeb" in links
    assert lab.run(pid, ["pgrep", "-c", "wireguard-go"], check=False).stdout.strip() == "0"
    assert farm.converge(the_plan, "nodea", state="absent")["changed"] is False


@pytest.mark.parametrize("breakage,message", [
    (lambda r: r["connected"][0].update(public_key="not-a-key"), "public key 'not-a-key' not valid base64"),
    (lambda r: r.update(bridge="a-very-long-bridge-name"), "longer than the kernel's 15 characters"),
    (lambda r: r.pop("namespace"), "resource lacks namespace"),
    (lambda r: r.update(relay={"ipv4": {"address": "192.0.2.1; flush ruleset", "ports": [50000, 50001]}}),
     "resource relay.ipv4.address: '192.0.2.1; flush ruleset' is not an IP address"),
    (lambda r: r.update(relay={"ipv4": {"address": "2001:db8::1", "ports": [50000]}}),
     "is not an IPv4 address"),
])
def test_bad_input_fails_clearly_and_leaves_the_node_as_it_was(farm, breakage, message):
    the_plan = two_node_farm(farm)
    resource = the_plan["nodes"]["nodea"]["resources"][0]
    breakage(resource)
    result = farm.module("nodea", "network_resource", resource=resource)
    assert result.get("failed") and message in result["msg"], result
    assert lab.run(farm.pids["nodea"], ["ip", "netns", "list"]).stdout.strip() == ""
    assert "gtb-" not in lab.run(farm.pids["nodea"], ["ip", "link"]).stdout


def test_listen_port_in_use_fails_before_anything_changes(farm):
    import subprocess
    the_plan = two_node_farm(farm)
    port = the_plan["nodes"]["nodea"]["resources"][0]["connected"][0]["listen_port"]
    holder = subprocess.Popen(["nsenter", "--target", str(farm.pids["nodea"]), "--net", "python3", "-c",
                               "import socket,time; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); "
                               "s.bind(('::', %d)); print('bound', flush=True); time.sleep(60)" % port],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "bound"
        result = farm.converge(the_plan, "nodea")
        assert result.get("failed") and "listen port %d" % port in result["msg"] and "in use" in result["msg"]
        assert lab.run(farm.pids["nodea"], ["ip", "netns", "list"]).stdout.strip() == ""
    finally:
        holder.kill()
        holder.wait()


def test_info_reports_links_peers_handshakes_and_ports(farm):
    the_plan, b6 = converged_pair_with_workloads(farm)
    info = farm.module("nodea", "network_resource_info")
    assert info["changed"] is False and len(info["resources"]) == 1
    reported = info["resources"][0]
    link = the_plan["nodes"]["nodea"]["resources"][0]["connected"][0]
    wg = reported["wireguard"][link["interface"]]
    assert wg["listen_port"] == link["listen_port"]
    assert wg["peer"]["public_key"] == link["public_key"] and wg["peer"]["last_handshake"] > 0
    assert reported["routes"]["::/0"] == "via %s dev %s" % (link["peer_link_local"], link["interface"])
    assert "private" not in str(info)


def test_info_on_an_unknown_namespace_fails_clearly(farm):
    two_node_farm(farm)
    result = farm.module("nodea", "network_resource_info", namespace="gt-nosuch")
    assert result.get("failed") and "'gt-nosuch' does not exist on this node" in result["msg"]
    result = farm.module("nodea", "network_resource_info", namespace="eth0")
    assert result.get("failed") and "not a network resource namespace" in result["msg"]


def test_vxlan_over_a_multicast_group_instead_of_fdb_peers(farm):
    farm.node("nodea", ipv6="2001:db8:1::1", l2_segment="rack-a", l2_interface="to-nodeb")
    farm.node("nodeb", ipv6="2001:db8:1::2", l2_segment="rack-a", l2_interface="to-nodea")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::")
    the_plan = farm.plan(vxlan_group="ff05::4242")
    assert the_plan["nodes"]["nodea"]["resources"][0]["vxlan"]["group"] == "ff05::4242"
    for node in ("nodea", "nodeb"):
        result = farm.converge(the_plan, node)
        assert result.get("changed") and not any("VXLAN peer" in c for c in result["changes"]), result
    namespace = the_plan["nodes"]["nodea"]["resources"][0]["namespace"]
    details = lab.run(farm.pids["nodea"], ["ip", "-d", "-n", namespace, "link", "show", "gtx-" + namespace[3:]]).stdout
    assert "group ff05::4242" in details
    farm.workload(the_plan, "nodea")
    b6, b4 = farm.workload(the_plan, "nodeb")
    mtu = the_plan["nodes"]["nodea"]["resources"][0]["mtu"]
    assert farm.ping("nodea", b6, deadline=10) and farm.ping("nodea", b4)
    assert farm.ping("nodea", b6, size=mtu - ICMP6_HEADERS, forbid_fragments=True)
    assert farm.converge(the_plan, "nodea")["changed"] is False


def test_prune_removes_only_resources_that_left_the_plan(farm):
    the_plan = two_node_farm(farm)
    for node in ("nodea", "nodeb"):
        farm.converge(the_plan, node)
    namespace = the_plan["nodes"]["nodea"]["resources"][0]["namespace"]
    lab.run(farm.pids["nodea"], ["ip", "netns", "add", "someone-else"])
    kept = farm.module("nodea", "prune_resources", keep=[namespace])
    assert kept["changed"] is False and kept["removed"] == []
    check = farm.module("nodea", "prune_resources", check=True, keep=[])
    assert check["removed"] == [namespace] and namespace in lab.run(farm.pids["nodea"], ["ip", "netns"]).stdout
    pruned = farm.module("nodea", "prune_resources", keep=[])
    assert pruned["changed"] and pruned["removed"] == [namespace], pruned
    assert lab.run(farm.pids["nodea"], ["ip", "netns"]).stdout.split() == ["someone-else"]
    links = lab.run(farm.pids["nodea"], ["ip", "-o", "link"]).stdout
    assert "gtb-" not in links and "gth-" not in links
    assert "wireguard-go" not in lab.run(farm.pids["nodea"], ["ps", "-eo", "comm"]).stdout  # its processes ended
    assert farm.module("nodea", "prune_resources", keep=[])["changed"] is False
