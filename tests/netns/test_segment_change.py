"""A node's L2 segment changes: VXLAN becomes WireGuard or the reverse, in one run, and a second changes nothing."""

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab


def pair(farm, segment):
    for node, host in (("nodea", 1), ("nodeb", 2)):
        underlay = {"ipv6": "2001:db8:1::%d" % host, "ipv4": "192.0.2.%d" % host}
        if segment:
            underlay["l2_segment"] = segment
        farm.node(node, **underlay)
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")


def converge_both(farm, the_plan):
    for node in ("nodea", "nodeb"):
        result = farm.converge(the_plan, node)
        assert not result.get("failed"), result
    for node in ("nodea", "nodeb"):
        again = farm.converge(the_plan, node)
        assert again["changed"] is False, again["changes"]


def connection(the_plan):
    return the_plan["nodes"]["nodea"]["resources"][0]["connected"][0]["connection"]


@pytest.mark.parametrize("before, after, kinds", [
    ("rack-a", {"nodeb": "rack-b"}, ("localvxlan", "wireguard")),
    (None, {"nodea": "rack-a", "nodeb": "rack-a"}, ("wireguard", "localvxlan")),
], ids=["vxlan-to-wireguard", "wireguard-to-vxlan"])
def test_a_segment_change_converges_in_one_run(farm, before, after, kinds):
    pair(farm, before)
    first = farm.plan()
    assert connection(first) == kinds[0]
    converge_both(farm, first)
    farm.workload(first, "nodea")
    b6, b4 = farm.workload(first, "nodeb")
    assert farm.ping("nodea", b6, deadline=15) and farm.ping("nodea", b4, deadline=5)

    for node, segment in after.items():
        farm.underlay[node]["l2_segment"] = segment
    second = farm.plan()
    assert connection(second) == kinds[1]
    converge_both(farm, second)
    assert farm.ping("nodea", b6, deadline=15) and farm.ping("nodea", b4, deadline=5)
    namespace = second["nodes"]["nodea"]["resources"][0]["namespace"]
    links = lab.run(farm.pids["nodea"], ["ip", "-n", namespace, "-o", "link", "show"]).stdout
    assert ("gtx-" in links) == (kinds[1] == "localvxlan") and ("gtw" in links) == (kinds[1] == "wireguard"), links
