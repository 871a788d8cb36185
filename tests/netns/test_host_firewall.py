"""A node's own software beside its tenant networks: a firewall that flushes the ruleset, Docker's FORWARD DROP.

Both broke a converged network silently before: the relay table was gone
until the next site run, and with br_netfilter and a FORWARD policy of DROP a
second converge reported nothing to do over workloads that had lost their
gateway. (br_netfilter is loaded on these machines: its sysctls are per
namespace, so a node sets them in its own without touching anyone else.)
"""

import os
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import figures  # tests/support
from test_relay import relay_table, wire  # tests/netns

AGENT = {"supervisor": "detached", "interval": 0.5}


def node(farm, plan, name, agent=None):
    result = farm.module(name, "node", resources=plan["nodes"][name]["resources"], agent=agent)
    assert not result.get("failed"), result
    return result


def test_a_relay_table_the_hosts_firewall_flushed_is_restored_by_the_node_itself(farm):
    wire(farm)
    plan = farm.plan(exit={"node": "gw", "ipv6": "2001:db8:ff::10/64", "ipv4": "203.0.113.10/24"})
    farm.tag = plan["nodes"]["gw"]["resources"][0]["namespace"][len("gt-"):]
    for name in ("gw", "home0", "home1"):
        node(farm, plan, name, AGENT if name == "gw" else None)
    _unused, home1 = farm.workload(plan, "home1")
    farm.workload(plan, "home0")
    assert farm.ping("home0", home1, count=2, deadline=30), "the relayed pair never answered"

    # what nftables.service (restart, reload), firewalld and ufw begin with, in the node's own namespace
    lab.run(farm.pids["gw"], ["nft", "flush", "ruleset"])
    flushed = time.monotonic()
    assert relay_table(farm).returncode != 0
    assert farm.ping("home0", home1, deadline=10), "the relayed pair did not come back within 10 s: " + agent_log(farm, "gw")
    back = time.monotonic() - flushed
    assert relay_table(farm).returncode == 0
    figures.report("the host's firewall flushed the relay's ruleset: the relayed pair answered again %.1f s later, "
                   "with no Ansible run" % back)
    assert back < 5, back
    assert not node(farm, plan, "gw")["changed"]


def agent_log(farm, name):
    return lab.run(farm.pids[name], ["sh", "-c", "tail -n 20 /run/gridnet-tenant/agent.log"], check=False).stdout


def docker_forward_drop(pid, iptables="iptables-nft"):
    """What dockerd does to a host (Docker 20.10 and later): br_netfilter on, FORWARD policy DROP, its chains."""
    for key in ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables"):
        lab.run(pid, ["sysctl", "-qw", "net.bridge.%s=1" % key])
    for binary in (iptables, iptables.replace("iptables", "ip6tables")):
        lab.run(pid, [binary, "-w", "-N", "DOCKER-USER"])
        lab.run(pid, [binary, "-w", "-A", "DOCKER-USER", "-j", "RETURN"])
        lab.run(pid, [binary, "-w", "-I", "FORWARD", "-j", "DOCKER-USER"])
        lab.run(pid, [binary, "-w", "-P", "FORWARD", "DROP"])


def wire_two(farm):
    farm.node("nodea", ipv6="2001:db8:1::1", ipv4="192.0.2.1")
    farm.node("nodeb", ipv6="2001:db8:1::2", ipv4="192.0.2.2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    plan = farm.plan()
    for name in ("nodea", "nodeb"):
        node(farm, plan, name, AGENT if name == "nodea" else None)
    a6, a4 = farm.workload(plan, "nodea")
    b6, b4 = farm.workload(plan, "nodeb")
    assert farm.ping("nodea", b6, deadline=15) and farm.ping("nodea", b4, deadline=5)
    return plan, (b6, b4)


def test_a_docker_host_keeps_its_tenant_bridges_and_a_converge_says_so(farm):
    assert os.path.isdir("/proc/sys/net/bridge"), "br_netfilter is not loaded on this machine: this test needs it"
    plan, (b6, b4) = wire_two(farm)
    lab.run(farm.pids["nodea"], ["kill", "-9", lab.run(farm.pids["nodea"], ["cat", "/run/gridnet-tenant/agent.lock"])
                                 .stdout.strip()])  # this part is the converge's: no agent to heal it first
    docker_forward_drop(farm.pids["nodea"])
    result = node(farm, plan, "nodea")
    assert result["changed"], "a converge reported nothing to do over workloads cut from their gateway"
    said = [c for c in result["changes"] if c.startswith("host firewall:")]
    assert len(said) == 2 and all("tables-nft)" in c for c in said), result["changes"]
    assert farm.ping("nodea", b6, deadline=5) and farm.ping("nodea", b4, deadline=5)
    rules = lab.run(farm.pids["nodea"], ["iptables-nft", "-S", "DOCKER-USER"]).stdout
    assert '-A DOCKER-USER -i gtb-+ -o gtb-+' in rules.splitlines()[1], rules  # first, before Docker's RETURN
    assert not node(farm, plan, "nodea")["changed"]


def test_docker_restarted_under_a_running_agent_is_healed_by_the_node(farm):
    plan, (b6, b4) = wire_two(farm)
    pid = farm.pids["nodea"]
    docker_forward_drop(pid)
    started = time.monotonic()
    assert farm.ping("nodea", b4, deadline=10) and farm.ping("nodea", b6, deadline=5)
    figures.report("Docker's FORWARD DROP under a running node agent: tenant IPv4 answered again %.1f s later"
                   % (time.monotonic() - started))
    # dockerd restarted after a firewall reload: its table made again, our rule not in it
    lab.run(pid, ["nft", "flush", "ruleset"])
    docker_forward_drop(pid)
    started = time.monotonic()
    assert farm.ping("nodea", b4, deadline=10), "the agent did not let tenant frames through again"
    assert time.monotonic() - started < 5


def test_iptables_legacy_is_handled_as_nft(farm):
    plan, (b6, b4) = wire_two(farm)
    pid = farm.pids["nodea"]
    docker_forward_drop(pid, "iptables-legacy")
    assert farm.ping("nodea", b4, deadline=10) and farm.ping("nodea", b6, deadline=5)
    assert "-i gtb-+ -o gtb-+" in lab.run(pid, ["iptables-legacy", "-S", "DOCKER-USER"]).stdout
    assert not node(farm, plan, "nodea")["changed"]
