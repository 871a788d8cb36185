"""Real lab nodes for module tests: anchors in their own namespaces, cabled with veth.

Needs root. Every node a test starts is SIGKILLed at the end (its PID namespace
takes wireguard-go with it), whatever the outcome.
"""

import json
import os
import sys
import tempfile

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils import lab
from ansible_collections.gridnet.tenant.plugins.plugin_utils.mesh import plan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")

if os.geteuid() != 0:
    pytest.exit("tests/netns builds network namespaces and needs root", returncode=1)


class Farm(object):
    """Lab nodes of one test, with helpers to run modules in them and to plan for them."""

    def __init__(self):
        self.pids = {}
        self.underlay = {}
        self.exit_node = None

    def node(self, name, **underlay):
        self.pids[name] = lab.start_node(name)
        self.underlay[name] = underlay
        return self.pids[name]

    def cable(self, a, b, subnet6, subnet4=None, mtu=1500):
        """Join a and b on one link; addresses ::1/::2 of subnet6 (and .1/.2 of subnet4)."""
        ifa, ifb = "to-" + b, "to-" + a
        lab.connect(self.pids[a], ifa, self.pids[b], ifb, mtu)
        for node, ifname, host in ((a, ifa, 1), (b, ifb, 2)):
            lab.add_address(self.pids[node], ifname, "%s%d/64" % (subnet6, host))
            if subnet4:
                lab.add_address(self.pids[node], ifname, "%s%d/24" % (subnet4, host))

    def module(self, node, name, check=False, **args):
        payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check, _ansible_diff=True)}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(payload, handle)
        try:
            result = lab.run(self.pids[node], [sys.executable, "-m", "ansible_collections.gridnet.tenant.plugins.modules." + name,
                                                handle.name], check=False, env=dict(os.environ, PYTHONPATH=COLLECTIONS))
        finally:
            os.unlink(handle.name)
        try:
            return json.loads(result.stdout)
        except ValueError:
            raise AssertionError("module %s printed no JSON: %s %s" % (name, result.stdout, result.stderr))

    def keys(self, netid="net1"):
        out = {}
        for node in self.pids:
            result = self.module(node, "wireguard_key", netid=netid)
            assert not result.get("failed"), result
            out[node] = {netid: result["public_key"]}
        return out

    def plan(self, members=None, netid="net1", ipv4_range="10.60.0.0/16", public_keys=None, assignments=None,
             **network):
        hostvars = {n: {"gridnet_tenant_underlay": u} for n, u in self.underlay.items()}
        hostvars[self.exit_node]["gridnet_tenant_exit"] = {
            "allocation": "2001:db8:100::/40", "network_prefixlen": 48,
            "uplink": {"parent": "uplink0", "ipv6_gateway": "2001:db8:ff::1"}}
        networks = [{"netid": netid, "members": sorted(members or self.pids),
                     "exit": {"node": self.exit_node, "ipv6": "2001:db8:ff::10/64"}, "ipv4_range": ipv4_range,
                     **network}]
        return plan(networks, hostvars, public_keys=public_keys or self.keys(netid), assignments=assignments)

    def converge(self, the_plan, node, check=False, state="present"):
        resource = the_plan["nodes"][node]["resources"][0]
        return self.module(node, "network_resource", check=check, resource=resource, state=state)

    def workload(self, the_plan, node, name="wl"):
        r = the_plan["nodes"][node]["resources"][0]
        lab.attach_workload(self.pids[node], name, r["bridge"], r["mtu"],
                            [r["prefix"].replace("::/64", "::10/64"), r["ipv4"].replace(".0/24", ".10/24")],
                            [r["gateway6"].split("/")[0], r["gateway4"].split("/")[0]])
        return r["prefix"].replace("::/64", "::10"), r["ipv4"].replace(".0/24", ".10")

    def ping(self, node, address, **kwargs):
        return lab.ping(self.pids[node], "wl", address, **kwargs)

    def stop(self):
        for pid in self.pids.values():
            lab.stop_node(pid)


@pytest.fixture
def farm():
    f = Farm()
    try:
        yield f
    finally:
        f.stop()
