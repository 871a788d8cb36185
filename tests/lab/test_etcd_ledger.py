"""The default lab converged and verified with its ledger in a real three-member etcd cluster; run as one job,
then as concurrent slices (what AWX job slicing does), then without a quorum."""

import os
import shutil
import sys
import threading
import time

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from etcd_cluster import EtcdCluster  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger.ledger_etcd import EtcdStore  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLICES = 4
REPEATS = int(os.environ.get("GRIDNET_SLICED_REPEATS", "1"))  # fresh ledgers in each order (CI: 1)

pytestmark = pytest.mark.skipif(shutil.which("etcd") is None, reason="needs etcd-server (make setup installs it)")


@pytest.fixture(scope="module")
def etcd_lab(new_lab, tmp_path_factory):
    cluster = EtcdCluster(str(tmp_path_factory.mktemp("etcd"))).start()
    try:
        farm = new_lab("gridnet-etcd")
        farm.playbook("lab/up.yml", inventory=False)
        os.makedirs(os.path.join(farm.inventory, "group_vars", "all"), exist_ok=True)
        yield farm, cluster
    finally:
        cluster.stop()


def use_ledger(farm, cluster, prefix):
    with open(os.path.join(farm.inventory, "group_vars", "all", "ledger.yml"), "w") as handle:
        yaml.safe_dump({"gridnet_tenant_ledger_backend": "etcd",
                        "gridnet_tenant_ledger_etcd": {"endpoints": cluster.endpoints, "prefix": prefix}}, handle)


def stored(cluster, prefix):
    with open(os.path.join(ROOT, "playbooks", "lab", "vault-password"), "rb") as handle:
        vault = VaultLib([("default", VaultSecret(handle.read().strip()))])
    store = EtcdStore({"endpoints": cluster.endpoints, "prefix": prefix}, vault)
    with store.locked(check=True):
        return store.read()


LEDGER_TASKS = {"Record the public keys of this run's hosts",
                "gridnet.tenant.netresource : Plan every tenant network once, from the inventory and the ledger "
                "(recording what is handed out)"}


def changed_tasks(result):
    """The names of the tasks that reported a change in result's output."""
    names, task = set(), None
    for line in result.stdout.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):line.rindex("]")]
        elif line.startswith("changed: [") and task:
            names.add(task)
    return names


def sliced(farm, path, reverse=False):
    """path run as SLICES concurrent jobs, each limited to its slice of the hosts (round robin, as AWX cuts
    them), started one after another in slice order or reversed. Returns [(slice, result)]."""
    hosts = sorted(farm.pids())
    slices = [hosts[i::SLICES] for i in range(SLICES)]
    results = [None] * SLICES

    def run(index):
        results[index] = farm.playbook(path, "--limit", ",".join(slices[index]))
    threads = [threading.Thread(target=run, args=(i,)) for i in range(SLICES)]
    for thread in (reversed(threads) if reverse else threads):
        thread.start()
        time.sleep(0.5)
    for thread in threads:
        thread.join()
    return list(zip(slices, results))


def test_the_default_lab_on_the_etcd_ledger(etcd_lab):
    farm, cluster = etcd_lab
    use_ledger(farm, cluster, farm.name)
    first = farm.playbook("site.yml")
    assert sum(first.changed.values()) > 0
    assert farm.playbook("site.yml").changed == {h: 0 for h in first.changed}
    verified = farm.playbook("verify.yml")
    assert "as expected" in verified.stdout and "wrong" not in verified.stdout
    assert not os.path.exists(os.path.join(farm.inventory, "group_vars", "all", "gridnet_tenant_ledger.vault"))
    raw = cluster.raw("/" + farm.name)
    assert raw and all(value.startswith(b"$ANSIBLE_VAULT;") for _key, value in raw)


def test_sliced_runs_over_a_fresh_ledger_record_exactly_what_one_run_recorded(etcd_lab):
    """The lab built by one run (above); then, for each of two fresh ledgers, the keys playbook and the site
    playbook as 4 concurrent slices (in slice order, then reversed): the same ledger as the one run's, so the
    same plan, so nothing changes on any node; each slice touches only its hosts."""
    farm, cluster = etcd_lab
    single = stored(cluster, farm.name)
    for prefix, reverse in [("%s-%s-%d" % (farm.name, order, i), order == "reversed")
                            for i in range(REPEATS) for order in ("sliced", "reversed")]:
        use_ledger(farm, cluster, prefix)
        started = time.monotonic()
        for path in ("keys.yml", "site.yml"):
            for hosts, result in sliced(farm, path, reverse):
                assert set(result.changed) <= set(hosts), (hosts, result.changed)
                # the nodes are built already: what a slice may change is the fresh ledger (a record, once)
                assert changed_tasks(result) <= LEDGER_TASKS, (path, hosts, changed_tasks(result))
        assert stored(cluster, prefix) == single
        print("4 slices%s over a fresh etcd ledger: keys then site in %.1f s; the ledger identical to one run's "
              "(%d networks, %d resources, %d ports), nothing changed on any node"
              % (" started in reverse" if reverse else "", time.monotonic() - started, len(single["networks"]),
                 sum(len(n["resources"]) for n in single["networks"].values()),
                 sum(len(p) for n in single["ports"].values() for p in n.values())))
    for hosts, result in sliced(farm, "site.yml"):
        assert set(result.changed.values()) <= {0}, (hosts, result.stdout[-3000:])
    verified = farm.playbook("verify.yml")
    assert "as expected" in verified.stdout and "wrong" not in verified.stdout


def test_without_a_quorum_the_run_stops_at_the_ledger_before_any_node_is_touched(etcd_lab):
    farm, cluster = etcd_lab
    use_ledger(farm, cluster, farm.name)
    cluster.kill(0)
    cluster.kill(1)
    stopped = farm.playbook("site.yml", check=False)
    assert stopped.returncode != 0 and "no endpoint could serve" in stopped.stdout
    assert "Make this node's WireGuard keys" not in stopped.stdout
    assert set(stopped.changed.values()) == {0}
