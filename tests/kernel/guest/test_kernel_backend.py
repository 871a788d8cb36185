"""Inside the QEMU guest, on Debian's kernel with its WireGuard module: the kernel back end, for real.

Run only by tests/kernel/test_kernel_layer.py, which boots the guest (GRIDNET_IN_GUEST is set there).
"""

import re

from ansible_collections.gridnet.tenant.plugins.module_utils import lab

from contract import run_contract


def test_kernel_backend_keeps_the_contract():
    run_contract("kernel", "gridnet-guest")


def test_auto_picks_the_kernel_here(farm):
    pid = farm.host("probe")
    script = ("from pyroute2 import IPRoute\n"
              "from ansible_collections.gridnet.tenant.plugins.module_utils.wireguard import select_backend\n"
              "with IPRoute() as ipr: print(select_backend(ipr, 'auto').name)\n")
    import os
    import sys
    from farm import COLLECTIONS
    out = lab.run(pid, [sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=COLLECTIONS)).stdout
    assert out.strip() == "kernel"


def test_network_resource_on_kernel_links_pings_and_reruns_idempotently(farm):
    farm.node("nodea", ipv6="2001:db8:1::1", ipv4="192.0.2.1")
    farm.node("nodeb", ipv6="2001:db8:1::2", ipv4="192.0.2.2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    the_plan = farm.plan()
    results = {node: farm.module(node, "network_resource", resource=the_plan["nodes"][node]["resources"][0],
                                 wireguard_backend=backend)
               for node, backend in (("nodea", "kernel"), ("nodeb", "auto"))}
    for node, result in results.items():
        assert not result.get("failed") and result["backend"] == "kernel", (node, result)
    farm.workload(the_plan, "nodea")
    b6, b4 = farm.workload(the_plan, "nodeb")
    assert farm.ping("nodea", b6, deadline=20) and farm.ping("nodea", b4, deadline=10)
    resource = the_plan["nodes"]["nodea"]["resources"][0]
    links = lab.run(farm.pids["nodea"], ["ip", "-n", resource["namespace"], "-o", "link", "show"]).stdout
    info = farm.module("nodea", "network_resource_info")
    again = farm.module("nodea", "network_resource", resource=resource, wireguard_backend="kernel")
    assert again["changed"] is False and again["changes"] == [], again
    assert lab.run(farm.pids["nodea"], ["ip", "-n", resource["namespace"], "-o", "link", "show"]).stdout == links
    (seen,) = info["resources"]
    (link,) = seen["wireguard"].values()
    assert link["listen_port"] == resource["connected"][0]["listen_port"]
    assert link["peer"]["public_key"] == resource["connected"][0]["public_key"]
    assert link["peer"]["last_handshake"] > 0
    assert sorted(link["peer"]["allowed_ips"]) == sorted(resource["connected"][0]["allowed_ips"])
    private = lab.run(farm.pids["nodea"], ["sh", "-c", "cat /var/lib/gridnet-tenant/keys/*.key"]).stdout.strip()
    assert private and private not in repr(info) + repr(again) + repr(results)
    assert re.search(r"wireguard", lab.run(farm.pids["nodea"], ["ip", "-n", resource["namespace"], "-d", "link"]).stdout)
