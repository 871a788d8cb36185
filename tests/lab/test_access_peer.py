"""Access peers through the real playbooks: a lab node on a café's network plays the laptop, brings up the
wg-quick configuration site.yml wrote with the real wg-quick (wireguard-go as its userspace implementation),
and reaches the workloads of its network, and nothing of another."""

import ipaddress
import os
import re
import subprocess

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger_file
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import net_tag

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAFE = {"router": "wan", "ipv6": "2001:db8:30::/64", "ipv4": "192.0.2.192/26", "attach": {"laptop": 10}}


def keypair(pid, folder, name):
    """A key made the way its owner would (wg genkey), kept in a file of this test only."""
    private = lab.run(pid, ["wg", "genkey"]).stdout.strip()
    path = os.path.join(folder, name + ".key")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        handle.write(private + "\n")
    return path, lab.run(pid, ["wg", "pubkey"], input=private).stdout.strip()


def pings(pid, addresses, count=3):
    """{address: answered?} from the laptop's own namespace, pinging each up to `count` times (1 s apart)."""
    return {a: lab.run(pid, ["ping", "-n", "-q", "-c", "1", "-w", str(count), a], check=False).returncode == 0
            for a in addresses}


def workloads(ledger_networks, netid):
    """verify.yml's workload addresses (::10 and .10) of every member of a network, from the ledger."""
    found = []
    for node, resource in ledger_networks[netid]["resources"].items():
        if node.startswith("@"):
            continue
        found.append(str(ipaddress.ip_network(resource["prefix"])[0x10]))
        found.append(str(ipaddress.ip_network(resource["ipv4"])[10]))
    return found


def test_an_access_peer_brings_up_its_written_configuration_with_wg_quick_and_reaches_only_its_network(
        new_lab, tmp_path):
    farm = new_lab("gridnet-access")
    with open(os.path.join(ROOT, "playbooks", "lab", "topology.yml")) as handle:
        default = yaml.safe_load(handle)  # tests/lab/conftest.py's Lab reads the same file
    farm.topology = default["gridnet_lab_topology"]
    farm.topology["segments"]["cafe"] = CAFE
    farm.networks = default["gridnet_lab_networks"]
    farm.playbook("lab/up.yml", inventory=False)
    laptop = farm.pids()["laptop"]
    alice_key, alice_public = keypair(laptop, str(tmp_path), "alice")
    bob_key, bob_public = keypair(laptop, str(tmp_path), "bob")
    acme, globex = farm.networks
    acme["access"] = [{"name": "alice", "public_key": alice_public, "node": "dc1", "private_key_file": alice_key}]
    globex["routing"] = "babel"  # bob's network routes by Babel: gw announces bob's addresses
    globex["access"] = [{"name": "bob", "public_key": bob_public, "node": "gw", "private_key_file": bob_key}]

    written = os.path.join(str(tmp_path), "access")
    predicted = farm.playbook("site.yml", "--check", "--diff", "-e", "gridnet_tenant_access_dir=" + written)
    assert "PublicKey = " in predicted.stdout and not os.path.exists(written)  # shown, not written
    first = farm.playbook("site.yml", "-e", "gridnet_tenant_access_qr=true", "-e", "gridnet_tenant_access_dir=" + written)
    again = farm.playbook("site.yml", "-e", "gridnet_tenant_access_qr=true", "-e", "gridnet_tenant_access_dir=" + written)
    assert all(n == 0 for n in again.changed.values()), again.stdout[-3000:]
    farm.playbook("verify.yml")  # the mesh is green with access links in it, and its workloads stay

    alice_conf = os.path.join(written, "alice", net_tag("acme") + ".conf")
    bob_conf = os.path.join(written, "bob", net_tag("globex") + ".conf")
    for path, private in ((alice_conf, alice_key), (bob_conf, bob_key)):
        text = open(path).read()
        assert "PrivateKey" not in text and open(private).read().strip() not in text
        assert open(private).read().strip() not in first.stdout + again.stdout
    assert "Endpoint = [2001:db8:10::10]:" in open(alice_conf).read()  # dc1's underlay
    with open(alice_conf, "rb") as text, open(alice_conf[:-len(".conf")] + ".png", "rb") as code:
        qr = subprocess.run(["qrencode", "-t", "PNG", "-o", "-"], input=text.read(), capture_output=True, check=True)
        assert code.read() == qr.stdout  # the configuration's own text, for a phone to scan

    plan = lab_ledger(farm)
    env = dict(os.environ, WG_QUICK_USERSPACE_IMPLEMENTATION="wireguard-go", WG_HIDE_KEYS="always")
    up = lab.run(laptop, ["wg-quick", "up", alice_conf], env=env, check=False)
    assert up.returncode == 0, up.stderr
    own = workloads(plan, "acme")
    answered = pings(laptop, own)
    assert all(answered.values()), answered  # every member's workload, over IPv6 and IPv4, home1 behind NAT too

    # the other network's workloads, sent into the tunnel on purpose: dc1 has no way to them
    ifname = net_tag("acme")
    other = workloads(plan, "globex")
    blocks = [plan["globex"]["block"], "10.70.0.0/16"]
    lab.run(laptop, ["wg", "set", ifname, "peer", re.search(r"PublicKey = (\S+)", open(alice_conf).read()).group(1),
                     "allowed-ips", ",".join([plan["acme"]["block"], "10.60.0.0/16"] + blocks)])
    for block in blocks:
        lab.run(laptop, ["ip", "route", "add", block, "dev", ifname])
    assert not any(pings(laptop, other, count=2).values())

    lab.run(laptop, ["wg-quick", "down", alice_conf], env=env)
    up = lab.run(laptop, ["wg-quick", "up", bob_conf], env=env, check=False)
    assert up.returncode == 0, up.stderr
    answered = pings(laptop, other)
    assert all(answered.values()), answered
    lab.run(laptop, ["wg-quick", "down", bob_conf], env=env)

    # removed from the inventory: its link goes from dc1, its configuration stays with its owner
    acme["access"] = []
    farm.playbook("site.yml")
    links = farm.module("dc1", "network_resource_info")["resources"]
    assert not any(link["peer"]["public_key"] == alice_public for r in links for link in r["wireguard"].values()
                   if link.get("peer")), links


def lab_ledger(farm):
    """The ledger's networks, decrypted with the lab's vault secret as the playbooks read it."""
    with open(farm.env["ANSIBLE_VAULT_PASSWORD_FILE"], "rb") as handle:
        vault = VaultLib([("default", VaultSecret(handle.read().strip()))])
    return ledger_file.read(os.path.join(farm.inventory, "group_vars", "all", "gridnet_tenant_ledger.vault"),
                            vault)["networks"]
