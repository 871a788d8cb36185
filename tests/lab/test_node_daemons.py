"""Daemons that survive: a killed wireguard-go and a rebooted node come back with no Ansible run.

The node agent (installed by the site playbook) is what brings them back; the
lab's reboot kills the node's anchor (every process, namespace and /run of it)
and boots a new one that keeps the node's /var/lib, as a real node keeps its disk.
"""

import json
import os
import time

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import figures  # tests/support
from labtools import attach, first_answer, recorded  # tests/support


@pytest.fixture(scope="module")
def daemons_lab(new_lab):
    farm = new_lab("gridnet-daemons")
    farm.playbook("lab/up.yml", inventory=False)
    farm.playbook("site.yml")
    return farm


def uptime_at_start(pid):
    """Seconds since boot at which process `pid` started (field 22 of /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def test_a_killed_wireguard_go_is_restored_without_ansible(daemons_lab):
    farm = daemons_lab
    source, _unused = attach(farm, "dc1")
    _unused, target = attach(farm, "dc2")
    first_answer(farm, "dc1", source, target)
    link = next(c for c in recorded(farm, "dc1")["connected"] if c["peer"] == "dc2")["interface"]
    before = farm.snapshot(["dc1"])
    pid = farm.pids()["dc1"]
    daemon = lab.run(pid, ["pgrep", "-x", "-f", "wireguard-go " + link]).stdout.split()
    assert len(daemon) == 1, daemon

    lab.run(pid, ["kill", "-KILL", daemon[0]])
    killed = time.monotonic()
    assert lab.run(pid, ["pgrep", "-x", "-f", "wireguard-go " + link], check=False).stdout.split() != daemon
    back = first_answer(farm, "dc1", source, target)
    figures.report("wireguard-go of %s SIGKILLed on dc1: traffic back after %.2f s, with no Ansible run"
                   % (link, back - killed))
    assert back - killed < 15
    after = farm.snapshot(["dc1"])
    for place, state in before.items():  # same names, ports and peers; only the handshake is new
        assert {n: v[:2] for n, v in after[place]["links"].items()} == {n: v[:2] for n, v in state["links"].items()}
        assert after[place]["routes"] == state["routes"] and after[place]["addresses"] == state["addresses"]
    restarted = lab.run(pid, ["pgrep", "-x", "-f", "wireguard-go " + link]).stdout.split()
    assert restarted and restarted != daemon


def test_a_rebooted_node_comes_back_by_itself(daemons_lab):
    farm = daemons_lab
    key = farm.module("home1", "wireguard_key", netid="acme")["public_key"]
    before = farm.snapshot(["home1"])
    old_pid = farm.pids()["home1"]

    farm.playbook("lab/up.yml", "-e", json.dumps({"gridnet_lab_reboot": ["home1"]}), inventory=False)
    new_pid = farm.pids()["home1"]
    assert new_pid != old_pid and not os.path.exists("/proc/%d" % old_pid)
    started = uptime_at_start(new_pid)
    source, _unused = attach(farm, "home1")
    _unused, target = attach(farm, "dc1")
    first_answer(farm, "home1", source, target)
    with open("/proc/uptime") as handle:
        now_uptime = float(handle.read().split()[0])
    figures.report("home1 rebooted: first ping answered %.2f s after its new anchor started, with no Ansible run"
                   % (now_uptime - started))

    after = farm.snapshot(["home1"])
    assert set(after) == set(before)  # the same namespaces
    for place, state in before.items():
        assert after[place]["addresses"] == state["addresses"] and after[place]["routes"] == state["routes"]
        assert {n: v[:2] for n, v in after[place]["links"].items()} == {n: v[:2] for n, v in state["links"].items()}
    assert farm.module("home1", "wireguard_key", netid="acme")["public_key"] == key
    verified = farm.playbook("verify.yml")
    assert "353 probes, 353 as expected" in verified.stdout
    again = farm.playbook("site.yml").changed
    assert again and all(count == 0 for count in again.values()), again
