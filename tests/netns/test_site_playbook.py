"""playbooks/site.yml on lab nodes: keys, mesh, exit and upstream router roles together."""

import os
import re
import subprocess
import sys

import yaml

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import labtools  # tests/support

from farm import COLLECTIONS, ROOT  # tests/support, put on the path by conftest
from test_exit_gateway import EXIT4, EXIT6, INET4, INET6


def inventory(farm):
    hosts = {}
    for name, pid in farm.pids.items():
        hosts[name] = {"ansible_connection": "community.docker.nsenter", "ansible_nsenter_pid": pid,
                       "ansible_python_interpreter": sys.executable}
        if name in farm.underlay:
            hosts[name]["gridnet_tenant_underlay"] = farm.underlay[name]
    hosts["gw"]["gridnet_tenant_exit"] = {
        "allocation": "2001:db8:100::/40", "network_prefixlen": 48,
        "uplink": {"parent": "uplink0", "ipv6_gateway": "2001:db8:ff::1", "ipv4_gateway": "203.0.113.1"}}
    return {"all": {
        "hosts": {n: v for n, v in hosts.items() if n != "router"},
        "children": {"gridnet_tenant_upstream_routers": {"hosts": {"router": hosts["router"]}}},
        "vars": {"gridnet_tenant_networks": [{
            "netid": "net1", "members": ["gw", "b"], "ipv4_range": "10.60.0.0/16",
            "exit": {"node": "gw", "ipv6": EXIT6 + "/64", "ipv4": EXIT4 + "/24"}}]}}}


def run_site(tmp_path, farm, *extra):
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory(farm)))
    (tmp_path / "vault-password").write_text("site-test\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", PYTHONPATH="", ANSIBLE_VAULT_PASSWORD_FILE=str(tmp_path / "vault-password"))
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                             str(tmp_path / "hosts.yml"), os.path.join(ROOT, "playbooks", "site.yml")] + list(extra),
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M)}


def test_site_renders_mesh_exit_and_upstream_routes_idempotently(farm, tmp_path):
    farm.node("gw", ipv6="2001:db8:1::1", reachable=True)
    farm.node("b", ipv6="2001:db8:1::2", reachable=True)
    farm.cable("gw", "b", "2001:db8:1::")
    farm.outside("gw")

    first = run_site(tmp_path, farm)
    # keys everywhere; then each host's whole state in one call (resource and node agent, the exit
    # on gw, the route on the router); the ledger recorded once (run_once: on b, the play's first host)
    assert first == {"gw": 2, "b": 3, "router": 1, "inet": 0}, first  # key, node / ledger
    ledger = (tmp_path / "group_vars" / "all" / "gridnet_tenant_ledger.vault").read_text()
    assert ledger.startswith("$ANSIBLE_VAULT;") and "net1" not in ledger and "2001:db8" not in ledger
    second = run_site(tmp_path, farm)
    assert set(second.values()) == {0}, "second converge must report changed=0: %s" % second

    ns = [line.split()[0] for line in lab.run(farm.pids["b"], ["ip", "netns", "list"]).stdout.splitlines()][0]
    bridge = "gtb-" + ns[3:]
    prefix = lab.run(farm.pids["b"], ["ip", "-n", ns, "-6", "-o", "addr", "show", "scope", "global"]).stdout.split()[3]
    subnet = lab.run(farm.pids["b"], ["ip", "-n", ns, "-4", "-o", "addr"]).stdout.split()[3]
    wl6 = prefix.replace("::1/64", "::10")
    wl4 = subnet.rsplit(".", 1)[0] + ".10"
    labtools.attach_workload(farm.pids["b"], "wl", bridge, 1420, [wl6 + "/64", wl4 + "/24"],
                             [prefix.split("/")[0], subnet.split("/")[0]])
    echo = labtools.serve_source_echo(farm.pids["inet"], None, ["udp:9000"])
    try:
        assert labtools.ping(farm.pids["b"], "wl", INET6, deadline=10)
        assert labtools.probe(farm.pids["b"], "wl", "udp", INET6, 9000) == wl6
        assert labtools.probe(farm.pids["b"], "wl", "udp", INET4, 9000) == EXIT4
    finally:
        echo.kill()


def test_a_ledger_that_could_not_be_written_stops_the_run_before_any_key_is_made(farm, tmp_path):
    """No vault secret and no clear text asked: the ledger's write at the end would be refused, so nothing starts."""
    farm.node("gw", ipv6="2001:db8:1::1", reachable=True)
    farm.node("b", ipv6="2001:db8:1::2", reachable=True)
    farm.cable("gw", "b", "2001:db8:1::")
    farm.outside("gw")
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory(farm)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", PYTHONPATH="")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                             str(tmp_path / "hosts.yml"), os.path.join(ROOT, "playbooks", "site.yml")],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode != 0 and "no vault secret is configured" in result.stdout, result.stdout[-3000:]
    for node in ("gw", "b"):  # no key, record or agent on any node
        assert lab.run(farm.pids[node], ["ls", "-A", "/var/lib"]).stdout.strip() == "", node
