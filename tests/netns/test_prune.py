"""node/prune.py: a node left with fewer networks loses the others' resources and keys, and nothing else."""

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab


def test_a_network_the_node_left_goes_with_its_key_and_the_one_it_kept_stays(farm):
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::")
    kept = farm.plan(netid="net1")["nodes"]["nodea"]["resources"][0]
    left = farm.plan(netid="net2", ipv4_range="10.61.0.0/16")["nodes"]["nodea"]["resources"][0]
    assert not farm.module("nodea", "node", resources=[kept, left]).get("failed")
    before = lab.run(farm.pids["nodea"], ["ip", "netns", "list"]).stdout
    assert kept["namespace"] in before and left["namespace"] in before
    links = lab.run(farm.pids["nodea"], ["ip", "-n", kept["namespace"], "-br", "link"]).stdout

    pruned = farm.module("nodea", "prune_resources", keep=[kept["namespace"]], networks=["net1"])
    assert pruned["removed"] == [left["namespace"]], pruned
    assert "remove the private key of network net2 (/var/lib/gridnet-tenant/keys/net2.key)" in pruned["changes"]
    after = lab.run(farm.pids["nodea"], ["ip", "netns", "list"]).stdout
    assert left["namespace"] not in after and kept["namespace"] in after
    assert lab.run(farm.pids["nodea"], ["ip", "link", "show", left["bridge"]], check=False).returncode != 0
    assert lab.run(farm.pids["nodea"], ["ls", "/var/lib/gridnet-tenant/keys"]).stdout.split() == ["net1.key"]
    assert lab.run(farm.pids["nodea"], ["ip", "-n", kept["namespace"], "-br", "link"]).stdout == links
    again = farm.module("nodea", "prune_resources", keep=[kept["namespace"]], networks=["net1"])
    assert not again["changed"] and again["removed"] == [], again
