"""Lab nodes of one test, with helpers to run the collection's modules in them and to plan for them.

Shared by tests/netns (on this machine) and tests/kernel/guest (inside the QEMU guest).
"""

import os

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import labtools  # tests/support
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")


class Farm(object):
    """Lab nodes of one test, with helpers to run modules in them and to plan for them."""

    def __init__(self):
        self.pids = {}
        self.underlay = {}
        self.exit_node = None

    def node(self, name, **underlay):
        """A member node: it gets keys and a network resource."""
        self.host(name)
        self.underlay[name] = underlay
        return self.pids[name]

    def host(self, name):
        """A lab node outside the tenant networks (a router, an internet host)."""
        self.pids[name] = lab.start_node(name, lab="gridnet-tests")
        return self.pids[name]

    def cable(self, a, b, subnet6, subnet4=None, mtu=1500):
        """Join a and b on one link; addresses ::1/::2 of subnet6 (and .1/.2 of subnet4)."""
        ifa, ifb = "to-" + b, "to-" + a
        labtools.connect(self.pids[a], ifa, self.pids[b], ifb, mtu)
        for node, ifname, host in ((a, ifa, 1), (b, ifb, 2)):
            lab.add_address(self.pids[node], ifname, "%s%d/64" % (subnet6, host))
            if subnet4:
                lab.add_address(self.pids[node], ifname, "%s%d/24" % (subnet4, host))

    def outside(self, exit_node):
        """The world beyond an exit: its uplink0 cabled to a router, an internet host behind the router.

        router down0: 2001:db8:ff::1/64, 203.0.113.1/24; inet: 2001:db8:fe::2, 198.51.100.2,
        which only knows the router as its default route.
        """
        router, inet = self.host("router"), self.host("inet")
        labtools.connect(self.pids[exit_node], "uplink0", router, "down0")
        lab.add_address(router, "down0", "2001:db8:ff::1/64")
        lab.add_address(router, "down0", "203.0.113.1/24")
        self.cable("router", "inet", "2001:db8:fe::", "198.51.100.")
        lab.run(router, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", "net.ipv4.ip_forward=1"])
        lab.run(inet, ["ip", "route", "add", "default", "via", "2001:db8:fe::1"])
        lab.run(inet, ["ip", "route", "add", "default", "via", "198.51.100.1"])

    def module(self, node, name, check=False, prelude=None, **args):
        return labtools.run_module(self.pids[node], name, args, COLLECTIONS, check, prelude)

    def keys(self, netid="net1"):
        out = {}
        for node in self.underlay:
            result = self.module(node, "wireguard_key", netid=netid)
            assert not result.get("failed"), result
            out[node] = {netid: result["public_key"]}
        return out

    def plan(self, members=None, netid="net1", ipv4_range="10.60.0.0/16", public_keys=None, assignments=None,
             exit=None, uplink=None, allocation="2001:db8:100::/40", **network):
        hostvars = {n: {"gridnet_tenant_underlay": u} for n, u in self.underlay.items()}
        hostvars[self.exit_node]["gridnet_tenant_exit"] = {
            "allocation": allocation, "network_prefixlen": 48,
            "uplink": uplink or {"parent": "uplink0", "ipv6_gateway": "2001:db8:ff::1"}}
        networks = [{"netid": netid, "members": sorted(members or self.underlay),
                     "exit": exit or {"node": self.exit_node, "ipv6": "2001:db8:ff::10/64"}, "ipv4_range": ipv4_range,
                     **network}]
        return plan(networks, hostvars, public_keys=public_keys or self.keys(netid), assignments=assignments)

    def converge(self, the_plan, node, check=False, state="present"):
        resource = the_plan["nodes"][node]["resources"][0]
        return self.module(node, "network_resource", check=check, resource=resource, state=state)

    def workload(self, the_plan, node, name="wl"):
        r = the_plan["nodes"][node]["resources"][0]
        labtools.attach_workload(self.pids[node], name, r["bridge"], r["mtu"],
                                 [r["prefix"].replace("::/64", "::10/64"), r["ipv4"].replace(".0/24", ".10/24")],
                                 [r["gateway6"].split("/")[0], r["gateway4"].split("/")[0]])
        return r["prefix"].replace("::/64", "::10"), r["ipv4"].replace(".0/24", ".10")

    def ping(self, node, address, **kwargs):
        return labtools.ping(self.pids[node], "wl", address, **kwargs)

    def stop(self):
        for pid in self.pids.values():
            lab.stop_node(pid)


@pytest.fixture
def farm():
    """Lab nodes for one test; every node it started is SIGKILLed at the end, whatever the outcome."""
    f = Farm()
    try:
        yield f
    finally:
        f.stop()
