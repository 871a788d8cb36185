# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One network resource on one node, converged: the changes from its actual to its desired state.

The states are resource_state.py's; the shape of the converge (read, diff,
apply, read back) is converge.py's. Links are created in the node's namespace
(where this runs, so their UDP sockets live there) and moved into the
resource's namespace. Routes the collection owns carry rules.ROUTE_PROTO, so
nothing else is ever touched.
"""

from __future__ import annotations

import contextlib

from ansible_collections.gridnet.tenant.plugins.module_utils import convergence
from ansible_collections.gridnet.tenant.plugins.module_utils import babel, netns, records, relay, routes, rules, userspace_tuning
from ansible_collections.gridnet.tenant.plugins.module_utils.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.errors import NodeError
from ansible_collections.gridnet.tenant.plugins.module_utils.keys import public_key as derive_public_key
from ansible_collections.gridnet.tenant.plugins.module_utils.netlink import (
    APPLY_ERRORS,
    IFF_UP,
    index_of,
    kind,
    link_changes,
)
from ansible_collections.gridnet.tenant.plugins.module_utils.resource_state import (
    ABSENT,
    comparable,
    desired_state,
    read_state,
    validate,
)
from ansible_collections.gridnet.tenant.plugins.module_utils.wireguard import (
    backend_for_kind,
    listen_port_in_use,
    predict_backend,
    prompt_handshakes,
    select_backend,
)

from ansible_collections.gridnet.tenant.plugins.module_utils.pyroute import IPRoute


class Resource(convergence.Target):
    """A network resource (namespace, bridge, veth, links, routes) as a converge target."""

    apply_errors = APPLY_ERRORS
    # states with routes: route records read as text
    display = staticmethod(routes.display)
    shown = staticmethod(routes.shown)

    def __init__(self, node, resource, state="present", private_key=None, check_mode=False,
                 backend_choice="auto", wireguard_binary="wireguard-go"):
        validate(resource, state)
        self.node, self.resource, self.state = node, resource, state
        self.private_key, self.check_mode = private_key, check_mode
        self.backend_choice, self.wireguard_binary = backend_choice, wireguard_binary
        self.public_key = derive_public_key(private_key) if private_key else None
        self._ns = self._backend = None
        self.new_links = 0  # WireGuard links the changes make: a node converging several resources sums them

    # the namespace handle and the back end are made only when a change needs them
    def ns(self):
        if self._ns is None:
            self._ns = netns.open_namespace(self.resource["namespace"])
        return self._ns

    def backend(self):
        if self._backend is None:
            self._backend = select_backend(self.node, self.backend_choice, self.wireguard_binary)
        return self._backend

    def close(self):
        if self._ns is not None:
            self._ns.close()

    def desired(self):
        if self.state == "absent":
            return dict(ABSENT)
        state = desired_state(self.resource, self.private_key)
        state["relay"] = relay.desired(self.resource, keep=not self.check_mode)
        return state

    def read(self):
        state = read_state(self.node, self.resource, self.private_key, self.public_key, self.wireguard_binary)
        state["relay"] = relay.read(self.resource, relay.tables())
        return state

    def comparable(self, desired, actual):
        return comparable(desired, actual)

    def changes(self, desired, actual):
        if self.state == "absent":
            return removal(self.resource, actual, self.node, self.wireguard_binary)
        self.check_preconditions(desired, actual)
        changes = (self.workload_side(desired, actual) + self.wireguard_changes(desired, actual)
                   + self.vxlan_changes(desired, actual)
                   + relay.changes(self.resource, actual["relay"], desired["relay"])
                   # routes last: their interfaces exist by now
                   + routes.changes(self.ns, actual["routes"], desired["routes"], rules.ROUTE_PROTO)
                   + babel.changes(self.resource, actual["babel"], desired["babel"]))
        return changes + self.handshake_prompts(desired, actual, changes)

    def handshake_prompts(self, desired, actual, changes):
        """After a WireGuard link we dial is made or given a new peer, a packet through it.

        The peer may still hold a session with the link's previous incarnation, and would wait for
        WireGuard's own retry (15 s) before using the new one; a packet makes this side hand-shake now.
        """
        peers = {c["interface"]: c["peer_link_local"] for c in self.resource["connected"]
                 if c["connection"] == "wireguard"}
        prompted = []
        for ifname, wanted in sorted(desired["wireguard"].items()):
            have = (actual["wireguard"].get(ifname) or {}).get("peer") or {}
            renewed = ifname not in actual["wireguard"] or have.get("public_key") != wanted["peer"]["public_key"]
            if wanted["peer"]["endpoint"] and renewed and any(ifname in c.text for c in changes):
                prompted.append((ifname, peers[ifname]))
        if not prompted:
            return []
        return [Change("prompt a handshake on %s" % ", ".join(name for name, _unused in prompted),
                       lambda: netns.run_inside(self.resource["namespace"], prompt_handshakes, prompted))]

    def check_preconditions(self, desired, actual):
        """Everything that could make the apply fail half-way, checked before any change."""
        node = self.node
        babel.check(self.resource)
        ours = {link.get("listen_port") for link in actual["wireguard"].values()}
        for name, link in desired["wireguard"].items():
            port = link["listen_port"]
            if port not in ours and listen_port_in_use(port):
                raise NodeError("listen port %d of link %s is already in use on this node" % (port, name))
            leftover = node.link_lookup(ifname=name)
            if leftover and name not in actual["wireguard"]:
                if kind(node.get_links(leftover[0])[0]) not in ("wireguard", "tun"):
                    raise NodeError("interface %s exists on this node and is not a WireGuard link of ours" % name)
        for name, wanted_kind in ((self.resource["bridge"], "bridge"), (self.resource["veth_host"], "veth")):
            found = node.link_lookup(ifname=name)
            if found:
                found_kind = kind(node.get_links(found[0])[0])
                if found_kind != wanted_kind:
                    raise NodeError("interface %s exists on this node as a %s, not ours" % (name, found_kind))
        new_links = self.new_links = len(set(desired["wireguard"]) - set(actual["wireguard"]))
        if new_links:
            # a userspace link past the inotify budget would fail half-way
            chosen = predict_backend(self.backend_choice, self.wireguard_binary) if self.check_mode \
                else self.backend()
            chosen.check_capacity(new_links)

    def workload_side(self, desired, actual):
        """Namespace, sysctls, bridge and veth: where workloads attach."""
        node, resource, name = self.node, self.resource, self.resource["namespace"]
        changes = []
        if not actual["namespace"]:
            changes.append(Change("create namespace %s" % name, lambda: netns.create(name)))
        if actual["sysctls"] != desired["sysctls"]:
            changes.append(Change("set forwarding and address sysctls in %s" % name,
                                  lambda: netns.run_inside(name, netns.write_sysctls, desired["sysctls"])))
        bridge, mtu = resource["bridge"], resource["mtu"]
        macs = resource.get("macs") or {}
        bridge_mac = {"address": macs["bridge"]} if "bridge" in macs else {}
        if actual["bridge"] is None:
            changes.append(Change("create bridge %s" % bridge,
                                  lambda: node.link("add", ifname=bridge, kind="bridge", **bridge_mac)))
        if actual["bridge"] != desired["bridge"]:
            text = "set bridge %s mtu %d up" % (bridge, mtu) + (" address %s" % macs["bridge"] if bridge_mac else "")
            changes.append(Change(text, lambda: node.link("set", index=index_of(node, bridge), mtu=mtu, state="up",
                                                          **bridge_mac)))
        host = actual["_veth_host"]
        actual_veth = actual["veth"]
        host_mac = {"address": macs["veth_host"]} if "veth_host" in macs else {}
        if host is None or actual_veth is None:
            def make_veth():
                for stale in node.link_lookup(ifname=resource["veth_host"]):
                    node.link("del", index=stale)
                peer = dict({"ifname": resource["veth_ns"], "net_ns_fd": name},
                            **({"address": macs["veth_ns"]} if "veth_ns" in macs else {}))
                node.link("add", ifname=resource["veth_host"], kind="veth", peer=peer, **host_mac)
            changes.append(Change("create veth %s <-> %s" % (resource["veth_host"], resource["veth_ns"]), make_veth))
            actual_veth = {"mtu": None, "up": False, "addresses": []}
        if host is None or host.get_attr("IFLA_MASTER") != (node.link_lookup(ifname=bridge) or [None])[0] \
                or host.get_attr("IFLA_MTU") != mtu or not host["flags"] & IFF_UP \
                or host_mac and host.get_attr("IFLA_ADDRESS") != host_mac["address"]:
            changes.append(Change("attach %s to %s" % (resource["veth_host"], bridge), lambda: node.link(
                "set", index=index_of(node, resource["veth_host"]), master=index_of(node, bridge),
                mtu=mtu, state="up", **host_mac)))
        return changes + link_changes(self.ns, resource["veth_ns"], actual_veth, desired["veth"])

    def wireguard_changes(self, desired, actual):
        changes = []
        kinds = actual["_kinds"]
        for ifname in sorted(set(actual["wireguard"]) - set(desired["wireguard"])):
            changes.append(Change("remove WireGuard link %s" % ifname, lambda ifname=ifname: _remove_wireguard(
                self.ns(), ifname, backend_for_kind(kinds[ifname], self.wireguard_binary))))
        for ifname, wanted in sorted(desired["wireguard"].items()):
            current = actual["wireguard"].get(ifname)
            if current is None:
                changes.append(Change(
                    "create WireGuard link %s to %s (port %d)"
                    % (ifname, wanted["peer"]["public_key"], wanted["listen_port"]),
                    lambda ifname=ifname, wanted=wanted: self._create_wireguard(ifname, wanted)))
                current = {"mtu": None, "up": False, "addresses": []}
            else:
                changes += self._wireguard_updates(ifname, current, wanted,
                                                   backend_for_kind(kinds[ifname], self.wireguard_binary))
            changes += link_changes(self.ns, ifname, current, wanted)
        return changes + userspace_tuning.changes(self, desired, actual)  # after the links are up

    def _create_wireguard(self, ifname, wanted):
        node = self.node
        for stale in node.link_lookup(ifname=ifname):  # a leftover of an interrupted run
            node.link("del", index=stale)
        self.backend().create(node, ifname)
        self.backend().write(ifname, None, private_key=self.private_key, listen_port=wanted["listen_port"],
                             replace_peers=True, peer=wanted["peer"])
        node.link("set", index=node.link_lookup(ifname=ifname)[0], net_ns_fd=self.resource["namespace"])

    def _wireguard_updates(self, ifname, current, wanted, backend):
        """Update a live link in place: no interface recreated, no handshake lost."""
        namespace, changes = self.resource["namespace"], []
        if current.get("public_key") != wanted["public_key"]:
            changes.append(Change("set private key of %s" % ifname,
                                  lambda: backend.write(ifname, namespace, private_key=self.private_key)))
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

    def vxlan_changes(self, desired, actual):
        want, have, changes = desired["vxlan"], actual["vxlan"], []
        immutable = ("name", "vni", "local", "port", "group")
        if have is not None and (want is None or any(have[k] != want[k] for k in immutable)):
            # the name is bound now: `have` is rebound below, before any change runs
            changes.append(Change("remove VXLAN %s" % have["name"], lambda name=have["name"]: self.ns().link(
                "del", index=index_of(self.ns(), name))))
            have = None
        if want is None:
            return changes
        if have is None:
            changes.append(Change("create VXLAN %s id %d local %s" % (want["name"], want["vni"], want["local"]),
                                  lambda: self._create_vxlan(want, self.resource["vxlan"].get("device"))))
            have = {"mtu": None, "up": False, "addresses": [], "remotes": []}
        for remote in sorted(set(have["remotes"]) - set(want["remotes"])):
            changes.append(Change("remove VXLAN peer %s" % remote, lambda remote=remote: self.ns().fdb(
                "del", ifindex=index_of(self.ns(), want["name"]), lladdr="00:00:00:00:00:00", dst=remote)))
        for remote in sorted(set(want["remotes"]) - set(have["remotes"])):
            changes.append(Change("add VXLAN peer %s" % remote, lambda remote=remote: self.ns().fdb(
                "append", ifindex=index_of(self.ns(), want["name"]), lladdr="00:00:00:00:00:00", dst=remote)))
        return changes + link_changes(self.ns, want["name"], have, want)

    def _create_vxlan(self, want, device=None):
        node = self.node
        for stale in node.link_lookup(ifname=want["name"]):
            node.link("del", index=stale)
        options = {"vxlan_local6" if ":" in want["local"] else "vxlan_local": want["local"]}
        if want.get("group"):
            found = node.link_lookup(ifname=device or "")
            if not found:
                raise NodeError("VXLAN multicast needs the segment's interface %r on this node" % device)
            options["vxlan_group6" if ":" in want["group"] else "vxlan_group"] = want["group"]
            options["vxlan_link"] = found[0]
        if want.get("mac"):
            options["address"] = want["mac"]
        node.link("add", ifname=want["name"], kind="vxlan", vxlan_id=want["vni"], vxlan_port=want["port"],
                  vxlan_learning=0, **options)
        node.link("set", index=node.link_lookup(ifname=want["name"])[0], net_ns_fd=self.resource["namespace"])


def _remove_wireguard(ns, ifname, backend):
    for found in ns.link_lookup(ifname=ifname):
        ns.link("del", index=found)
    backend.wait_gone(ifname)


def removal(resource, actual, node, wireguard_binary="wireguard-go"):
    """Every change that removes a resource, in order: the one removal sequence of a resource's parts (the
    module's state=absent, and pruning). actual: its "babel", "namespace" and "relay" as read; resource needs
    only its names (names.names_for_tag) and tag."""
    # babeld first: it withdraws its routes while its links still exist
    return babel.removal(resource, actual["babel"]) + removal_changes(resource, actual, node, wireguard_binary) \
        + relay.removal(resource, actual["relay"])


def removal_changes(resource, actual, node, wireguard_binary="wireguard-go"):
    """Remove what this resource made in the kernel (namespace, links, bridge, veth), and nothing else."""
    changes = []
    name = resource["namespace"]
    if actual["namespace"]:
        def drop_namespace():
            # delete links first so each wireguard-go process sees its device go and exits
            with netns.open_namespace(name) as ns:
                for link in ns.get_links():
                    link_kind = kind(link)
                    if link_kind in ("tun", "wireguard"):
                        _remove_wireguard(ns, link.get_attr("IFLA_IFNAME"),
                                          backend_for_kind(link_kind, wireguard_binary))
                    elif link_kind in ("vxlan", "veth"):
                        ns.link("del", index=link["index"])
            netns.remove(name)
        changes.append(Change("remove namespace %s and its links" % name, drop_namespace))
    for ifname in (resource["veth_host"], resource["bridge"]):
        if node.link_lookup(ifname=ifname):
            changes.append(Change("remove %s" % ifname, lambda ifname=ifname: [
                node.link("del", index=i) for i in node.link_lookup(ifname=ifname)]))
    return changes


def converge(resource, state, private_key=None, check_mode=False, backend_choice="auto",
             wireguard_binary="wireguard-go", record=None, locked=False):
    """Bring one network resource to `state`. Returns changes, before, after (read back) and the back end.

    With `record` (the module options to converge it with again), the desired
    state is recorded on the node for the agent, or forgotten when absent.
    `locked`: the caller holds the node lock already (the agent).
    """
    with (contextlib.nullcontext() if check_mode or locked else records.node_lock()), IPRoute() as node:
        target = Resource(node, resource, state, private_key, check_mode, backend_choice, wireguard_binary)
        extra = records.bookkeeping("resource", resource["namespace"], resource, record, state)
        result = convergence.converge(target, check_mode, extra)
        result["backend"] = target._backend.name if target._backend is not None else None
        return result
