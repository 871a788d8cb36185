import copy
import ipaddress
import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from inventory_factory import fake_public_key, farm

farms = st.builds(
    farm,
    dc_nodes=st.integers(1, 8),
    home_nodes=st.integers(0, 4),
    segment_nodes=st.integers(0, 4),
)
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


def two_networks():
    """Two networks sharing nodes and the exit, with a second exit for one of them."""
    networks, hostvars, groups, keys = farm(dc_nodes=4, home_nodes=2, segment_nodes=2)
    hostvars["gw2"] = copy.deepcopy(hostvars["gw1"])
    hostvars["gw2"]["gridnet_tenant_underlay"]["ipv6"] = "2001:db8:1::2"
    hostvars["gw2"]["gridnet_tenant_exit"]["allocation"] = "2001:db8:200::/40"
    networks.append({
        "netid": "net2",
        "members": ["dc0", "dc1", "home0", "rack0"],
        "exit": {"node": "gw2", "ipv6": "2001:db8:ff::20/64"},
    })
    networks.append({
        "netid": "net3",
        "members": ["dc", "home"],
        "exit": {"node": "gw1", "ipv6": "2001:db8:ff::30/64", "ipv4": "203.0.113.30/24"},
        "ipv4_range": "10.40.0.0/16",
    })
    for node in hostvars:
        keys.setdefault(node, {}).update({n: fake_public_key(node, n) for n in ("net2", "net3")})
    return networks, hostvars, groups, keys


def all_resources(p):
    return [(node, r) for node, state in p["nodes"].items() for r in state["resources"]]


def test_same_inputs_same_plan_whatever_the_order():
    networks, hostvars, groups, keys = two_networks()
    first = plan(networks, hostvars, groups, keys)
    shuffled_hostvars = dict(random.Random(7).sample(sorted(hostvars.items()), len(hostvars)))
    shuffled_groups = {g: list(reversed(m)) for g, m in groups.items()}
    second = plan(list(reversed(networks)), shuffled_hostvars, shuffled_groups, keys)
    assert first == second


@given(farms)
def test_names_fit_and_are_unique_per_node(inventory):
    p = plan(*inventory)
    for node, state in p["nodes"].items():
        names = []
        for r in state["resources"]:
            names += [r["bridge"], r["veth_host"], r["veth_ns"]]
            names += [c["interface"] for c in r["connected"] if c["connection"] == "wireguard"]
            if r["vxlan"]:
                names.append(r["vxlan"]["name"])
        assert all(len(n) <= 15 for n in names), names
        assert len(names) == len(set(names)), node


def test_no_two_network_resources_share_a_prefix():
    p = plan(*two_networks())
    prefixes = [ipaddress.ip_network(r["prefix"]) for _unused, r in all_resources(p)]
    assert len(prefixes) == 4 + 2 + 2 + 1 + 4 + 1 + 6 + 1
    for a, b in itertools.combinations(prefixes, 2):
        assert not a.overlaps(b)
    blocks = [ipaddress.ip_network(e["block"]) for e in p["exits"]]
    for a, b in itertools.combinations(blocks, 2):
        assert not a.overlaps(b)
    for exit_plan in p["exits"]:
        block = ipaddress.ip_network(exit_plan["block"])
        assert all(ipaddress.ip_network(x).subnet_of(block) for x in exit_plan["prefixes"])


@given(farms)
def test_prefixes_unique_and_ports_unique_per_node(inventory):
    p = plan(*inventory)
    prefixes = [r["prefix"] for _unused, r in all_resources(p)]
    assert len(prefixes) == len(set(prefixes))
    for node, state in p["nodes"].items():
        ports = [c["listen_port"] for r in state["resources"] for c in r["connected"] if c["connection"] == "wireguard"]
        assert len(ports) == len(set(ports))


def test_adding_a_node_to_a_network_of_50_changes_nothing_else():
    networks, hostvars, groups, keys = farm(dc_nodes=30, home_nodes=10, segment_nodes=9)
    first = plan(networks, hostvars, groups, keys)
    assert len(first["nodes"]) == 50
    hostvars["newcomer"] = {"gridnet_tenant_underlay": {"ipv6": "2001:db8:9::1", "ipv4": "198.51.100.250"}}
    groups["dc"].append("newcomer")
    keys["newcomer"] = {"net1": fake_public_key("newcomer", "net1")}
    second = plan(networks, hostvars, groups, keys, assignments=first["assignments"])
    assert set(second["nodes"]) == set(first["nodes"]) | {"newcomer"}
    for node, state in first["nodes"].items():
        before, after = state["resources"][0], second["nodes"][node]["resources"][0]
        for field in ("prefix", "ipv4", "namespace", "bridge", "veth_host", "veth_ns", "link_local"):
            assert before[field] == after[field]
        links_after = {c["peer"]: c for c in after["connected"]}
        for link in before["connected"]:
            same = links_after[link["peer"]]
            assert link == same, (node, link["peer"])
    # and every old node now links to, or routes to, the newcomer
    new_prefix = second["nodes"]["newcomer"]["resources"][0]["prefix"]
    for node in first["nodes"]:
        r = second["nodes"][node]["resources"][0]
        reachable = {c["prefixes"][0] for c in r["connected"]} | {x["dst"] for x in r["routes"]}
        assert new_prefix in reachable or "::/0" in reachable


@given(farms)
def test_every_resource_reaches_every_other_prefix_and_the_exit(inventory):
    p = plan(*inventory)
    prefixes = {node: state["resources"][0]["prefix"] for node, state in p["nodes"].items()}
    for node, state in p["nodes"].items():
        r = state["resources"][0]
        direct = {c["peer"]: c for c in r["connected"]}
        routed = {x["dst"]: x for x in r["routes"]}
        for other, prefix in prefixes.items():
            if other == node:
                continue
            if other in direct:
                assert direct[other]["prefixes"][0] == prefix
            else:
                hop = routed[prefix]
                assert hop["interface"] in {c["interface"] for c in r["connected"]}
        if not r["is_exit"]:
            assert routed["::/0"]["interface"] in {c["interface"] for c in r["connected"]}


def test_hidden_nodes_get_keepalive_are_never_dialled_and_link_through_the_exits_udp_relay():
    p = plan(*farm(dc_nodes=2, home_nodes=2))
    home0, home1 = (p["nodes"][n]["resources"][0] for n in ("home0", "home1"))
    assert home0["persistent_keepalive"] == 25
    assert all(c["endpoint"] for c in home0["connected"])  # the hidden side dials
    # the hidden pair has its own WireGuard link; each end dials one of the exit's two relay ports
    to_home1 = {c["peer"]: c for c in home0["connected"]}["home1"]
    to_home0 = {c["peer"]: c for c in home1["connected"]}["home0"]
    assert to_home1["relay"] == to_home0["relay"] == "gw1"
    host0, port0 = to_home1["endpoint"].rsplit(":", 1)
    host1, port1 = to_home0["endpoint"].rsplit(":", 1)
    assert host0 == host1 == "198.51.100.1"  # the exit's IPv4 address: the one version all three have
    assert int(port0) % 2 == 0 and int(port1) == int(port0) + 1
    assert to_home1["mtu"] == 1500 - 60
    assert not [r for r in home0["routes"] if r["dst"] == home1["prefix"]]  # routed over its own link
    gw = p["nodes"]["gw1"]["resources"][0]
    assert gw["relay"] == {"ipv4": {"address": "198.51.100.1", "ports": [int(port0), int(port1)]}}
    assert home1["prefix"] not in {c["peer"]: c for c in gw["connected"]}["home0"]["allowed_ips"]
    gw_ports = {c["listen_port"] for c in gw["connected"]}
    assert not gw_ports & {int(port0), int(port1)}  # the relay's ports are its own
    for node in ("dc0", "dc1"):
        assert p["nodes"][node]["resources"][0]["relay"] is None
    for node in ("dc0", "dc1", "gw1"):
        resource = p["nodes"][node]["resources"][0]
        assert resource["persistent_keepalive"] == 0
        for c in resource["connected"]:
            if c["peer"].startswith("home"):
                assert c["endpoint"] is None
            else:
                assert c["endpoint"].startswith("[2001:db8:")  # dual-stack peers talk over IPv6


def test_relay_ports_are_kept_and_released_with_the_pair():
    networks, hostvars, groups, keys = farm(dc_nodes=1, home_nodes=3)
    first = plan(networks, hostvars, groups, keys)
    held = first["assignments"]["ports"]["gw1"]["net1"]
    assert sorted(k for k in held if ">" in k) == ["home0>home1", "home0>home2", "home1>home2"]
    again = plan(networks, hostvars, groups, keys, first["assignments"])
    assert again["assignments"]["ports"] == first["assignments"]["ports"]
    ports = [p for k, v in held.items() for p in ((v, v + 1) if ">" in k else (v,))]
    assert len(ports) == len(set(ports))


def test_relay_through_another_node_when_the_exit_cannot_serve():
    networks, hostvars, groups, keys = farm(dc_nodes=1, home_nodes=2)
    # the exit only speaks IPv6; the IPv4-only home nodes can reach dc0 only
    hostvars["gw1"]["gridnet_tenant_underlay"] = {"ipv6": "2001:db8:1::1"}
    p = plan(networks, hostvars, groups, keys)
    home0 = p["nodes"]["home0"]["resources"][0]
    links = {c["peer"]: c for c in home0["connected"]}
    # home1 through dc0's UDP relay (IPv4 is common to all three); the IPv6-only exit through dc0, routed
    assert set(links) == {"dc0", "home1"} and links["home1"]["relay"] == "dc0"
    assert p["nodes"]["dc0"]["resources"][0]["relay"]["ipv4"]["address"] == "198.51.100.10"
    dc0_link = links["dc0"]
    routes = {x["dst"]: x for x in home0["routes"]}
    assert routes["::/0"]["interface"] == dc0_link["interface"]
    assert routes["::/0"]["gateway"] == dc0_link["peer_link_local"]
    assert "::/0" in dc0_link["allowed_ips"]
    gw = p["nodes"]["gw1"]["resources"][0]
    home0_prefix = home0["prefix"]
    gw_routes = {x["dst"]: x for x in gw["routes"]}
    assert gw_routes[home0_prefix]["gateway"] == p["nodes"]["dc0"]["resources"][0]["link_local"]
    assert home0_prefix in {c["peer"]: c for c in gw["connected"]}["dc0"]["allowed_ips"]


def test_no_relay_possible_is_an_error():
    networks, hostvars, groups, keys = farm(dc_nodes=0, home_nodes=2)
    hostvars["gw1"]["gridnet_tenant_underlay"] = {"ipv6": "2001:db8:1::1"}
    with pytest.raises(PlanError, match="'gw1' and 'home0' cannot reach each other"):
        plan(networks, hostvars, groups, keys)


def test_shared_segment_uses_vxlan_with_its_mtu():
    p = plan(*farm(dc_nodes=1, segment_nodes=3))
    r = p["nodes"]["rack0"]["resources"][0]
    kinds = {c["peer"]: c["connection"] for c in r["connected"]}
    assert kinds == {"rack1": "localvxlan", "rack2": "localvxlan", "dc0": "wireguard", "gw1": "wireguard"}
    assert r["vxlan"]["mtu"] == 9000 - 70  # VXLAN over IPv6 on a jumbo segment
    wg = {c["peer"]: c for c in r["connected"]}["dc0"]
    assert wg["mtu"] == 1500 - 80
    assert r["mtu"] == 1420  # the network's smallest link: workloads never exceed any link


def test_mtu_over_ipv4_and_per_node_override():
    networks, hostvars, groups, keys = farm(dc_nodes=1, home_nodes=1)
    p = plan(networks, hostvars, groups, keys)
    home = {c["peer"]: c for c in p["nodes"]["home0"]["resources"][0]["connected"]}
    assert home["dc0"]["endpoint"].startswith("198.51.100.10:")  # IPv4-only: dials over IPv4
    assert home["dc0"]["mtu"] == 1440  # WireGuard over IPv4
    hostvars["dc0"]["gridnet_tenant_underlay"]["link_mtu"] = 1300
    p = plan(networks, hostvars, groups, keys)
    assert {c["peer"]: c for c in p["nodes"]["home0"]["resources"][0]["connected"]}["dc0"]["mtu"] == 1300


def test_plan_records_assignments_that_reproduce_it():
    inventory = two_networks()
    first = plan(*inventory)
    again = plan(*inventory, assignments=first["assignments"])
    assert again == first


def test_upstream_routes_one_per_network():
    p = plan(*two_networks())
    routes = {r["netid"]: r for r in p["upstream_routes"]}
    assert set(routes) == {"net1", "net2", "net3"}
    assert routes["net2"]["via"] == "2001:db8:ff::20" and routes["net2"]["exit"] == "gw2"


# --- bad input: fails before anything is touched, naming the offending item ---

def mutate(change):
    networks, hostvars, groups, keys = farm(dc_nodes=2, home_nodes=1)
    change(networks, hostvars, groups, keys)
    return networks, hostvars, groups, keys


def add_second_exit_inside_the_first(networks, hostvars, groups, keys):
    hostvars["gw2"] = copy.deepcopy(hostvars["gw1"])
    hostvars["gw2"]["gridnet_tenant_exit"]["allocation"] = "2001:db8:100::/48"
    networks.append({"netid": "x", "members": ["dc0"], "exit": {"node": "gw2", "ipv6": "2001:db8:ff::9/64"}})
    keys["dc0"]["x"] = fake_public_key("dc0", "x")
    keys["gw2"] = {"x": fake_public_key("gw2", "x")}


BAD_INPUTS = {
    "unknown node": (lambda n, h, g, k: n[0]["members"].append("ghost"), "member 'ghost' is neither a host nor a group"),
    "unknown exit": (lambda n, h, g, k: n[0]["exit"].update(node="ghost"), "exit node 'ghost' is not a host"),
    "duplicate netid": (lambda n, h, g, k: n.append(dict(n[0])), "duplicate netid 'net1'"),
    "overlapping allocations": (add_second_exit_inside_the_first,
                                "allocations overlap: 2001:db8:100::/40 \\(host gw1\\) and 2001:db8:100::/48 \\(host gw2\\)"),
    "exhausted ipv4": (lambda n, h, g, k: n[0].update(ipv4_range="10.40.0.0/23"), "ipv4_range 10.40.0.0/23 is exhausted"),
    "exhausted allocation": (
        lambda n, h, g, k: h["gw1"]["gridnet_tenant_exit"].update(allocation="2001:db8:100::/64", network_prefixlen=64),
        "block 2001:db8:100::/64 is exhausted"),
    "no path": (lambda n, h, g, k: h["gw1"]["gridnet_tenant_underlay"].pop("ipv4") and h["dc0"]["gridnet_tenant_underlay"].pop("ipv4")
                and h["dc1"]["gridnet_tenant_underlay"].pop("ipv4"), "'dc0' and 'home0' cannot reach each other"),
    "node without underlay": (lambda n, h, g, k: h["dc0"].pop("gridnet_tenant_underlay"), "host dc0: .*neither ipv6 nor ipv4"),
    "malformed key": (lambda n, h, g, k: k["dc1"].update(net1="abc"), "node 'dc1'.*not valid base64"),
    "short key": (lambda n, h, g, k: k["dc1"].update(net1="AAAA"), "node 'dc1'.*decodes to 3 bytes"),
    "missing key": (lambda n, h, g, k: k.pop("dc1"), "no public key for node 'dc1'"),
    "shared key": (lambda n, h, g, k: k["dc1"].update(net1=k["dc0"]["net1"]), "nodes 'dc0' and 'dc1' have the same public key"),
    "name too long": (lambda n, h, g, k: n[0].update(tag="averylongtag"), "tag 'averylongtag'"),
    "host address for a prefix": (lambda n, h, g, k: n[0].update(ipv4_range="10.40.3.7/16"), "ipv4_range: '10.40.3.7/16' is a host address"),
    "host allocation": (lambda n, h, g, k: h["gw1"]["gridnet_tenant_exit"].update(allocation="2001:db8:100::1/40"),
                        "gridnet_tenant_exit.allocation: '2001:db8:100::1/40' is a host address"),
    "public ipv4 range": (lambda n, h, g, k: n[0].update(ipv4_range="198.51.100.0/24"), "not a private range"),
    "gateway off subnet": (lambda n, h, g, k: n[0]["exit"].update(ipv4="203.0.114.10/24"), "gateway 203.0.113.1 is not on the uplink subnet"),
    "unknown key": (lambda n, h, g, k: n[0].update(exit_node="gw1"), "unknown key\\(s\\) exit_node"),
    "tiny mtu": (lambda n, h, g, k: h["dc0"]["gridnet_tenant_underlay"].update(mtu=1300), "link dc0 <-> .* MTU of 1220"),
    "dnat outside": (lambda n, h, g, k: n[0].update(ipv4_dnat=[{"port": 80, "to": "10.99.0.5"}]), "10.99.0.5 is outside the network's IPv4 subnets"),
    "allow overlap": (lambda n, h, g, k: n[0].update(ipv6_allow=[{"node": "dc0", "port": 443}, {"node": "dc0", "port": 443}]),
                      "ipv6_allow\\[1\\] overlaps"),
    "nat66 on a routable block": (lambda n, h, g, k: n[0].update(ipv6_nat=True),
                                  "ipv6_nat: NAT66 is only for ULA allocations .*2001:db8:100::/40"),
    "ports exhausted": (lambda n, h, g, k: h["dc0"]["gridnet_tenant_underlay"].update(port_range=[51820, 51821]),
                        "node 'dc0': port_range 51820-51821 is exhausted"),
    "l2_segment a list": (lambda n, h, g, k: h["dc0"]["gridnet_tenant_underlay"].update(l2_segment=["l2", "dc"]),
                          "host dc0: gridnet_tenant_underlay.l2_segment: \\['l2', 'dc'\\] is not a segment name"),
    "l2_interface a mapping": (lambda n, h, g, k: h["dc0"]["gridnet_tenant_underlay"].update(l2_interface={"a": 1}),
                               "l2_interface: {'a': 1} is not an interface name"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_naming_the_item(case):
    change, message = BAD_INPUTS[case]
    with pytest.raises(PlanError, match=message):
        plan(*mutate(change))


def test_vxlan_group_validation_names_the_item():
    networks, hostvars, groups, keys = farm(dc_nodes=1, segment_nodes=2)
    networks[0]["vxlan_group"] = "2001:db8::1"
    with pytest.raises(PlanError, match="vxlan_group: 2001:db8::1 is not a multicast address"):
        plan(networks, hostvars, groups, keys)
    networks[0]["vxlan_group"] = "239.1.1.1"
    with pytest.raises(PlanError, match="not of the IP version the segment uses \\(IPv6\\)"):
        plan(networks, hostvars, groups, keys)
    networks[0]["vxlan_group"] = "ff05::42"
    with pytest.raises(PlanError, match="host rack0: gridnet_tenant_underlay.l2_interface is required"):
        plan(networks, hostvars, groups, keys)
    for node in ("rack0", "rack1"):
        hostvars[node]["gridnet_tenant_underlay"]["l2_interface"] = "eth1"
    vxlan = plan(networks, hostvars, groups, keys)["nodes"]["rack0"]["resources"][0]["vxlan"]
    assert vxlan["group"] == "ff05::42" and vxlan["device"] == "eth1"


def test_exit_uplink_has_stable_mac_link_local_and_table():
    networks, hostvars, groups, keys = farm(dc_nodes=2)
    the_plan = plan(networks, hostvars, groups, keys)
    exit_plan = the_plan["exits"][0]
    uplink = exit_plan["uplink"]
    first_octet = int(uplink["mac"].split(":")[0], 16)
    assert first_octet & 0x02 and not first_octet & 0x01  # locally administered unicast
    assert uplink["link_local"] == the_plan["nodes"]["gw1"]["resources"][0]["link_local"]
    assert exit_plan["table"] == "gt_exit_" + the_plan["nodes"]["gw1"]["resources"][0]["tag"]
    assert exit_plan["ipv6_nat"] is False
    assert plan(networks, hostvars, groups, keys)["exits"][0]["uplink"]["mac"] == uplink["mac"]


def test_nat66_network_of_a_ula_block_gets_no_upstream_route():
    networks, hostvars, groups, keys = farm(dc_nodes=2, allocation="fd00:1::/40")
    networks[0]["ipv6_nat"] = True
    the_plan = plan(networks, hostvars, groups, keys)
    assert the_plan["exits"][0]["ipv6_nat"] is True
    assert the_plan["exits"][0]["block"].startswith("fd00:1")
    assert the_plan["upstream_routes"] == []


def test_a_narrowed_port_range_is_refused_naming_the_links_whose_ports_it_drops():
    networks, hostvars, groups, keys = farm(dc_nodes=3)
    first = plan(networks, hostvars, groups, keys)
    held = first["assignments"]["ports"]["dc1"]["net1"]
    hostvars["dc1"]["gridnet_tenant_underlay"]["port_range"] = [51820, 51820]
    with pytest.raises(PlanError) as refused:
        plan(networks, hostvars, groups, keys, assignments=first["assignments"])
    message = str(refused.value)
    assert message.startswith("node 'dc1': port_range 51820-51820 no longer holds the listen ports of its links")
    for peer, port in held.items():
        if port != 51820:
            assert "net1/%s (%d)" % (peer, port) in message, message
    # widened again, the same ports are kept
    hostvars["dc1"]["gridnet_tenant_underlay"]["port_range"] = [51820, 59999]
    again = plan(networks, hostvars, groups, keys, assignments=first["assignments"])
    assert again["assignments"]["ports"]["dc1"]["net1"] == held
