# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's health figures (health.py) as a Prometheus text file, for node_exporter's textfile collector.

The WireGuard series carry the names and labels of the exporter most users
already run (MindFlavor/prometheus_wireguard_exporter: interface, public_key,
allowed_ips, friendly_name), so their dashboards and alerts work unchanged;
ours add network, namespace and peer. The file is replaced atomically (a
scrape never reads half of it), and dropped when the node has no resource.
"""

from __future__ import annotations

import os

from ansible_collections.gridnet.tenant.plugins.module_utils.common.files import write_atomic
from ansible_collections.gridnet.tenant.plugins.module_utils.node.options import METRICS_DIR

FILE_NAME = "gridnet_tenant.prom"

# name: (type, help)
SERIES = {
    "wireguard_latest_handshake_seconds": ("gauge", "UNIX time of the peer's latest handshake (0: never)."),
    "wireguard_received_bytes_total": ("counter", "Bytes received from the peer."),
    "wireguard_sent_bytes_total": ("counter", "Bytes sent to the peer."),
    "gridnet_tenant_link_up": ("gauge", "1 when the link to the peer exists and is up in the resource's namespace."),
    "gridnet_tenant_link_routes": ("gauge", "Destinations routed through the peer over this link."),
    "gridnet_tenant_babel_neighbour_reach": ("gauge", "Hellos heard of the neighbour's last 16 (babeld's reach)."),
    "gridnet_tenant_babel_neighbour_cost": ("gauge", "babeld's cost of the neighbour (65535: unreachable)."),
    "gridnet_tenant_babel_running": ("gauge", "1 when the resource's babeld runs."),
    "gridnet_tenant_babel_routes_installed": ("gauge", "Routes babeld learnt and installed."),
    "gridnet_tenant_exit_packets_total": ("counter", "Packets through the exit, by counter of its table."),
    "gridnet_tenant_exit_bytes_total": ("counter", "Bytes through the exit, by counter of its table."),
}


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels):
    return "{%s}" % ",".join('%s="%s"' % (k, _escape(v)) for k, v in labels)


def samples(resources):
    """{series name: [(labels as (key, value) pairs, value)]} of a node's health figures."""
    out = {name: [] for name in SERIES}
    for resource in resources:
        base = (("network", resource["network"]), ("namespace", resource["namespace"]))
        for peer, link in sorted(resource["links"].items()):
            labels = base + (("peer", peer), ("interface", link["interface"]), ("connection", link["connection"]))
            out["gridnet_tenant_link_up"].append((labels, int(link["up"])))
            out["gridnet_tenant_link_routes"].append((labels, len(link["routes"])))
            if link["connection"] == "wireguard" and link["present"]:
                wireguard = (("interface", link["interface"]), ("public_key", link.get("public_key") or ""),
                             ("allowed_ips", ",".join(link.get("allowed_ips") or ["0.0.0.0/0", "::/0"])),
                             ("friendly_name", peer)) + base + (("peer", peer),)
                out["wireguard_latest_handshake_seconds"].append((wireguard, link["last_handshake"]))
                out["wireguard_received_bytes_total"].append((wireguard, link["rx_bytes"]))
                out["wireguard_sent_bytes_total"].append((wireguard, link["tx_bytes"]))
            if link["babel"] is not None:
                reach = bin(int(link["babel"]["reach"] or "0", 16)).count("1")
                out["gridnet_tenant_babel_neighbour_reach"].append((labels, reach))
                cost = link["babel"]["cost"]
                out["gridnet_tenant_babel_neighbour_cost"].append((labels, 65535 if cost is None else cost))
        if resource["babel"] is not None:
            out["gridnet_tenant_babel_running"].append((base, int(resource["babel"]["running"])))
            out["gridnet_tenant_babel_routes_installed"].append((base, resource["babel"]["routes_installed"]))
        for counter, figures in sorted((resource["exit"] or {}).items()):
            out["gridnet_tenant_exit_packets_total"].append((base + (("counter", counter),), figures["packets"]))
            out["gridnet_tenant_exit_bytes_total"].append((base + (("counter", counter),), figures["bytes"]))
    return out


def text(resources):
    """The Prometheus text exposition of the figures (format 0.0.4): HELP and TYPE once per series."""
    lines = []
    for name, values in samples(resources).items():
        if not values:
            continue
        kind, help_text = SERIES[name]
        lines += ["# HELP %s %s" % (name, help_text), "# TYPE %s %s" % (name, kind)]
        lines += ["%s%s %d" % (name, _labels(labels), value) for labels, value in values]
    return "\n".join(lines) + "\n" if lines else ""


def write(resources, directory=METRICS_DIR):
    """Replace FILE_NAME in `directory` atomically (node_exporter ignores its dot-named temporary file);
    remove it when there is nothing to say. Returns the path."""
    path = os.path.join(directory, FILE_NAME)
    body = text(resources)
    if not body:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return path
    write_atomic(path, body.encode("utf-8"), mode=0o644, dir_mode=0o755)
    return path
