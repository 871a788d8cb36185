"""Shared kernel limits bound what a node can hold: the module checks them before touching anything."""

import base64
import copy
import os

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

INOTIFY = "/proc/sys/fs/inotify/max_user_instances"


def test_more_userspace_links_than_the_inotify_budget_fail_before_anything_is_made(farm):
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    farm.exit_node = "nodeb"
    resource = farm.plan()["nodes"]["nodea"]["resources"][0]
    with open(INOTIFY) as handle:
        limit = int(handle.read())
    template = resource["connected"][0]
    resource["connected"] = []
    for index in range(limit + 1):  # one link more than the machine allows, whatever is in use
        link = copy.deepcopy(template)
        link.update(interface="gtwcap%09d" % index, listen_port=20000 + index,
                    public_key=base64.b64encode(os.urandom(32)).decode())
        resource["connected"].append(link)
    result = farm.module("nodea", "network_resource", resource=resource, wireguard_backend="userspace")
    assert result.get("failed"), result
    assert "fs.inotify.max_user_instances" in result["msg"] and "%d new wireguard-go links" % (limit + 1) in result["msg"]
    node = farm.pids["nodea"]
    assert lab.run(node, ["ip", "netns", "list"]).stdout.strip() == ""
    assert "gtwcap" not in lab.run(node, ["ip", "-o", "link"]).stdout
    assert lab.run(node, ["pgrep", "-c", "wireguard-go"], check=False).stdout.strip() == "0"
