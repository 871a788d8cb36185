# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WireGuard links: one point-to-point interface per peer, made in the node's namespace and moved into the
resource's (its UDP socket stays in the node's), through the back end that made it (wireguard.py).

State: {ifname: {"mtu", "up", "addresses", "listen_port", "public_key",
                 "peer": {"public_key", "endpoint", "allowed_ips", "persistent_keepalive"}}}.
Private keys are compared, never shown: a link's state shows its public key.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns, relay, steering, userspace_tuning
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import NodeError
from ansible_collections.gridnet.tenant.plugins.module_utils.node.keys import public_key as derive_public_key
from ansible_collections.gridnet.tenant.plugins.module_utils.common.names import WIREGUARD_PREFIX
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import kind, link_changes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts import Part
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard import (
    backend_for_kind,
    listen_port_in_use,
    predict_backend,
    prompt_handshakes,
)

KINDS = ("wireguard", "tun")  # the kernel's link, wireguard-go's TUN device


def wireguard_links(resource):
    return [c for c in resource.get("connected", []) if c.get("connection") == "wireguard"]


def _entry(entry, config, expected_private_key, expected_public_key):
    entry["listen_port"] = config["listen_port"]
    if "udp_buffer" in config:  # wireguard-go's, where it can be read: userspace_tuning.py raises it
        entry["_udp_buffer"] = config["udp_buffer"]
    if config["private_key"] is None:
        entry["public_key"] = None
    elif config["private_key"] == expected_private_key:
        entry["public_key"] = expected_public_key
    else:
        entry["public_key"] = derive_public_key(config["private_key"])
    peers = config["peers"]
    entry["peer"] = next(iter(peers.values())) if len(peers) == 1 else None
    if entry["peer"] is not None:
        entry["peer"]["public_key"] = next(iter(peers))
        entry["_last_handshake"] = entry["peer"].pop("last_handshake")
        entry["peer"].pop("rx_bytes", None), entry["peer"].pop("tx_bytes", None)  # health.py reads them
    elif peers:
        entry["peer"] = {"public_keys": sorted(peers)}  # never ours: one peer per link
    return entry


class WireGuardLinks(Part):
    @staticmethod
    def check(resource):
        for link in resource.get("connected", []):
            what = "link to %s" % link.get("peer")
            rules.check_ifname(link.get("interface", ""), what)
            if link.get("connection") == "wireguard":
                rules.check_public_key(link.get("public_key") or "", what)

    def desired(self):
        resource, link_local = self.resource, self.resource["link_local"] + "/64"
        wanted = {}
        for link in wireguard_links(resource):
            wanted[link["interface"]] = {
                "mtu": link["mtu"],
                "up": True,
                "addresses": [link_local],
                "listen_port": link["listen_port"],
                "public_key": self.target.public_key,
                "peer": {
                    "public_key": link["public_key"],
                    "endpoint": link["endpoint"],
                    "allowed_ips": sorted(link["allowed_ips"]),
                    "persistent_keepalive": relay.KEEPALIVE if link.get("relay")
                    else resource.get("persistent_keepalive", 0),
                },
            }
        return {"wireguard": wanted}

    def read(self, view):
        target, found, kinds = self.target, {}, {}
        for name, link_kind in view.kinds.items():
            if name.startswith(WIREGUARD_PREFIX) and link_kind in KINDS:
                kinds[name] = link_kind
                config = backend_for_kind(link_kind, target.wireguard_binary).read(name, self.resource["namespace"])
                found[name] = _entry(view.basics(name), config, target.private_key, target.public_key)
        tuns = [name for name, link_kind in kinds.items() if link_kind == "tun"]
        if tuns:  # steering.py: only the namespace's own sysfs shows it
            for name, mask in netns.run_inside(self.resource["namespace"], steering.read, tuns, sysfs=True).items():
                found[name]["_rps"] = mask
        return {"wireguard": found, "_kinds": kinds}

    def comparable(self, desired, actual):
        """An endpoint learned from a peer that dials us (we have none for it) is the peer's business."""
        actual["wireguard"] = dict(sorted(actual["wireguard"].items()))
        for name, link in actual["wireguard"].items():
            wanted = desired["wireguard"].get(name)
            if wanted and link.get("peer") and wanted["peer"]["endpoint"] is None:
                link["peer"] = dict(link["peer"], endpoint=None)

    def node_check(self, desired, actual):
        target, node = self.target, self.target.node
        ours = {link.get("listen_port") for link in actual["wireguard"].values()}
        for name, link in desired["wireguard"].items():
            port = link["listen_port"]
            if port not in ours and listen_port_in_use(port):
                raise NodeError("listen port %d of link %s is already in use on this node" % (port, name))
            leftover = node.link_lookup(ifname=name)
            if leftover and name not in actual["wireguard"]:
                if kind(node.get_links(leftover[0])[0]) not in KINDS:
                    raise NodeError("interface %s exists on this node and is not a WireGuard link of ours" % name)
        new_links = target.new_links = len(set(desired["wireguard"]) - set(actual["wireguard"]))
        if new_links:
            # a userspace link past the inotify budget would fail half-way
            chosen = predict_backend(target.backend_choice, target.wireguard_binary) if target.check_mode \
                else target.backend()
            chosen.check_capacity(new_links)

    def changes(self, desired, actual):
        target, changes, kinds = self.target, [], actual["_kinds"]
        for ifname in sorted(set(actual["wireguard"]) - set(desired["wireguard"])):
            changes.append(Change("remove WireGuard link %s" % ifname, lambda ifname=ifname: remove(
                target.ns(), ifname, backend_for_kind(kinds[ifname], target.wireguard_binary))))
        for ifname, wanted in sorted(desired["wireguard"].items()):
            current = actual["wireguard"].get(ifname)
            if current is None:
                changes.append(Change(
                    "create WireGuard link %s to %s (port %d)"
                    % (ifname, wanted["peer"]["public_key"], wanted["listen_port"]),
                    lambda ifname=ifname, wanted=wanted: self._create(ifname, wanted)))
                current = {"mtu": None, "up": False, "addresses": []}
            else:
                changes += self._updates(ifname, current, wanted,
                                         backend_for_kind(kinds[ifname], target.wireguard_binary))
            changes += link_changes(target.ns, ifname, current, wanted)
        return changes + userspace_tuning.changes(target, desired, actual)  # after the links are up

    def _create(self, ifname, wanted):
        target, node = self.target, self.target.node
        for stale in node.link_lookup(ifname=ifname):  # a leftover of an interrupted run
            node.link("del", index=stale)
        target.backend().create(node, ifname)
        target.backend().write(ifname, None, private_key=target.private_key, listen_port=wanted["listen_port"],
                               replace_peers=True, peer=wanted["peer"])
        node.link("set", index=node.link_lookup(ifname=ifname)[0], net_ns_fd=self.resource["namespace"])

    def _updates(self, ifname, current, wanted, backend):
        """Update a live link in place: no interface recreated, no handshake lost."""
        namespace, changes, private_key = self.resource["namespace"], [], self.target.private_key
        if current.get("public_key") != wanted["public_key"]:
            changes.append(Change("set private key of %s" % ifname,
                                  lambda: backend.write(ifname, namespace, private_key=private_key)))
        if current.get("listen_port") != wanted["listen_port"]:
            changes.append(Change("set %s listen port %d" % (ifname, wanted["listen_port"]),
                                  lambda: backend.write(ifname, namespace, listen_port=wanted["listen_port"])))
        have, want = current.get("peer") or {}, wanted["peer"]
        if have.get("public_key") != want["public_key"]:
            changes.append(Change("set %s peer %s" % (ifname, want["public_key"]),
                                  lambda: backend.write(ifname, namespace, replace_peers=True, peer=want)))
            return changes
        update = {"public_key": want["public_key"]}
        if want["endpoint"] is not None and have.get("endpoint") != want["endpoint"]:
            update["endpoint"] = want["endpoint"]
        for field in ("allowed_ips", "persistent_keepalive"):
            if have.get(field) != want[field]:
                update[field] = want[field]
        if len(update) > 1:
            changes.append(Change("update %s peer: %s" % (ifname, ", ".join(sorted(k for k in update
                                                                                   if k != "public_key"))),
                                  lambda: backend.write(ifname, namespace, peer=update)))
        return changes

    def after(self, desired, actual, found):
        """After a WireGuard link we dial is made or given a new peer, a packet through it.

        The peer may still hold a session with the link's previous incarnation, and would wait for
        WireGuard's own retry (15 s) before using the new one; a packet makes this side hand-shake now.
        """
        peers = {c["interface"]: c["peer_link_local"] for c in wireguard_links(self.resource)}
        prompted = []
        for ifname, wanted in sorted(desired["wireguard"].items()):
            have = (actual["wireguard"].get(ifname) or {}).get("peer") or {}
            renewed = ifname not in actual["wireguard"] or have.get("public_key") != wanted["peer"]["public_key"]
            if wanted["peer"]["endpoint"] and renewed and any(ifname in c.text for c in found):
                prompted.append((ifname, peers[ifname]))
        if not prompted:
            return []
        return [Change("prompt a handshake on %s" % ", ".join(name for name, _unused in prompted),
                       lambda: netns.run_inside(self.resource["namespace"], prompt_handshakes, prompted))]


def remove(ns, ifname, backend):
    """Delete a WireGuard link and wait until its daemon (wireguard-go) has gone with it."""
    for found in ns.link_lookup(ifname=ifname):
        ns.link("del", index=found)
    backend.wait_gone(ifname)
