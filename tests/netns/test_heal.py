"""A link the run re-creates is in use at once: the peer holding the old session is not left waiting."""

import time

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import figures  # tests/support


def test_a_peer_reaches_a_recreated_link_within_seconds(farm):
    # nodea and nodec are members, nodee the exit: the nodea-nodec link carries no default route,
    # so nothing but this run's own prompt makes nodea hand-shake on it
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodec", ipv6="2001:db8:1::2")
    farm.node("nodee", ipv6="2001:db8:2::2")
    farm.exit_node = "nodee"
    farm.cable("nodea", "nodec", "2001:db8:1::")
    farm.cable("nodea", "nodee", "2001:db8:2::")
    the_plan = farm.plan()
    for node in ("nodea", "nodec"):
        assert not farm.converge(the_plan, node).get("failed")
    a6, c6 = (farm.workload(the_plan, node)[0] for node in ("nodea", "nodec"))
    assert farm.ping("nodea", c6, deadline=15) and farm.ping("nodec", a6, deadline=5)

    # the fault: nodea's link to nodec goes (its wireguard-go with it); nodec keeps its session with the old one
    resource = the_plan["nodes"]["nodea"]["resources"][0]
    link = next(c["interface"] for c in resource["connected"] if c["peer"] == "nodec")
    lab.run(farm.pids["nodea"], ["ip", "-n", resource["namespace"], "link", "del", link])
    healed = farm.converge(the_plan, "nodea")
    assert healed["changed"] and "create WireGuard link %s" % link in " ".join(healed["changes"]), healed
    started = time.monotonic()
    # nodec speaks first: without a fresh handshake from nodea it waits for WireGuard's own retry (15 s)
    assert farm.ping("nodec", a6, deadline=5), "the peer still holds the old session"
    figures.report("a re-created WireGuard link: its peer's first ping answered %.2f s after the converge"
                   % (time.monotonic() - started))


def test_fixed_macs_taken_by_a_live_resource_keep_its_workloads_reachable(farm):
    farm.node("nodea", ipv6="2001:db8:1::1", ipv4="192.0.2.1")
    farm.node("nodeb", ipv6="2001:db8:1::2", ipv4="192.0.2.2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    the_plan = farm.plan()
    without = {node: dict(state["resources"][0], macs={}) for node, state in the_plan["nodes"].items()}
    for node, resource in without.items():  # as a resource converged before the plan gave MACs
        assert not farm.module(node, "network_resource", resource=resource).get("failed")
    a6, a4 = farm.workload(the_plan, "nodea")
    b6, b4 = farm.workload(the_plan, "nodeb")
    assert farm.ping("nodea", b6, deadline=15) and farm.ping("nodeb", a4, deadline=5)
    for node in ("nodea", "nodeb"):
        result = farm.converge(the_plan, node)
        assert any(" address " in c for c in result["changes"]), result["changes"]
    started = time.monotonic()
    # each workload's neighbour entry of its gateway changed under it: the new MAC is announced
    for source, target in (("nodea", b6), ("nodea", b4), ("nodeb", a6), ("nodeb", a4)):
        assert farm.ping(source, target, deadline=3), (source, target)
    figures.report("MACs changed under live workloads: every ping answered %.2f s after the converge"
                   % (time.monotonic() - started))
