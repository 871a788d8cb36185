"""The netresource role through ansible-playbook, on lab nodes reached with community.docker.nsenter."""

import os
import re
import subprocess
import sys

import yaml

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

from farm import COLLECTIONS, ROOT  # tests/support, put on the path by conftest

PLAYBOOK = """
- name: Converge network resources
  hosts: all
  gather_facts: false
  roles:
    - gridnet.tenant.netresource
"""


NET1 = {"netid": "net1", "members": ["nodea", "nodeb"], "ipv4_range": "10.60.0.0/16",
        "exit": {"node": "nodeb", "ipv6": "2001:db8:ff::10/64"}}


def inventory(farm, networks=None):
    hosts = {}
    for name, pid in farm.pids.items():
        hosts[name] = {
            "ansible_connection": "community.docker.nsenter",
            "ansible_nsenter_pid": pid,
            "ansible_python_interpreter": sys.executable,
            "gridnet_tenant_underlay": farm.underlay[name],
        }
    hosts["nodeb"]["gridnet_tenant_exit"] = {
        "allocation": "2001:db8:100::/40", "network_prefixlen": 48,
        "uplink": {"parent": "uplink0", "ipv6_gateway": "2001:db8:ff::1"}}
    return {"all": {"hosts": hosts, "vars": {"gridnet_tenant_ledger_plaintext": True,
                                             "gridnet_tenant_networks": [NET1] if networks is None else networks}}}


def play(tmp_path, farm, *extra, succeed=True, networks=None):
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory(farm, networks)))
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", PYTHONPATH="")
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                             str(tmp_path / "hosts.yml"), str(tmp_path / "site.yml")] + list(extra),
                            capture_output=True, text=True, env=env, check=False)
    if not succeed:
        return result
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M)}


def test_role_converges_nodes_and_a_second_run_changes_nothing(farm, tmp_path):
    farm.node("nodea", ipv6="2001:db8:1::1", ipv4="192.0.2.1")
    farm.node("nodeb", ipv6="2001:db8:1::2", ipv4="192.0.2.2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    first = play(tmp_path, farm)
    # the key; the network resource and the node agent in one call; the ledger once (first host)
    assert first == {"nodea": 3, "nodeb": 2}
    assert "net1" in (tmp_path / "group_vars" / "all" / "gridnet_tenant_ledger.vault").read_text()  # plaintext asked for
    second = play(tmp_path, farm)
    assert second == {"nodea": 0, "nodeb": 0}, "second converge must report changed=0"
    # the role planned from the same inventory the test plans from: packets prove the links
    public_keys = {}
    for node in farm.pids:
        result = farm.module(node, "wireguard_key", netid="net1")
        assert result["changed"] is False  # the role made it; it is kept
        public_keys[node] = {"net1": result["public_key"]}
    the_plan = farm.plan(public_keys=public_keys)
    farm.workload(the_plan, "nodea")
    b6, b4 = farm.workload(the_plan, "nodeb")
    assert farm.ping("nodea", b6, deadline=15) and farm.ping("nodea", b4)


def test_check_mode_on_fresh_nodes_with_keys_in_the_inventory_predicts_and_touches_nothing(farm, tmp_path):
    import base64
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    farm.exit_node = "nodeb"
    keys = {node: {"net1": base64.b64encode(os.urandom(32)).decode()} for node in ("nodea", "nodeb")}
    (tmp_path / "host_vars").mkdir()
    for node, public in keys.items():  # public keys kept in the inventory, as after a first run elsewhere
        (tmp_path / "host_vars" / ("%s.yml" % node)).write_text(yaml.safe_dump({"gridnet_tenant_public_keys": public}))
    predicted = play(tmp_path, farm, "--check", "--diff")
    # key; resource and agent in one call (and the ledger once): predicted only
    assert predicted == {"nodea": 3, "nodeb": 2}, predicted
    for node in ("nodea", "nodeb"):
        assert lab.run(farm.pids[node], ["ip", "netns", "list"]).stdout.strip() == ""
        assert lab.run(farm.pids[node], ["ls", "-A", "/var/lib"]).stdout.strip() == ""  # no key, record or agent
    assert sorted(os.listdir(str(tmp_path))) == ["host_vars", "hosts.yml", "site.yml"]  # no ledger, no lock


def test_a_malformed_key_in_the_inventory_gets_one_verdict_in_full_and_limited_runs(farm, tmp_path):
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "nodea.yml").write_text(yaml.safe_dump({"gridnet_tenant_public_keys": {"net1": "abc"}}))
    refusal = "network 'net1', node 'nodea': public key 'abc' not valid base64"
    full = play(tmp_path, farm, succeed=False)
    limited = play(tmp_path, farm, "--limit", "nodeb", succeed=False)
    for result in (full, limited):
        assert result.returncode != 0 and refusal in result.stdout, result.stdout[-3000:]
    for node in ("nodea", "nodeb"):  # refused before any resource was made
        assert lab.run(farm.pids[node], ["ip", "netns", "list"]).stdout.strip() == ""


def keys_on(farm, node):
    return lab.run(farm.pids[node], ["find", "/var/lib/gridnet-tenant/keys", "-name", "*.key"], check=False).stdout.split()


def test_an_inventory_the_plan_refuses_leaves_no_key_on_any_node(farm, tmp_path):
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    refused = play(tmp_path, farm, succeed=False, networks=[dict(NET1, ipv4_range="198.51.100.0/24")])
    assert refused.returncode != 0 and "is not a private range" in refused.stdout, refused.stdout[-3000:]
    assert keys_on(farm, "nodea") == [] and keys_on(farm, "nodeb") == []


def test_a_node_that_leaves_its_network_loses_the_key_too(farm, tmp_path):
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    play(tmp_path, farm)
    assert keys_on(farm, "nodea") == ["/var/lib/gridnet-tenant/keys/net1.key"]
    play(tmp_path, farm, networks=[dict(NET1, members=["nodeb"])])
    assert keys_on(farm, "nodea") == []
    assert keys_on(farm, "nodeb") == ["/var/lib/gridnet-tenant/keys/net1.key"]  # still a member
    assert lab.run(farm.pids["nodea"], ["ip", "netns", "list"]).stdout.strip() == ""
    assert play(tmp_path, farm, networks=[dict(NET1, members=["nodeb"])]) == {"nodea": 0, "nodeb": 0}
