"""The exits' promises as verify.yml probes them: which probes, which listeners, how the matrix judges them."""

from ansible_collections.gridnet.tenant.plugins.plugin_utils.verify import verify
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan

from inventory_factory import farm


def promising_plan():
    networks, hostvars, groups, keys = farm(dc_nodes=2)
    networks[0]["exit"]["ipv4"] = "203.0.113.10/24"
    networks[0]["ipv6_allow"] = [{"node": "dc0", "proto": "tcp", "port": 443}, {"node": "dc1", "proto": "udp"}]
    networks[0]["ipv4_dnat"] = [{"proto": "tcp", "port": 8443, "node": "dc0", "host": 10, "to_port": 443},
                                {"proto": "tcp", "port": 2222, "node": "dc1", "host": 5, "to_port": 22}]  # no workload at .5
    return plan(networks, hostvars, groups, keys)


def test_every_forward_to_a_workload_and_every_allowed_port_is_probed_next_to_a_closed_one():
    the_plan = promising_plan()
    promises, listen = verify.exit_promises(the_plan)
    kinds = sorted((p["id"].split("|")[2], p["id"].split("|")[3], p["expect"]) for p in promises)
    assert kinds == [("dc0:443/tcp", "allow6", True), ("dc0:443/tcp", "dnat4", True),
                     ("dc0:444/tcp", "closed6", False), ("dc1:%d/udp" % verify.ANY_PORT, "allow6", True)]
    # every probed port is listened on, the closed one too (else "silent" would prove nothing)
    assert sorted(set(listen[("dc0", "net1")])) == [("tcp", 443), ("tcp", 444)]
    workloads = verify.probes(the_plan)["dc0"]["workloads"]
    assert workloads[0]["listen"] == [{"proto": "tcp", "port": 443}, {"proto": "tcp", "port": 444}]
    dnat = next(p for p in promises if "dnat" in p["id"])
    assert (dnat["address"], dnat["port"]) == ("203.0.113.10", 8443)


def test_a_closed_port_that_answers_or_an_allowed_one_that_does_not_fails_the_matrix():
    the_plan = promising_plan()
    planned = verify.outside_probes(the_plan) + [p for n in verify.probes(the_plan).values() for p in n["probes"]]
    as_expected = {"all": [{"id": p["id"], "expect": p["expect"], "ok": p["expect"]} for p in planned]}
    assert verify.matrix(the_plan, as_expected, outside=True)["ok"]
    for broken in ("closed6", "allow6"):
        results = {"all": [dict(r, ok=not r["ok"]) if r["id"].endswith(broken) else r for r in as_expected["all"]]}
        judged = verify.matrix(the_plan, results, outside=True)
        assert not judged["ok"] and any(w.endswith(broken) for w in judged["wrong"])
        assert any("<-- WRONG" in line for line in judged["lines"])
    # without a host outside, the promises are said to be unprobed, not counted as missing
    inside = {"all": [r for r in as_expected["all"] if "|outside|" not in r["id"]]}
    judged = verify.matrix(the_plan, inside, outside=False)
    assert judged["ok"] and any("not probed" in line for line in judged["lines"])
