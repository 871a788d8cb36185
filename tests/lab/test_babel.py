"""The default lab with routing: babel (acme a full mesh, globex hub-and-spoke): green, idempotent, no static
route, healing when links are cut.

Links are cut in the underlay (the lab's cut: UDP dropped in a node's own
namespace) while a workload pings another ten times a second; the outage is
the longest run of unanswered pings.
"""

import json
import re
import threading
import time

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab
from ansible_collections.gridnet.tenant.plugins.module_utils.node import babel

import figures  # tests/support
from labtools import attach, babel_view, first_answer, installed_via, link_to, recorded  # tests/support

INTERVAL = 0.1


@pytest.fixture(scope="module")
def babel_lab(new_lab):
    farm = new_lab("gridnet-babel")
    # acme a full mesh, globex hub-and-spoke through gw and dc1: both on Babel
    hubs = {"topology": "hubs", "hubs": ["gw", "dc1"]}
    farm.networks = [dict(n, routing="babel", **(hubs if n["netid"] == "globex" else {})) for n in farm.networks]
    farm.playbook("lab/up.yml", inventory=False)
    first = farm.playbook("site.yml")
    return farm, first


def wait_for(condition, deadline, what):
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < deadline, "%s: not within %d s" % (what, deadline)
        time.sleep(0.5)
    return time.monotonic() - started


def cut(farm, pair, undo=False):
    farm.playbook("lab/up.yml", "-e", json.dumps({"gridnet_lab_mend" if undo else "gridnet_lab_cut": [pair]}),
                  inventory=False)


def test_the_default_lab_on_babel_is_green_idempotent_and_has_no_static_route(babel_lab):
    farm, first = babel_lab
    assert sum(first.changed.values()) > 0
    assert farm.playbook("site.yml").changed == {h: 0 for h in first.changed}
    verified = farm.playbook("verify.yml")
    assert "353 probes, 353 as expected" in verified.stdout, verified.stdout[-3000:]
    for node in ("dc1", "dc2", "gw", "home1", "home2", "rack1", "rack2"):
        for entry in farm.module(node, "network_resource_info")["resources"]:
            assert entry["routes"] == {}, (node, entry["routes"])  # no route of ours: babeld's only
            assert entry["babel"]["running"], node
            assert all(n["reach"] != "0000" for n in entry["babel"]["neighbours"])
            assert any(r["origin"] == "local" for r in entry["babel"]["routes"])
            for link in entry["wireguard"].values():
                assert sorted(link["peer"]["allowed_ips"]) == ["0.0.0.0/0", "::/0"]
    for spoke in ("home1", "rack2"):  # globex's spokes link to its hubs only
        assert {c["peer"] for c in recorded(farm, spoke, "globex")["connected"]} == {"gw", "dc1"}


def pinging(farm, node, name, address, seconds):
    """A thread pinging address from workload name every INTERVAL s; .result holds the replies' icmp_seq."""
    holder = threading.Thread(target=lambda: setattr(holder, "result", lab.run(
        farm.pids()[node], ["ip", "netns", "exec", name, "ping", "-n", "-i", str(INTERVAL), "-w", str(seconds),
                            address], check=False).stdout))
    holder.start()
    return holder


def over_direct_link(farm, source, target):
    """Workloads on source and target, and source's route to target over their direct link (babeld may take
    a while to prefer it again after an earlier cut): (source's workload, target's address, that link)."""
    name, _unused = attach(farm, source)
    _unused, address = attach(farm, target)
    first_answer(farm, source, name, address)
    direct = link_to(farm, source, target)
    wait_for(lambda: installed_via(farm, source, target) == direct, 90, "%s's route to %s over %s" % (
        source, target, direct))
    return name, address, direct


def outage(text):
    seqs = sorted(int(s) for s in re.findall(r"icmp_seq=(\d+)", text))
    assert seqs, "no ping was answered"
    return max([b - a - 1 for a, b in zip(seqs, seqs[1:])] + [0]) * INTERVAL


@pytest.mark.parametrize("source, target, pair, back", [
    ("dc1", "dc2", "dc1:dc2", True),     # the two workloads' direct link; back on it after the mend (~30 s)
    ("home1", "home2", "home1:gw", False),  # the relay (the exit) loses its link to one of two nodes behind NAT
])
def test_traffic_goes_around_a_cut_link_and_comes_back(babel_lab, source, target, pair, back):
    farm, _unused = babel_lab
    name, address, direct = over_direct_link(farm, source, target)
    ping = pinging(farm, source, name, address, 20)
    time.sleep(3)
    cut(farm, pair)
    time.sleep(10)
    around = installed_via(farm, source, target)
    cut(farm, pair, undo=True)
    ping.join()
    lost = outage(ping.result)
    if back:
        back = "; the direct path was back %.0f s after the mend" % wait_for(
            lambda: installed_via(farm, source, target) == direct, 90, "the direct path back")
    figures.report("babel, %s -> %s with link %s cut in the underlay: outage %.1f s (target < 5 s); while cut the "
                   "route went over %s%s" % (source, target, pair, lost, around, back or ""))
    assert around not in (None, direct)
    assert lost < 5


def test_a_killed_babeld_is_restarted_by_the_agent_as_a_new_source(babel_lab):
    """A babeld killed lost its sequence number, and may start behind what its neighbours saw: the test makes
    that certain with a state file 1000 behind, which babeld reads at its next start. The agent is held
    stopped until the neighbours have dropped the node's routes (as after a crash of the node); under its old
    router-id its neighbours would then hold its new routes for unfeasible (for babeld's source GC, 200 s).
    The agent starts it as a new incarnation, a new source its neighbours take at once."""
    farm, _unused = babel_lab
    own = recorded(farm, "dc1")
    pid = farm.pids()["dc1"]
    before = babel_view(farm, "dc1")["babel"]["router_id"]
    pid_file, log = babel.paths(own["namespace"])["pid"], babel.paths(own["namespace"])["log"]
    daemon = lab.run(pid, ["cat", pid_file]).stdout.strip()
    lab.run(pid, ["kill", "-USR1", daemon])  # babeld writes its tables to its log, its own seqno first
    wait_for(lambda: "My id" in lab.run(pid, ["cat", log]).stdout, 10, "babeld's tables in its log")
    seqno = int(re.findall(r"My id \S+ seqno (\d+)", lab.run(pid, ["cat", log]).stdout)[-1])
    lab.run(pid, ["sh", "-c", 'echo %d > "$1"' % ((seqno - 1000) % 65536), "-", babel.paths(own["namespace"])["state"]])
    agent = lab.run(pid, ["cat", "/run/gridnet-tenant/agent.lock"]).stdout.strip()
    lab.run(pid, ["kill", "-STOP", agent])
    try:
        lab.run(pid, ["kill", "-KILL", daemon])
        # retracted routes stay in the kernel (and forward) until babeld flushes them: within hold time + 30 s
        wait_for(lambda: installed_via(farm, "rack1", "dc1") is None, 90, "rack1 flushing its route to dc1")
    finally:
        lab.run(pid, ["kill", "-CONT", agent])
    resumed = time.monotonic()

    def restarted():
        now = lab.run(pid, ["cat", pid_file], check=False).stdout.strip()
        return now not in ("", daemon) and babel_view(farm, "dc1")["babel"]["running"]
    wait_for(restarted, 30, "babeld restarted on dc1")
    name, _unused = attach(farm, "rack1")
    _unused, address = attach(farm, "dc1")
    back = first_answer(farm, "rack1", name, address, deadline=30) - resumed
    figures.report("babeld SIGKILLed on dc1 and its routes gone from its neighbours: restarted by the node agent "
                   "(1000 sequence numbers behind, as a new router-id), rack1 reached dc1 %.1f s later" % back)
    after = babel_view(farm, "dc1")["babel"]["router_id"]
    assert after not in (None, before) and after[:17] == before[:17], (before, after)
    assert farm.playbook("site.yml").changed["dc1"] == 0


def test_a_node_leaving_a_babel_network_keeps_no_babeld_and_no_file_of_it(babel_lab):
    farm, _unused = babel_lab
    namespace = recorded(farm, "rack2", "globex")["namespace"]
    pid = farm.pids()["rack2"]
    assert lab.run(pid, ["ls", "/run/gridnet-tenant/babel"]).stdout.count(namespace + ".") >= 4  # conf pid sock log
    globex = next(n for n in farm.networks if n["netid"] == "globex")
    globex["members"] = [m for m in globex["members"] if m != "rack2"]
    farm.playbook("site.yml")
    assert namespace not in lab.run(pid, ["ls", "/run/gridnet-tenant/babel"]).stdout
    assert not lab.run(pid, ["pgrep", "-f", "babel/%s.conf" % namespace], check=False).stdout.split()
    verified = farm.playbook("verify.yml")
    assert re.search(r"(\d+) probes, \1 as expected", verified.stdout), verified.stdout[-3000:]
