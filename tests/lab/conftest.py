"""A whole lab (playbooks/lab/topology.yml) driven through the real playbooks."""

import json
import os
import re
import subprocess
import sys
import tempfile

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
import labtools  # noqa: E402  (tests/support is not a package)
from ansible_collections.gridnet.tenant.plugins.module_utils.lab.lab_farm import stop_farm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
TOPOLOGY = yaml.safe_load(open(os.path.join(ROOT, "playbooks", "lab", "topology.yml")))

if os.geteuid() != 0:
    pytest.exit("tests/lab builds a lab of namespaces and needs root", returncode=1)


class Lab(object):
    def __init__(self, name, directory, connection="nsenter"):
        # labs of concurrent test runs on one machine must never share a name: teardown stops a lab by it
        self.name, self.directory = "%s-%d" % (name, os.getpid()), directory
        self.env = dict(os.environ, GRIDNET_LAB_CONNECTION=connection, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
                        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                        ANSIBLE_NOCOLOR="1", PYTHONPATH="", GRIDNET_LAB_NAME=self.name, GRIDNET_LAB_DIR=directory,
                        ANSIBLE_VAULT_PASSWORD_FILE=os.path.join(ROOT, "playbooks", "lab", "vault-password"))
        self.networks = TOPOLOGY["gridnet_lab_networks"]
        self.topology = None  # None: playbooks/lab/topology.yml's gridnet_lab_topology

    @property
    def inventory(self):
        return os.path.join(self.directory, "inventory")

    def pids(self):
        """Every node's anchor PID (from the lab's state file: it holds them whatever the connection)."""
        with open(os.path.join(self.directory, "state.json")) as handle:
            return json.load(handle)["nodes"]

    def playbook(self, path, *extra, inventory=True, check=True):
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
            given = {"gridnet_tenant_networks": self.networks, "gridnet_lab_networks": self.networks}
            if self.topology:
                given["gridnet_lab_topology"] = self.topology
            yaml.safe_dump(given, handle)
        argv = [os.path.join(BIN, "ansible-playbook")] + (["-i", self.inventory] if inventory else [])
        argv += [os.path.join(ROOT, "playbooks", path), "-e", "@" + handle.name] + list(extra)
        try:
            result = subprocess.run(argv, capture_output=True, text=True, env=self.env, check=False)
        finally:
            os.unlink(handle.name)
        if check:
            assert result.returncode == 0, "%s failed:\n%s%s" % (path, result.stdout[-5000:], result.stderr[-2000:])
        result.changed = {m.group(1): int(m.group(2))
                          for m in re.finditer(r"^(\w+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M)}
        return result

    def module(self, node, name, **args):
        """Run one of the collection's modules inside a lab node (as Ansible would), return its JSON."""
        return labtools.run_module(self.pids()[node], name, args, COLLECTIONS)

    def snapshot(self, nodes):
        """Per node and namespace: addresses, routes, and per WireGuard link its port, peer and handshake."""
        state = {}
        for node in nodes:
            for resource in self.module(node, "network_resource_info")["resources"]:
                state[(node, resource["namespace"])] = {
                    "addresses": resource["veth"]["addresses"],
                    "routes": resource["routes"],
                    "links": {name: (link["listen_port"], link["peer"]["public_key"], link["peer"]["last_handshake"])
                              for name, link in resource["wireguard"].items()},
                }
        return state


@pytest.fixture(scope="module")
def lab_farm(tmp_path_factory):
    farm = Lab("gridnet-lifecycle", str(tmp_path_factory.mktemp("lab")))
    try:
        yield farm
    finally:
        farm.playbook("lab/down.yml", inventory=False, check=False)
        stop_farm(farm.name)


@pytest.fixture(scope="module")
def new_lab(tmp_path_factory):
    """Make labs of a test module: new_lab(name, connection="nsenter"); every one is torn down at its end."""
    made = []

    def make(name, connection="nsenter"):
        made.append(Lab(name, str(tmp_path_factory.mktemp(name)), connection))
        return made[-1]
    try:
        yield make
    finally:
        for farm in made:
            farm.playbook("lab/down.yml", inventory=False, check=False)
            stop_farm(farm.name)
