"""The plan as Ansible computes it: real ansible-playbook runs on the example inventory."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = os.path.join(ROOT, "docs", "examples", "inventory")
BIN = os.path.dirname(sys.executable)


def run_plan(out_dir, *extra, inventory=INVENTORY):
    env = dict(os.environ,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", inventory, os.path.join(ROOT, "playbooks", "plan.yml"),
         "-e", "gridnet_tenant_plan_dir=%s" % out_dir] + list(extra),
        capture_output=True, text=True, env=env, cwd=ROOT, check=False)


def read_plans(directory):
    return {name[:-5]: json.load(open(os.path.join(directory, name))) for name in os.listdir(directory)}


def test_limit_to_one_host_gives_it_the_full_run_configuration(tmp_path):
    full, limited = tmp_path / "full", tmp_path / "limited"
    full.mkdir()
    limited.mkdir()
    assert run_plan(full).returncode == 0
    result = run_plan(limited, "--limit", "home1")
    assert result.returncode == 0, result.stdout + result.stderr
    full_plans, limited_plans = read_plans(full), read_plans(limited)
    assert set(limited_plans) == {"home1"}
    assert limited_plans["home1"] == full_plans["home1"]
    assert len(full_plans) == 7
    # home1 is in both networks and keeps every peer of each: IPv4-only behind NAT, it links to the
    # dual-stack nodes, to home2 through the exit's UDP relay, and reaches the IPv6-only rack through a relay
    resources = {r["netid"]: r for r in limited_plans["home1"]["resources"]}
    assert {c["peer"] for c in resources["acme"]["connected"]} == {"dc1", "dc2", "gw1", "home2"}
    assert {c["peer"] for c in resources["6f1c2d3e-globex"]["connected"]} == {"dc1", "gw1"}
    rack_prefixes = {full_plans[n]["resources"][0]["prefix"] for n in ("rack1", "rack2")}
    assert rack_prefixes <= {r["dst"] for r in resources["acme"]["routes"]}


def test_bad_inventory_fails_naming_the_item_and_writes_nothing(tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(INVENTORY, inventory)
    hosts = yaml.safe_load(open(inventory / "hosts.yml"))
    hosts["all"]["vars"]["gridnet_tenant_networks"][0]["members"].append("ghost")
    yaml.safe_dump(hosts, open(inventory / "hosts.yml", "w"))
    out = tmp_path / "out"
    out.mkdir()
    result = run_plan(out, inventory=str(inventory))
    assert result.returncode != 0
    assert "member 'ghost' is neither a host nor a group" in result.stdout + result.stderr
    assert os.listdir(out) == []


def _plugins():
    """Every filter (one YAML doc each), module and role the collection ships."""
    found = [("filter", os.path.splitext(f)[0]) for f in os.listdir(os.path.join(ROOT, "plugins", "filter"))
             if f.endswith(".yml")]
    found += [("module", os.path.splitext(f)[0]) for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
              if f.endswith(".py") and not f.startswith("_")]
    found += [("role", r) for r in os.listdir(os.path.join(ROOT, "roles"))]
    return sorted(found)


@pytest.mark.parametrize("kind,name", _plugins())
def test_every_plugin_is_documented(kind, name):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"))
    result = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", kind, "gridnet.tenant." + name],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0 and "ERROR" not in result.stderr, result.stderr
    if kind != "role":
        assert "EXAMPLES" in result.stdout and "RETURN" in result.stdout
