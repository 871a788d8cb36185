# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verification by packets: which probes each node runs, and the matrix of their results.

Every network resource gets one workload (a namespace on its bridge, host
::10 of its /64 and .10 of its /24). From each workload:

  peer      ping every other workload of the network, IPv6 and IPv4   expected to answer
  mtu       the same with a full-size packet and fragmentation forbidden (IPv6 and IPv4)
  internet  ping the internet host beyond the exit, IPv6 (routed) and IPv4 (NATed)
  isolation ping every workload of every other network                 expected to stay silent

From a host outside the exits (group gridnet_tenant_verify_outside), the exits' promises:

  dnat      every port forward whose target is a workload: connect to the exit's address   answers
  allow     every allow-list entry, at a workload inside it: connect to the workload       answers
  closed    next to each allowed port, one the allow-list does not open (it listens too)   silent

The matrix reads the plan and the results only; it never guesses.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.gridnet.tenant.plugins.module_utils.common.names import PREFIXES
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import host_at
from ansible_collections.gridnet.tenant.plugins.plugin_utils.verify import sampling

WORKLOAD_HOST6 = 0x10
WORKLOAD_HOST4 = 10
ICMP6_OVERHEAD = 48   # IPv6 header + ICMPv6 echo header
ICMP4_OVERHEAD = 28   # IPv4 header + ICMP echo header
REACH_DEADLINE = 15   # first contact may wait for a WireGuard handshake (retried after 5 s)
SILENCE_TIMEOUT = 2
OUTSIDE = "outside"   # the source of the exits' promises in probe ids
ANY_PORT = 9          # the port probed for an allow-list entry that opens every port


def workload(resource, listen=()):
    """The verification workload of a network resource: its namespace, addresses, gateways and listeners."""
    addresses = [host_at(resource["prefix"], WORKLOAD_HOST6)]
    gateways = [resource["gateway6"].split("/")[0]]
    if resource.get("ipv4"):
        addresses.append(host_at(resource["ipv4"], WORKLOAD_HOST4))
        gateways.append(resource["gateway4"].split("/")[0])
    return {"name": PREFIXES["workload"] + resource["tag"], "bridge": resource["bridge"], "mtu": resource["mtu"],
            "addresses": addresses, "gateways": gateways,
            "listen": [{"proto": proto, "port": port} for proto, port in sorted(set(listen))]}


def exit_promises(plan):
    """(probes from outside, {(node, netid): [(proto, port)] each workload listens on}).

    A forward is probed when its target is a workload; an allow-list entry at every workload
    inside it; both at the network's preferred exit (the first). Each probe: {id, proto, address, port, expect, label}.
    """
    where = {}   # (netid, address) -> node of the workload there
    for node, state in plan["nodes"].items():
        for resource in state["resources"]:
            for cidr in workload(resource)["addresses"]:
                where[(resource["netid"], _address(cidr))] = node
    probes, listen = [], {}

    def promise(netid, kind, node, address, proto, port, expect, label, listen_port):
        family = 6 if ":" in address else 4
        probes.append({"id": "%s|%s|%s:%d/%s|%s%d" % (netid, OUTSIDE, node, listen_port, proto, kind, family),
                       "proto": proto, "address": address, "port": port, "expect": expect, "label": label,
                       "deadline": REACH_DEADLINE if expect else None, "timeout": SILENCE_TIMEOUT})
        listen.setdefault((node, netid), []).append((proto, listen_port))

    preferred = set()
    for e in plan.get("exits", []):
        netid = e["netid"]
        if netid in preferred:
            # a backup exit: a workload answers through the preferred exit, whose NAT a backup's forward is not
            continue
        preferred.add(netid)
        uplink4 = (e["uplink"].get("ipv4") or {}).get("address", "").split("/")[0]
        for rule in e.get("ipv4_dnat") or []:
            node = where.get((netid, rule["to"]))
            if node and uplink4:
                promise(netid, "dnat", node, uplink4, rule["proto"], rule["port"], True, "%s %s:%d -> %s %s:%d" % (
                    rule["proto"], uplink4, rule["port"], node, rule["to"], rule["to_port"]), rule["to_port"])
        allowed = e.get("ipv6_allow") or []
        for (entry_net, address), node in sorted(where.items()):
            if entry_net != netid or ":" not in address:
                continue
            opened = [r for r in allowed if ipaddress.ip_address(address) in ipaddress.ip_network(r["prefix"])]
            for rule in opened:
                port = rule["port"] or ANY_PORT
                promise(netid, "allow", node, address, rule["proto"], port, True,
                        "%s [%s]:%d (%s)" % (rule["proto"], address, port, node), port)
                other = port + 1 if port < 65535 else port - 1
                if not any(r["proto"] == rule["proto"] and r["port"] in (None, other) for r in opened):
                    promise(netid, "closed", node, address, rule["proto"], other, False,
                            "%s [%s]:%d (%s)" % (rule["proto"], address, other, node), other)
    return probes, listen


def _address(cidr):
    return cidr.split("/")[0]


def probes(plan, internet=None, sample=None, seed=0):
    """{node: {"workloads": [...], "probes": [...]}} for every node of the plan.

    Workloads listen on the ports the exits' promises are probed at (exit_promises). sample: the full matrix
    (None, "full"), "auto", or a number of members per workload (sampling.py); seed picks them.
    """
    internet = internet or {}
    listen = exit_promises(plan)[1]
    everyone = []  # (netid, node, workload)
    for node, state in plan["nodes"].items():
        for resource in state["resources"]:
            everyone.append((resource["netid"], node, workload(resource)))
    members, by_network = {}, {}
    for entry in everyone:
        members.setdefault(entry[0], []).append(entry[1])
        by_network.setdefault(entry[0], []).append(entry)
    counts = {netid: sampling.per_network(sample, len(nodes)) for netid, nodes in members.items()}
    exits_of = {}
    for e in plan.get("exits", []):
        exits_of.setdefault(e["netid"], []).append(e["node"])
    exits_v4 = {e["netid"]: bool(e["uplink"].get("ipv4")) for e in plan.get("exits", [])}
    result = {}
    for node, state in plan["nodes"].items():
        mine = {"workloads": [], "probes": []}
        for resource in state["resources"]:
            netid = resource["netid"]
            own = workload(resource, listen.get((node, netid), ()))
            mine["workloads"].append(own)

            def probe(kind, target, address, expect, size=56, forbid_fragments=False, source=own["name"]):
                family = 6 if ":" in address else 4
                mine["probes"].append({
                    "id": "%s|%s|%s|%s%d" % (netid, node, target, kind, family),
                    "workload": source, "address": address, "size": size,
                    "forbid_fragments": forbid_fragments, "expect": expect,
                    "deadline": REACH_DEADLINE if expect else None, "timeout": SILENCE_TIMEOUT,
                })

            targets = _targets(resource, node, everyone, by_network, members, counts, exits_of, seed)
            for other_netid, other_node, other in targets:
                for cidr in other["addresses"]:
                    if ":" in cidr or len(own["addresses"]) > 1:
                        if other_netid == netid:
                            probe("peer", other_node, _address(cidr), True)
                            overhead = ICMP6_OVERHEAD if ":" in cidr else ICMP4_OVERHEAD
                            probe("mtu", other_node, _address(cidr), True, resource["mtu"] - overhead, True)
                        else:
                            probe("isolation", "%s/%s" % (other_netid, other_node), _address(cidr), False)
            if counts[netid] is not None:  # by sample: every link by itself, from the resource's own namespace
                for link in _member_links(resource):
                    probe("link", link["peer"], "%s%%%s" % (link["peer_link_local"], link["interface"]), True,
                          source=resource["namespace"])
            if internet.get("ipv6"):
                probe("internet", "internet", internet["ipv6"], True)
            if internet.get("ipv4") and resource.get("ipv4") and exits_v4.get(netid):
                probe("internet", "internet", internet["ipv4"], True)
        result[node] = mine
    return result


def _member_links(resource):
    return [link for link in resource["connected"] if not link.get("access")]


def _targets(resource, node, everyone, by_network, members, counts, exits_of, seed):
    """(netid, node, workload) of every workload a resource's workload probes: all of them for the full matrix,
    else its linked peers, its exits and a sample of the others, and a sample of other networks' (sampling.py)."""
    netid, count = resource["netid"], counts[resource["netid"]]
    others = [t for t in everyone if t[0] != netid]
    if count is None:
        # every workload of its network, and of each other network all when that one is small, else a sample
        own = [t for t in everyone if t[0] == netid and t[1] != node]
        sampled = sorted(other for other in counts if counts[other] is not None)  # never netid: its count is None
        picked = [t for other in sampled
                  for t in sampling.chosen(by_network[other], counts[other], seed, netid, node, "isolation", other)]
        return own + [t for t in others if counts[t[0]] is None] + picked
    wanted = set(sampling.targets(netid, node, members[netid], [link["peer"] for link in _member_links(resource)],
                                  exits_of.get(netid, ()), count, seed))
    own = [t for t in everyone if t[0] == netid and t[1] in wanted]
    return own + sampling.chosen(others, count, seed, netid, node, "isolation")


def _cell(checks):
    """Letters for what passed as expected; '!' before each that did not."""
    text = ""
    for kind, family, ok in sorted(checks, key=lambda c: ({"peer": 0, "mtu": 1, "internet": 0}[c[0]], -c[1])):
        letter = "M%d" % family if kind == "mtu" else str(family)
        text += letter if ok else "!" + letter
    return text


def matrix(plan, results, internet=None, outside=False, sample=None, seed=0):
    """Lines of the connectivity matrix and whether every planned probe went as expected.

    results: {host: [{"id", "expect", "ok"}, ...]} (the probe module's output per host).
    outside: whether a host outside the exits probed their promises (exit_promises).
    sample, seed: as the probes were planned (probes()).
    A planned probe without a result counts as wrong: a node that did not report fails the check.
    """
    planned = {p["id"]: p for node in probes(plan, internet, sample, seed).values() for p in node["probes"]}
    promises = exit_promises(plan)[0] if outside else []
    planned.update((p["id"], p) for p in promises)
    outcome = {}
    for node_results in results.values():
        for r in node_results:
            outcome[r["id"]] = r
    for probe_id, p in planned.items():
        outcome.setdefault(probe_id, {"id": probe_id, "expect": p["expect"], "ok": not p["expect"], "missing": True})
    wrong = [r for r in outcome.values() if bool(r["ok"]) != bool(r["expect"]) or r.get("missing")]
    lines = []
    networks = {}
    for node, state in plan["nodes"].items():
        for resource in state["resources"]:
            networks.setdefault(resource["netid"], []).append(node)
    for netid, members in sorted(networks.items()):
        members = sorted(members)
        exit_node = next((e["node"] for e in plan.get("exits", []) if e["netid"] == netid), "?")
        cells = {}
        for probe_id, r in outcome.items():
            p_net, source, target, kind = probe_id.split("|")
            if p_net != netid or kind.startswith(("isolation", "link")) or source == OUTSIDE:
                continue
            passed = bool(r["ok"]) == bool(r["expect"]) and not r.get("missing")
            cells.setdefault((source, target), []).append((kind[:-1], int(kind[-1]), passed))
        width = max([len(m) for m in members] + [len("from \\ to"), len("64M6M4")]) + 2
        lines.append("network %s (exit %s): 6/4 = ping over IPv6/IPv4, M6/M4 = full-MTU ping with DF set, "
                     "! = failed" % (netid, exit_node))
        lines.append("  " + "from \\ to".ljust(width) + "".join(m.ljust(width) for m in members) + "internet")
        for source in members:
            row = "  " + source.ljust(width)
            for target in members:
                row += ("." if target == source else _cell(cells.get((source, target), [])) or "-").ljust(width)
            lines.append(row + (_cell(cells.get((source, "internet"), [])) or "-"))
    pairs = {}
    for probe_id, r in outcome.items():
        p_net, source, target, kind = probe_id.split("|")
        if kind.startswith("isolation"):
            key = (p_net, target.split("/")[0])
            answered, total = pairs.get(key, (0, 0))
            pairs[key] = (answered + (bool(r["ok"]) or bool(r.get("missing"))), total + 1)
    lines += _sample_lines(plan, outcome, sample, seed)
    lines += _promise_lines(promises, outcome, outside)
    if pairs:
        lines.append("isolation (a workload of one network pinging every workload of another):")
        for (source_net, target_net), (answered, total) in sorted(pairs.items()):
            flag = "" if answered == 0 else "  <-- NOT ISOLATED"
            lines.append("  %s -> %s: %d of %d answered%s" % (source_net, target_net, answered, total, flag))
    lines.append("%d probes, %d as expected%s" % (
        len(outcome), len(outcome) - len(wrong),
        "" if not wrong else "; wrong: " + ", ".join(
            sorted(r["id"] + (" (no result)" if r.get("missing") else "") for r in wrong))))
    return {"ok": not wrong and bool(outcome), "lines": lines, "wrong": sorted(r["id"] for r in wrong),
            "probes": len(outcome)}


def _sample_lines(plan, outcome, sample, seed):
    """For networks verified by sample: what was covered, and every link end whose own ping failed."""
    members, links = {}, {}
    for node, state in plan["nodes"].items():
        for resource in state["resources"]:
            members[resource["netid"]] = members.get(resource["netid"], 0) + 1
    pairs, lines = {}, []
    for probe_id, r in outcome.items():
        p_net, source, target, kind = probe_id.split("|")
        if kind.startswith("peer"):
            pairs.setdefault(p_net, set()).add((source, target))
        elif kind.startswith("link"):
            links.setdefault(p_net, []).append((source, target, bool(r["ok"]) and not r.get("missing")))
    for netid in sorted(links):
        count = sampling.per_network(sample, members[netid])
        lines.append(sampling.coverage_line(netid, members[netid], len(pairs.get(netid, ())), count, seed,
                                            len(links[netid])))
        lines += ["    link %s -> %s: its peer's link-local address is silent over it  <-- WRONG" % (a, b)
                  for a, b, ok in sorted(links[netid]) if not ok]
    return (["verified by sample (each end of every link, the exits, and some members):"] + lines) if lines else []


def _promise_lines(promises, outcome, outside):
    if not outside:
        return ["exits' promises (forwards, allow-list): not probed, no host in group gridnet_tenant_verify_outside"]
    lines = ["exits' promises, probed from outside (dnat: a port forward, allow: the allow-list, "
             "closed: a port it does not open):"]
    for p in promises:
        r = outcome[p["id"]]
        netid, kind = p["id"].split("|")[0], p["id"].split("|")[3][:-1]
        seen = ("answered" if r["ok"] else "silent") if not r.get("missing") else "no result"
        wrong = bool(r["ok"]) != bool(p["expect"]) or r.get("missing")
        lines.append("  %s %-6s %s: %s%s" % (netid, kind, p["label"], seen, "  <-- WRONG" if wrong else ""))
    return lines


def outside_probes(plan):
    """The probes a host outside the exits runs (exit_promises), without the label."""
    return [{k: v for k, v in p.items() if k != "label"} for p in exit_promises(plan)[0]]


def summary(plan):
    """What the plan builds, one line per network resource, then the exits and upstream routes."""
    lines = []
    size = {}
    for state in plan["nodes"].values():
        for r in state["resources"]:
            size[r["netid"]] = size.get(r["netid"], 0) + 1
    for node, state in sorted(plan["nodes"].items()):
        for r in sorted(state["resources"], key=lambda r: r["netid"]):
            kinds, members_linked = {}, 0
            for link in r["connected"]:
                kind = "access" if link.get("access") else link["connection"]
                kinds[kind] = kinds.get(kind, 0) + 1
                members_linked += 0 if link.get("access") else 1
            routed = size[r["netid"]] - 1 - members_linked
            through = sum(1 for link in r["connected"] if link.get("relay"))
            relaying = sum(len(entry["ports"]) // 2 for entry in (r.get("relay") or {}).values())
            links = ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items()))
            lines.append("%-8s %-8s %-24s %-15s mtu %d  %s%s%s%s%s" % (
                node, r["netid"], r["prefix"], r["ipv4"] or "-", r["mtu"], links,
                " (%d through a relay's UDP ports)" % through if through else "",
                ", %s routed via a relay" % _count(routed, "peer") if routed else "",
                ", relays %s" % _count(relaying, "pair") if relaying else "", "  [exit]" if r["is_exit"] else ""))
    for e in plan.get("exits", []):
        lines.append("exit of %s on %s: %s via %s%s" % (
            e["netid"], e["node"], e["block"], e["gateway_address"],
            ", IPv4 %s" % e["uplink"]["ipv4"]["address"] if e["uplink"].get("ipv4") else ""))
    for route in plan.get("upstream_routes", []):
        lines.append("upstream route: %s via %s (%s)" % (route["prefix"], route["via"], route["netid"]))
    return lines


def _count(number, noun):
    return "%d %s%s" % (number, noun, "" if number == 1 else "s")
