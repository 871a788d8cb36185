"""The default lab converged and verified with its ledger in a real three-member etcd cluster."""

import os
import shutil
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from etcd_cluster import EtcdCluster  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.skipif(shutil.which("etcd") is None, reason="needs etcd-server (make setup installs it)")


def test_the_default_lab_on_the_etcd_ledger(new_lab, tmp_path):
    etcd_dir = str(tmp_path / "etcd")
    os.makedirs(etcd_dir)
    cluster = EtcdCluster(etcd_dir).start()
    try:
        farm = new_lab("gridnet-etcd")
        farm.playbook("lab/up.yml", inventory=False)
        os.makedirs(os.path.join(farm.inventory, "group_vars", "all"), exist_ok=True)
        with open(os.path.join(farm.inventory, "group_vars", "all", "ledger.yml"), "w") as handle:
            yaml.safe_dump({"gridnet_tenant_ledger_backend": "etcd",
                            "gridnet_tenant_ledger_etcd": {"endpoints": cluster.endpoints, "prefix": farm.name}},
                           handle)
        first = farm.playbook("site.yml")
        assert sum(first.changed.values()) > 0
        assert farm.playbook("site.yml").changed == {h: 0 for h in first.changed}
        verified = farm.playbook("verify.yml")
        assert "as expected" in verified.stdout and "wrong" not in verified.stdout
        assert not os.path.exists(os.path.join(farm.inventory, "group_vars", "all", "gridnet_tenant_ledger.vault"))
        stored = cluster.raw("/" + farm.name)
        assert stored and all(value.startswith(b"$ANSIBLE_VAULT;") for _key, value in stored)
        # without a quorum the run stops at the ledger, before any node is touched (no key task runs)
        cluster.kill(0)
        cluster.kill(1)
        stopped = farm.playbook("site.yml", check=False)
        assert stopped.returncode != 0 and "no endpoint could serve" in stopped.stdout
        assert "Make this node's WireGuard keys" not in stopped.stdout
        assert set(stopped.changed.values()) == {0}
    finally:
        cluster.stop()
