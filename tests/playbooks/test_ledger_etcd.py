"""The shared ledger on a real three-member etcd cluster, through real ansible-playbook runs."""

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from etcd_cluster import EtcdCluster, make_certificates  # noqa: E402  pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
VAULT = os.path.join(ROOT, "playbooks", "lab", "vault-password")
STEP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ledger_step.yml")
NODES = ("dc0", "dc1", "gw1")
ROUNDS = 12  # round r plans r + 1 networks on each side: the runs overlap more and more

pytestmark = pytest.mark.skipif(shutil.which("etcd") is None, reason="needs etcd-server (make setup installs it)")


@pytest.fixture
def etcd(tmp_path):
    os.makedirs(str(tmp_path / "etcd"))
    cluster = EtcdCluster(str(tmp_path / "etcd")).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def key(node, netid):
    return base64.b64encode(hashlib.sha256(("%s/%s" % (node, netid)).encode()).digest()).decode()


def controller(directory, cluster, netids, prefix="farm1", lock_ttl=30, port_range=(50000, 50099), **settings):
    """An inventory directory: three nodes in every network of netids, the ledger in etcd under prefix
    (settings: more of gridnet_tenant_ledger_etcd)."""
    hosts = {
        "dc0": {"gridnet_tenant_underlay": {"ipv6": "2001:db8:1::10", "port_range": list(port_range)}},
        "dc1": {"gridnet_tenant_underlay": {"ipv6": "2001:db8:1::11", "port_range": list(port_range)}},
        "gw1": {"gridnet_tenant_underlay": {"ipv6": "2001:db8:1::1", "port_range": list(port_range)},
                "gridnet_tenant_exit": {"allocation": "2001:db8:100::/40", "network_prefixlen": 48,
                                        "uplink": {"parent": "eth1", "ipv6_gateway": "2001:db8:ff::1"}}},
    }
    for node in NODES:
        hosts[node]["gridnet_tenant_public_keys"] = {n: key(node, n) for n in netids}
    networks = [{"netid": n, "members": list(NODES), "exit": {"node": "gw1", "ipv6": "2001:db8:ff::10/64"}}
                for n in netids]
    os.makedirs(directory, exist_ok=True)
    inventory = {"all": {"hosts": hosts, "vars": {
        "gridnet_tenant_networks": networks, "gridnet_tenant_ledger_backend": "etcd",
        "gridnet_tenant_ledger_etcd": dict(settings, endpoints=cluster.endpoints, prefix=prefix,
                                           lock_ttl=lock_ttl)}}}
    with open(os.path.join(directory, "hosts.yml"), "w") as handle:
        yaml.safe_dump(inventory, handle)
    return directory


def playbook(inventory, path, *extra, **popen):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_VAULT_PASSWORD_FILE=VAULT)
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, path] + list(extra)
    if popen:
        return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, **popen)
    return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)


def step(inventory, out):
    """The plan step of site.yml (the ledger, then the kept plan written to out)."""
    return playbook(inventory, STEP, "-e", "gridnet_test_plan_out=%s" % out)


def handed_out(plan_file):
    """{(netid, what): value} of one run's compact plan: blocks, VXLAN ids, prefixes, listen ports."""
    plan = json.load(open(plan_file))
    values = {}
    for net in plan["networks"]:
        values[(net["netid"], "block")] = net["block"]
        values[(net["netid"], "vni")] = net["vni"]
        for node, prefix in net["prefixes"].items():
            values[(net["netid"], node)] = prefix
            ports = bytes.fromhex(net["ports"][node])
            for i, peer in enumerate(net["members"]):
                port = int.from_bytes(ports[2 * i:2 * i + 2], "big")
                if port:
                    values[(net["netid"], node + ">" + peer)] = port
    return values


def test_two_controllers_planning_concurrently_never_share_or_renumber_a_value(etcd, tmp_path):
    seen = {}
    for round_number in range(ROUNDS):
        runs = []
        for side in ("a", "b"):
            inventory = controller(str(tmp_path / side), etcd, ["%s%d" % (side, i) for i in range(round_number + 1)])
            out = str(tmp_path / ("%s-%d.json" % (side, round_number)))
            runs.append((playbook(inventory, STEP, "-e", "gridnet_test_plan_out=%s" % out, start_new_session=True),
                         out))
        for process, out in runs:
            output = process.communicate(timeout=300)[0]
            assert process.returncode == 0, output
            for name, value in handed_out(out).items():
                assert seen.setdefault(name, value) == value, "renumbered %s: %s -> %s" % (name, seen[name], value)
    by_kind = {}
    for (netid, what), value in seen.items():
        kind = "port " + what.split(">")[0] if ">" in what else what if what in ("block", "vni") else "prefix"
        by_kind.setdefault(kind, []).append(value)
    for kind, values in sorted(by_kind.items()):
        assert len(values) == len(set(values)), "duplicate %s" % kind
    print("%d rounds, 2 controllers: %d networks, %d values handed out, 0 duplicates, 0 renumbered"
          % (ROUNDS, len({n for n, _w in seen}), len(seen)))


def test_every_value_in_etcd_is_vault_ciphertext_and_migrate_then_export_round_trips(etcd, tmp_path):
    netids = ["secretnet"]
    inventory = controller(str(tmp_path / "c"), etcd, netids)
    ledger_file = os.path.join(inventory, "group_vars", "all", "gridnet_tenant_ledger.vault")
    os.makedirs(os.path.dirname(ledger_file))
    # a file ledger first (the file back end), then moved into etcd
    with open(os.path.join(inventory, "group_vars", "all", "file.yml"), "w") as handle:
        yaml.safe_dump({"gridnet_tenant_ledger_backend": "file"}, handle)
    result = step(inventory, str(tmp_path / "file.json"))
    assert result.returncode == 0, result.stdout
    os.unlink(os.path.join(inventory, "group_vars", "all", "file.yml"))
    result = playbook(inventory, os.path.join(ROOT, "playbooks", "ledger.yml"), "-e", "gridnet_tenant_ledger_action=migrate")
    assert result.returncode == 0, result.stdout
    raw = etcd.raw()
    assert raw, "nothing was written to etcd"
    plan = json.load(open(str(tmp_path / "file.json")))
    secrets = ["secretnet", plan["networks"][0]["block"].split("::")[0]] + \
        list(plan["networks"][0]["prefixes"].values()) + [key(n, "secretnet") for n in NODES]
    for name, value in raw:
        assert value.startswith(b"$ANSIBLE_VAULT;"), name
        for secret in secrets:
            assert secret.encode() not in name and secret.encode() not in value
    print("%d keys in etcd, every value vault ciphertext, 0 of %d secrets found" % (len(raw), len(secrets)))
    # the etcd ledger serves a plan step: nothing is renumbered
    result = step(inventory, str(tmp_path / "etcd.json"))
    assert result.returncode == 0, result.stdout
    assert handed_out(str(tmp_path / "etcd.json")) == handed_out(str(tmp_path / "file.json"))
    # and exported back to a file: the same content
    from ansible.parsing.vault import VaultLib, VaultSecret
    from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger_file as files
    vault = VaultLib([("default", VaultSecret(open(VAULT, "rb").read().strip()))])
    before = files.read(ledger_file, vault)
    exported = os.path.join(str(tmp_path), "exported.vault")
    result = playbook(inventory, os.path.join(ROOT, "playbooks", "ledger.yml"), "-e",
                      "gridnet_tenant_ledger_action=export", "-e", "gridnet_tenant_ledger_path=%s" % exported)
    assert result.returncode == 0, result.stdout
    assert open(exported, "rb").read().startswith(b"$ANSIBLE_VAULT;")
    assert files.read(exported, vault) == before


def test_one_member_killed_mid_run_the_run_completes_two_down_it_fails_naming_the_endpoints(etcd, tmp_path):
    inventory = controller(str(tmp_path / "c"), etcd, ["n%d" % i for i in range(200)],  # a run of seconds
                           port_range=(40000, 60000))
    run = playbook(inventory, STEP, "-e", "gridnet_test_plan_out=%s" % (tmp_path / "1.json"), start_new_session=True)
    deadline = time.monotonic() + 60
    while not any(name == b"/farm1/k" for name, _value in etcd.raw()):  # the run holds the lock: mid-run
        assert time.monotonic() < deadline and run.poll() is None, "the run never took the lock"
        time.sleep(0.05)
    etcd.kill(0)  # the member it talks to first
    output = run.communicate(timeout=300)[0]
    assert run.returncode == 0, output
    assert len(json.load(open(str(tmp_path / "1.json")))["networks"]) == 200
    etcd.kill(1)
    started = time.monotonic()
    result = step(inventory, str(tmp_path / "2.json"))
    assert result.returncode != 0
    assert "no endpoint could serve" in result.stdout and all(e in result.stdout for e in etcd.endpoints), \
        result.stdout
    assert not os.path.exists(str(tmp_path / "2.json"))  # the play stopped at the ledger
    print("one member killed mid-run: completed; two of three down: failed after %.1f s"
          % (time.monotonic() - started))


def test_a_controller_killed_holding_the_lock_blocks_the_next_run_for_at_most_the_ttl(etcd, tmp_path):
    ttl = 5
    inventory = controller(str(tmp_path / "c"), etcd, ["n1"], lock_ttl=ttl)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, json.dumps(etcd.endpoints), VAULT],
                              stdout=subprocess.PIPE, text=True, start_new_session=True,
                              env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".build", "collections")))
    assert holder.stdout.readline().strip() == "locked"
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait()
    killed = time.monotonic()
    result = step(inventory, str(tmp_path / "after.json"))
    waited = time.monotonic() - killed
    assert result.returncode == 0, result.stdout
    assert waited < ttl + 15, waited
    print("lock held by a SIGKILLed controller (TTL %d s): the next run completed %.1f s later" % (ttl, waited))


def test_over_tls_with_a_client_certificate_and_refused_without_one(tmp_path):
    certificates = str(tmp_path / "certificates")
    os.makedirs(certificates)
    paths = make_certificates(certificates)
    os.makedirs(str(tmp_path / "etcd"))
    cluster = EtcdCluster(str(tmp_path / "etcd"), size=1, tls=paths).start()
    try:
        inventory = controller(str(tmp_path / "c"), cluster, ["n1"], ca=paths["ca"], cert=paths["client_cert"],
                               key=paths["client_key"])
        result = step(inventory, str(tmp_path / "tls.json"))
        assert result.returncode == 0, result.stdout
        assert cluster.raw() and cluster.endpoints[0].startswith("https://")
        refused = controller(str(tmp_path / "d"), cluster, ["n1"], ca=paths["ca"])  # no client certificate
        result = step(refused, str(tmp_path / "refused.json"))
        assert result.returncode != 0 and "no endpoint could serve" in result.stdout, result.stdout
    finally:
        cluster.stop()


def test_with_etcd_users_a_wrong_password_is_refused_by_name(etcd, tmp_path):
    env = dict(os.environ, ETCDCTL_API="3")
    for argv in (["user", "add", "root", "--new-user-password=rootpw"], ["auth", "enable"],
                 ["--user", "root:rootpw", "user", "add", "gridnet", "--new-user-password=s3cret"],
                 ["--user", "root:rootpw", "role", "add", "gridnet-farm1"],
                 ["--user", "root:rootpw", "role", "grant-permission", "gridnet-farm1", "--prefix=true", "readwrite",
                  "/farm1"],
                 ["--user", "root:rootpw", "user", "grant-role", "gridnet", "gridnet-farm1"]):
        subprocess.run(etcd.etcdctl(*argv), capture_output=True, check=True, env=env)
    inventory = controller(str(tmp_path / "c"), etcd, ["n1"], user="gridnet", password="s3cret")
    result = step(inventory, str(tmp_path / "ok.json"))
    assert result.returncode == 0, result.stdout
    inventory = controller(str(tmp_path / "d"), etcd, ["n1"], user="gridnet", password="wrong")
    result = step(inventory, str(tmp_path / "wrong.json"))
    assert result.returncode != 0 and "authentication failed" in result.stdout, result.stdout


HOLD_LOCK = """
import json, sys, time
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger.ledger_etcd import EtcdStore
vault = VaultLib([("default", VaultSecret(open(sys.argv[2], "rb").read().strip()))])
store = EtcdStore({"endpoints": json.loads(sys.argv[1]), "prefix": "farm1", "lock_ttl": 5}, vault)
with store.locked():
    print("locked", flush=True)
    time.sleep(3600)
"""
