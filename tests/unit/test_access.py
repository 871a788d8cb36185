"""Access peers in the plan (plan/access.py): addresses kept by the ledger, one link on the member dialled,
routes everywhere else, and the wg-quick configuration."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger as ledger_content, ledger_table
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import access
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import compact_plan, plan
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import wireguard_ifname
from inventory_factory import fake_public_key, farm


def with_access(names, node="dc0", routing="static", **extra):
    networks, hostvars, groups, keys = farm(dc_nodes=3, home_nodes=2, **extra)
    networks[0]["routing"] = routing
    networks[0]["access"] = [{"name": n, "public_key": fake_public_key(n, "access"), "node": node} for n in names]
    return networks, hostvars, groups, keys


def resources(the_plan):
    return {node: state["resources"][0] for node, state in the_plan["nodes"].items()}


def test_the_dialled_member_links_to_the_peer_and_every_other_member_routes_its_addresses_towards_it():
    the_plan = plan(*with_access(["alice"]))
    res = resources(the_plan)
    recorded = the_plan["assignments"]["networks"]["net1"]
    host = recorded["access"]["alice"]["host"]
    prefix, subnet = recorded["resources"][access.ACCESS_MEMBER]["prefix"], recorded["resources"][access.ACCESS_MEMBER]["ipv4"]
    addresses = ["%s/128" % ipaddress.ip_network(prefix)[host], "%s/32" % ipaddress.ip_network(subnet)[host]]
    link = next(c for c in res["dc0"]["connected"] if c["peer"] == "@alice")
    assert link["interface"] == wireguard_ifname(fake_public_key("alice", "access"))
    assert link["endpoint"] is None and list(link["allowed_ips"]) == addresses  # it dials; only its own sources
    assert link["listen_port"] == the_plan["assignments"]["ports"]["dc0"]["net1"]["@alice"]
    assert {r["dst"]: r["interface"] for r in res["dc0"]["routes"] if r["dst"] in addresses} == dict.fromkeys(
        addresses, link["interface"])
    for node in ("dc1", "dc2", "gw1", "home0"):
        routed = {r["dst"]: r for r in res[node]["routes"] if r["dst"] in addresses}
        assert sorted(routed) == sorted(addresses), node
        hop = next(c for c in res[node]["connected"] if c["interface"] == routed[addresses[0]]["interface"])
        assert hop["peer"] in ("dc0", "gw1")  # dc0 itself, or the relay a hidden node reaches it through
        assert set(addresses) <= set(hop["allowed_ips"])  # the replies' sources are let in
    assert not any(c["peer"].startswith("@") for n in res if n != "dc0" for c in res[n]["connected"])
    exit_entry = the_plan["exits"][0]
    assert subnet in exit_entry["ipv4_subnets"]  # masqueraded like the members' /24s


def test_with_babel_the_dialled_member_announces_the_addresses_and_runs_no_babel_on_the_access_link():
    res = resources(plan(*with_access(["alice", "bob"], routing="babel")))
    links = [c for c in res["dc0"]["connected"] if c["peer"].startswith("@")]
    assert len(links) == 2
    babel = res["dc0"]["babel"]
    assert not {c["interface"] for c in links} & {i["name"] for i in babel["interfaces"]}
    assert {a for c in links for a in c["allowed_ips"]} <= set(babel["announce"])
    assert all(r["dst"].endswith(("/128", "/32")) for r in res["dc0"]["routes"])  # only its own access routes
    assert res["dc1"]["routes"] == [] and len(res["dc1"]["babel"]["announce"]) == 2  # learnt, not written


def test_access_numbers_and_ports_survive_a_new_peer_and_a_removed_one_through_the_ledger():
    networks, hostvars, groups, keys = with_access(["alice", "bob"])
    first = plan(networks, hostvars, groups, keys)
    ledger = ledger_content.record({"networks": {}, "ports": {}, "released": {"blocks": [], "prefixes": {}, "ipv4": {}}},
                                   first["assignments"])
    networks[0]["access"] = networks[0]["access"][1:] + [
        {"name": n, "public_key": fake_public_key(n, "access"), "node": "dc0"} for n in ("carol", "dave", "erin")]
    second = plan(networks, hostvars, groups, keys, ledger_content.assignments(ledger))
    before, after = first["assignments"], second["assignments"]
    assert after["networks"]["net1"]["access"]["bob"] == before["networks"]["net1"]["access"]["bob"]
    assert after["ports"]["dc0"]["net1"]["@bob"] == before["ports"]["dc0"]["net1"]["@bob"]
    assert after["networks"]["net1"]["resources"][access.ACCESS_MEMBER] == \
        before["networks"]["net1"]["resources"][access.ACCESS_MEMBER]
    hosts = [a["host"] for a in after["networks"]["net1"]["access"].values()]
    assert len(set(hosts)) == len(hosts) == 4
    ledger = ledger_content.record(ledger, after)
    assert "alice" not in ledger["networks"]["net1"]["access"] and "@alice" not in ledger["ports"]["dc0"]["net1"]
    assert "@bob" in ledger["ports"]["dc0"]["net1"]
    shown = "\n".join(ledger_table.table_lines(ledger))
    assert "@bob via dc0" in shown and "@alice" not in shown and access.ACCESS_MEMBER in shown


def test_a_network_without_access_peers_plans_exactly_as_before():
    networks, hostvars, groups, keys = farm(dc_nodes=3, home_nodes=1)
    the_plan, handed_out = compact_plan(networks, hostvars, groups, keys)
    assert "access_peers" not in the_plan["networks"][0] and "access" not in handed_out["networks"]["net1"]
    assert access.ACCESS_MEMBER not in handed_out["networks"]["net1"]["resources"]


@pytest.mark.parametrize("entry, said", [
    ({"name": "Alice"}, "must be 1-31 characters"),
    ({"node": "nobody"}, "is not a member of the network"),
    ({"node": "home0"}, "behind NAT"),
    ({"public_key": "not-a-key"}, "public key"),
    ({"family": 5}, "family"),
    ({"private_key_file": "alice.key"}, "absolute path"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_access_entries_are_refused_by_name(entry, said):
    networks, hostvars, groups, keys = with_access(["alice"])
    networks[0]["access"][0].update(entry)
    with pytest.raises(Exception) as raised:
        plan(networks, hostvars, groups, keys)
    assert said in str(raised.value) and "access[0]" in str(raised.value)


def test_two_peers_with_one_name_or_a_members_key_are_refused():
    networks, hostvars, groups, keys = with_access(["alice", "alice"])
    with pytest.raises(PlanError, match="used twice"):
        plan(networks, hostvars, groups, keys)
    networks, hostvars, groups, keys = with_access(["alice"])
    networks[0]["access"][0]["public_key"] = keys["dc1"]["net1"]
    with pytest.raises(PlanError, match="same public key"):
        plan(networks, hostvars, groups, keys)


def test_the_client_configuration_has_everything_but_a_private_key():
    the_plan = plan(*with_access(["alice"]))
    res = resources(the_plan)["dc0"]
    peer = {"name": "alice", "node": "dc0", "addresses": ["2001:db8::5/128", "10.1.2.5/32"],
            "private_key_file": "/etc/wireguard/alice.key"}
    text = access.client_config("net1", "abc", ["2001:db8:100::/48", "10.40.0.0/16"], peer, "[2001:db8:1::a]:51999",
                                "KEY=", res["mtu"])
    assert "PrivateKey" not in text
    for line in ("Address = 2001:db8::5/128, 10.1.2.5/32", "PostUp = wg set %i private-key /etc/wireguard/alice.key",
                 "PublicKey = KEY=", "Endpoint = [2001:db8:1::a]:51999", "AllowedIPs = 2001:db8:100::/48, 10.40.0.0/16",
                 "MTU = %d" % res["mtu"]):
        assert line in text.splitlines(), line


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["a%d" % i for i in range(40)]), min_size=1, max_size=12, unique=True),
       st.lists(st.sampled_from(["b%d" % i for i in range(40)]), max_size=12, unique=True))
def test_an_access_peer_is_never_renumbered_whoever_joins_or_leaves(first_names, later_names):
    networks, hostvars, groups, keys = with_access(first_names)
    first = plan(networks, hostvars, groups, keys)["assignments"]
    ledger = ledger_content.record({"networks": {}, "ports": {}, "released": {"blocks": [], "prefixes": {}, "ipv4": {}}},
                                   first)
    kept = first_names[::2]
    networks[0]["access"] = [{"name": n, "public_key": fake_public_key(n, "access"), "node": "dc0"}
                             for n in sorted(set(later_names) | set(kept))]
    second = plan(networks, hostvars, groups, keys, ledger_content.assignments(ledger))["assignments"]
    for name in kept:
        assert second["networks"]["net1"]["access"][name] == first["networks"]["net1"]["access"][name]
        assert second["ports"]["dc0"]["net1"]["@" + name] == first["ports"]["dc0"]["net1"]["@" + name]
    hosts = [a["host"] for a in second["networks"]["net1"]["access"].values()]
    assert len(set(hosts)) == len(hosts)
    ports = list(second["ports"]["dc0"]["net1"].values())
    assert len(set(ports)) == len(ports)
