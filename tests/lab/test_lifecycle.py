"""Adding and removing a node on the running lab, through the site and verify playbooks."""

import copy

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import net_tag


def acme(farm):
    return next(n for n in farm.networks if n["netid"] == "acme")


def acme_namespace(farm):
    return "gt-" + net_tag("acme")


def members(farm):
    return sorted({m for n in farm.networks for m in n["members"]})


def test_add_then_remove_a_node(lab_farm):
    farm = lab_farm
    farm.networks = copy.deepcopy(farm.networks)
    acme(farm)["members"].remove("dc2")
    farm.playbook("lab/up.yml", inventory=False)
    first = farm.playbook("site.yml")
    assert first.changed["dc2"] == 0  # in the lab, in no network yet
    assert farm.playbook("site.yml").changed == {h: 0 for h in first.changed}, "second converge must change nothing"
    assert "as expected" in farm.playbook("verify.yml").stdout  # handshakes are made now
    existing = [n for n in members(farm) if n != "dc2"]
    before = farm.snapshot(existing)

    # add dc2 to acme: it is reached from every other node, nobody else's prefix, name, port or handshake moves
    acme(farm)["members"].append("dc2")
    added = farm.playbook("site.yml")
    assert added.changed["dc2"] == 2  # its key; then its resource and the node agent that keeps it, in one call
    after = farm.snapshot(existing)
    dc2_keys = {v[1] for (node, ns), s in farm.snapshot(["dc2"]).items() for v in s["links"].values()}
    for place, state in before.items():
        assert after[place]["addresses"] == state["addresses"], place
        for ifname, (port, peer, handshake) in state["links"].items():
            assert after[place]["links"][ifname] == (port, peer, handshake), (place, ifname)
        assert set(after[place]["routes"]) >= set(state["routes"]), place
    verified = farm.playbook("verify.yml")
    assert "as expected" in verified.stdout and "wrong" not in verified.stdout
    new_links = sum(len(s["links"]) - len(before[p]["links"]) for p, s in after.items())
    assert new_links > 0 and dc2_keys

    # remove home2: its network resource goes, and every peer's link to it
    home2_before = farm.snapshot(["home2"])
    (home2_ns, home2_state), = home2_before.items()
    home2_key = farm.module("home2", "wireguard_key", netid="acme")["public_key"]  # before its key goes too
    acme(farm)["members"].remove("home2")
    farm.playbook("site.yml")
    assert farm.snapshot(["home2"]) == {}
    assert lab.run(farm.pids()["home2"], ["ls", "/var/lib/gridnet-tenant/keys"], check=False).stdout.strip() == ""
    home2_prefix = [a for a in home2_state["addresses"] if ":" in a and not a.startswith("fe80")][0]
    for place, state in farm.snapshot([n for n in members(farm) if n != "home2"]).items():
        assert all(peer != home2_key for _unused, peer, _unused in state["links"].values()), place
        assert not any(dst.split("/")[0] == home2_prefix.split("::")[0] + "::" for dst in state["routes"]), place
    assert "as expected" in farm.playbook("verify.yml").stdout

    # --limit to one node: its peers come from the inventory and the ledger, not the play
    everyone = [n for n in members(farm) if n != "home2"]
    before = farm.snapshot(everyone)
    limited = farm.playbook("site.yml", "--limit", "dc1")
    assert limited.changed == {"dc1": 0}, limited.changed
    after = farm.snapshot(everyone)

    def links(state):  # name -> (port, peer); handshakes may rekey on their own after 120 s
        return {p: {n: v[:2] for n, v in s["links"].items()} for p, s in state.items()}
    assert links(after) == links(before)
    assert all(len(s["links"]) > 0 for (node, _unused), s in after.items() if node == "dc1")

    # remove the whole globex network: its resources, exit uplink and table, and upstream route go; acme stays
    acme_before = {p: s for p, s in farm.snapshot(everyone).items() if p[1] == acme_namespace(farm)}
    farm.networks = [n for n in farm.networks if n["netid"] != "globex"]
    farm.playbook("site.yml")
    after = farm.snapshot(everyone)
    assert set(ns for _unused, ns in after) == {acme_namespace(farm)}
    assert {p: s["links"] for p, s in after.items()} == {p: s["links"] for p, s in acme_before.items()}
    routes = lab.run(farm.pids()["upstream"], ["ip", "-6", "route", "show", "proto", "152"]).stdout
    assert "2001:db8:ff::20" not in routes and "2001:db8:ff::10" in routes
    # the removal was applied on every node of globex, so the ledger released its block
    farm.playbook("ledger.yml", "-e", "gridnet_tenant_ledger_report=" + farm.directory + "/ledger.txt")
    table = open(farm.directory + "/ledger.txt").read().splitlines()
    assert not any(line.startswith("globex") for line in table), table
    released = sorted(line.split()[2] for line in table if line.endswith("released"))
    # globex's block, and home2's acme prefix (its removal was applied earlier in this test)
    assert released == sorted(["2001:db8:100::/48", home2_prefix.split("::")[0] + "::/64"]), table
    assert any(line.startswith("acme") and line.endswith("active") for line in table)
