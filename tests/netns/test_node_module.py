"""gridnet.tenant.node: a node's whole state in one call, every part checked before any is touched."""

import base64
import copy
import os

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

INOTIFY = "/proc/sys/fs/inotify/max_user_instances"


def links(resource, count, prefix, first_port):
    template = resource["connected"][0]
    resource["connected"] = []
    for index in range(count):
        link = copy.deepcopy(template)
        link.update(interface="%s%08d" % (prefix, index), listen_port=first_port + index,
                    public_key=base64.b64encode(os.urandom(32)).decode())
        resource["connected"].append(link)
    return resource


def test_two_networks_that_each_fit_the_inotify_budget_but_not_together_fail_before_either_is_made(farm):
    """One network at a time would make the first and stop in the second: the node is checked as a whole."""
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    farm.exit_node = "nodeb"
    with open(INOTIFY) as handle:
        limit = int(handle.read())
    each = limit // 2 + 1  # inside the fresh node nothing else uses an instance: each fits alone
    first = links(farm.plan(netid="net1")["nodes"]["nodea"]["resources"][0], each, "gtwcapa", 20000)
    second = links(farm.plan(netid="net2", ipv4_range="10.61.0.0/16")["nodes"]["nodea"]["resources"][0], each,
                   "gtwcapb", 30000)
    alone = farm.module("nodea", "node", check=True, resources=[first], wireguard_backend="userspace")
    assert not alone.get("failed"), alone
    result = farm.module("nodea", "node", resources=[first, second], wireguard_backend="userspace")
    assert result.get("failed"), result
    assert "%d new wireguard-go links" % (2 * each) in result["msg"], result["msg"]
    node = farm.pids["nodea"]
    assert lab.run(node, ["ip", "netns", "list"]).stdout.strip() == ""
    assert "gtwcap" not in lab.run(node, ["ip", "-o", "link"]).stdout
    assert lab.run(node, ["pgrep", "-c", "wireguard-go"], check=False).stdout.strip() == "0"


def test_one_call_converges_a_node_in_two_networks_prunes_a_third_and_changes_nothing_again(farm):
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::")
    plans = [farm.plan(netid=netid, ipv4_range=r)
             for netid, r in (("net1", "10.60.0.0/16"), ("net2", "10.61.0.0/16"), ("net3", "10.62.0.0/16"))]
    mine = [p["nodes"]["nodea"]["resources"][0] for p in plans]
    made = farm.module("nodea", "node", resources=mine, agent=None)
    assert made.get("changed") and made["networks"] == ["net1", "net2", "net3"], made
    kept = farm.module("nodea", "node", resources=mine[:2])
    assert kept["removed"] == [mine[2]["namespace"]], kept
    assert any(c.startswith("prune: ") for c in kept["changes"])
    again = farm.module("nodea", "node", resources=mine[:2])
    assert not again.get("changed") and again["changes"] == [], again
    assert not os.path.exists("/proc/%d/root/var/lib/gridnet-tenant/keys/net3.key" % farm.pids["nodea"])
    listed = lab.run(farm.pids["nodea"], ["ip", "netns", "list"]).stdout.split()
    assert sorted(n for n in listed if n.startswith("gt-")) == sorted(r["namespace"] for r in mine[:2])
