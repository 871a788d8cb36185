# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tenant bridges beside the node's own firewall (docs/node-firewall.md).

With br_netfilter loaded and bridge-nf-call-iptables (or -ip6tables) on in
the node's namespace, as Docker leaves them, every frame bridged within a
tenant bridge (workload to gateway, workload to workload) passes the node's
IPv4 (IPv6) FORWARD hook, where Docker's policy is DROP. An accept in a table
of ours cannot overrule that: a packet must be accepted by every base chain on
a hook. So the one way through is a rule in the chain that drops: one ACCEPT
of frames bridged within tenant bridges (`-i gtb-+ -o gtb-+`: br_netfilter
shows the bridge as both devices), in DOCKER-USER where Docker made it (the
chain Docker keeps for its users and never flushes), else at the head of
FORWARD, for each iptables back end (nft, legacy) whose filter table the node
has and each family br_netfilter sends there. Nothing is written where
br_netfilter is off or no filter table exists: nothing there can drop.

A firewall of another kind (a native nftables table: firewalld, a hand-written
nftables.conf) whose forward or input chain drops by policy cannot be read
rule by rule here: warnings() names it and what must pass.
"""

from __future__ import annotations

import shutil
import subprocess

from ansible_collections.gridnet.tenant.plugins.module_utils.node import nftables
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change, Target
from ansible_collections.gridnet.tenant.plugins.module_utils.common.names import PREFIXES

BRIDGES = PREFIXES["bridge"] + "+"  # iptables' wildcard: every tenant bridge
COMMENT = "gridnet.tenant: frames bridged within tenant bridges"
# IP version -> (br_netfilter sysctl, nft family of iptables-nft's table, legacy table list, binaries per back end)
VERSIONS = {
    "ipv4": ("bridge-nf-call-iptables", "ip", "/proc/net/ip_tables_names",
             {"nft": "iptables-nft", "legacy": "iptables-legacy"}),
    "ipv6": ("bridge-nf-call-ip6tables", "ip6", "/proc/net/ip6_tables_names",
             {"nft": "ip6tables-nft", "legacy": "ip6tables-legacy"}),
}
HOOK_INPUT, HOOK_FORWARD = 1, 2
DROP = 0  # NF_DROP, a base chain's policy


def bridge_netfilter(version):
    """Whether br_netfilter sends bridged frames of this IP version to the node's iptables (its namespace's)."""
    try:
        with open("/proc/sys/net/bridge/" + VERSIONS[version][0]) as handle:
            return handle.read().strip() == "1"
    except OSError:  # br_netfilter not loaded
        return False


def _legacy_filter(path):
    try:
        with open(path) as handle:
            return "filter" in handle.read().split()
    except OSError:
        return False


def in_scope(tables=None):
    """[(version, back end)] where a tenant frame meets an iptables filter table: br_netfilter on, table there."""
    found = []
    for version, (_sysctl, family, legacy_names, _binaries) in sorted(VERSIONS.items()):
        if not bridge_netfilter(version):
            continue
        if tables is None:
            tables = nftables.tables()
        if (family, "filter") in tables:
            found.append((version, "nft"))
        if _legacy_filter(legacy_names):
            found.append((version, "legacy"))
    return found


def signal():
    """What the node agent compares between looks: it changes when a filter table comes, goes or is made
    again (an nft table's handle is new each time), or br_netfilter is switched."""
    if not any(bridge_netfilter(v) for v in VERSIONS):
        return ()
    tables = nftables.tables()
    return tuple((v, b, tables.get((VERSIONS[v][1], "filter"))) for v, b in in_scope(tables))


def _iptables(binary, *args):
    return subprocess.run([binary, "-w", "5"] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, check=False)


def _rule(chain):
    return [chain, "-i", BRIDGES, "-o", BRIDGES, "-m", "comment", "--comment", COMMENT, "-j", "ACCEPT"]


def _has_rule(binary):
    return any(_iptables(binary, "-C", *_rule(chain)).returncode == 0 for chain in ("DOCKER-USER", "FORWARD"))


def _insert(binary):
    chain = "DOCKER-USER" if _iptables(binary, "-n", "-L", "DOCKER-USER").returncode == 0 else "FORWARD"
    done = _iptables(binary, "-I", *(_rule(chain)[:1] + ["1"] + _rule(chain)[1:]))
    if done.returncode != 0:
        raise OSError("%s -I %s: %s" % (binary, chain, done.stderr.strip()))


class HostFirewall(Target):
    """The accept of tenant bridge frames, wherever br_netfilter sends them to an iptables filter table."""

    def __init__(self):
        self.scope = in_scope()
        self.missing_binaries = sorted(VERSIONS[v][3][b] for v, b in self.scope
                                       if shutil.which(VERSIONS[v][3][b]) is None)

    def desired(self):
        return {"%s %s" % (v, b): True for v, b in self.scope if VERSIONS[v][3][b] not in self.missing_binaries}

    def read(self):
        return {"%s %s" % (v, b): _has_rule(VERSIONS[v][3][b]) for v, b in self.scope
                if VERSIONS[v][3][b] not in self.missing_binaries}

    def changes(self, desired, actual):
        result = []
        for key in sorted(k for k, present in actual.items() if not present):
            version, backend = key.split()
            binary = VERSIONS[version][3][backend]
            result.append(Change("let frames bridged within tenant bridges pass the node's %s FORWARD "
                                 "(br_netfilter is on; %s)" % (version, binary), lambda binary=binary: _insert(binary)))
        return result


def foreign_drops():
    """[(family, table, chain, hook)] of base chains in this namespace that drop by policy, input or forward."""
    found = []
    for family, chain in nftables.dump("chains"):
        hook = chain.get_attr("NFTA_CHAIN_HOOK")
        if hook is None or chain.get_attr("NFTA_CHAIN_POLICY") != DROP:
            continue
        number = hook.get_attr("NFTA_HOOK_HOOKNUM")
        if number in (HOOK_INPUT, HOOK_FORWARD):
            found.append((family, chain.get_attr("NFTA_CHAIN_TABLE"), chain.get_attr("NFTA_CHAIN_NAME"),
                          "input" if number == HOOK_INPUT else "forward"))
    return found


def warnings(udp_ports, scope):
    """What the node's own firewall may drop that the tenant networks need, as text for the user."""
    said = []
    covered = {VERSIONS[v][1] for v, b in scope if b == "nft"}  # iptables-nft tables our rule already passes
    bridged = any(bridge_netfilter(v) for v in VERSIONS)
    for family, table, chain, hook in foreign_drops():
        if hook == "input" and udp_ports:
            said.append("the node's firewall drops input by policy (nft table %s %s, chain %s): it must let in "
                        "UDP ports %s for the tenant networks (docs/node-firewall.md)"
                        % (family, table, chain, ", ".join(str(p) for p in sorted(udp_ports))))
        elif hook == "forward" and bridged and not (table == "filter" and family in covered):
            said.append("the node's firewall drops forwarded packets by policy (nft table %s %s, chain %s) and "
                        "br_netfilter sends bridged frames there: allow iifname \"%s*\" oifname \"%s*\" or tenant "
                        "workloads lose their gateway (docs/node-firewall.md)"
                        % (family, table, chain, PREFIXES["bridge"], PREFIXES["bridge"]))
    for name in sorted(set(VERSIONS[v][3][b] for v, b in scope if shutil.which(VERSIONS[v][3][b]) is None)):
        said.append("br_netfilter sends tenant bridge frames to an iptables filter table, but %s is not installed "
                    "to let them pass (docs/node-firewall.md)" % name)
    return said


def udp_ports(resources):
    """The UDP ports this node's tenant networks receive on: WireGuard listen ports, VXLAN, relay ports."""
    ports = set()
    for resource in resources:
        ports.update(c["listen_port"] for c in resource.get("connected", []) if c.get("connection") == "wireguard")
        if resource.get("vxlan"):
            ports.add(resource["vxlan"]["port"])
        for duty in (resource.get("relay") or {}).values():
            ports.update(duty["ports"])
    return ports
