# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One network resource on one node, converged: its parts composed, and its removal.

Each part (parts/: where workloads attach, WireGuard links, the VXLAN device,
routes, the relay, babeld) states its piece of the desired state, reads its
piece of the kernel's from one read of the namespace, checks what could fail
half-way, and gives its changes; the shape of the converge (read, diff, apply,
read back) is convergence.py's. Links are created in the node's namespace
(where this runs, so their UDP sockets live there) and moved into the
resource's. Routes the collection owns carry rules.ROUTE_PROTO, so nothing
else is ever touched.
"""

from __future__ import annotations

import contextlib

from ansible_collections.gridnet.tenant.plugins.module_utils.node import (
    babel, convergence, netns, records, relay, routes)
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change, public
from ansible_collections.gridnet.tenant.plugins.module_utils.node.keys import public_key as derive_public_key
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import APPLY_ERRORS, kind
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts import Namespace
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.attachment import Attachment
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.routing import Babel, Relay, Routes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.vxlan_link import VxlanLink
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.wireguard_link import WireGuardLinks, remove
from ansible_collections.gridnet.tenant.plugins.module_utils.node.resource_state import ABSENT, check_required
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard import backend_for_kind, select_backend

from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import IPRoute

# the parts of a resource, in the order their changes run: the namespace first, links before the routes through
# them, babeld last (docs/architecture.md: adding a part)
PARTS = (Attachment, WireGuardLinks, VxlanLink, Relay, Routes, Babel)
# what a resource's names alone let be read (network_resource_info): the relay's tables are the node's
READ_BY_NAMES = (Attachment, WireGuardLinks, VxlanLink, Routes, Babel)


def validate(resource, state):
    """Refuse bad input by name, before the node is touched: the fields every resource needs, then each part's."""
    check_required(resource, state)
    for part in PARTS:
        if state == "present" or part.check_when_absent:
            part.check(resource)


class Resource(netns.InNamespace, convergence.Target):
    """A network resource (namespace, bridge, veth, links, routes) as a converge target: its parts composed."""

    apply_errors = APPLY_ERRORS
    # states with routes: route records read as text
    display = staticmethod(routes.display)
    shown = staticmethod(routes.shown)

    def __init__(self, node, resource, state="present", private_key=None, check_mode=False,
                 backend_choice="auto", wireguard_binary="wireguard-go", parts=None):
        if parts is None:
            validate(resource, state)
        self.node, self.resource, self.state = node, resource, state
        self.private_key, self.check_mode = private_key, check_mode
        self.backend_choice, self.wireguard_binary = backend_choice, wireguard_binary
        self.public_key = derive_public_key(private_key) if private_key else None
        self.namespace, self._backend = resource["namespace"], None
        self.new_links = 0  # WireGuard links the changes make: a node converging several resources sums them
        self.parts = [part(self) for part in (PARTS if parts is None else parts)]

    def backend(self):
        """The WireGuard back end new links are made with, chosen only when a change needs it."""
        if self._backend is None:
            self._backend = select_backend(self.node, self.backend_choice, self.wireguard_binary)
        return self._backend

    def desired(self):
        if self.state == "absent":
            return dict(ABSENT)
        state = {}
        for part in self.parts:
            state.update(part.desired())
        return state

    def read(self):
        """Every part's state, from one read of the namespace (none when it does not exist)."""
        exists = netns.exists(self.resource["namespace"])
        with (netns.open_namespace(self.resource["namespace"]) if exists else contextlib.nullcontext()) as ns:
            view = Namespace(ns)
            state = {}
            for part in self.parts:
                state.update(part.read(view))
        return state

    def comparable(self, desired, actual):
        actual = public(actual)
        for part in self.parts:
            part.comparable(desired, actual)
        return actual

    def changes(self, desired, actual):
        if self.state == "absent":
            return removal(self.resource, actual, self.node, self.wireguard_binary)
        for part in self.parts:  # everything that could make the apply fail half-way, before any change
            part.node_check(desired, actual)
        found = []
        for part in self.parts:
            found += part.changes(desired, actual)
        for part in self.parts:
            found += part.after(desired, actual, found)
        return found


def read_state(node, resource, wireguard_binary="wireguard-go"):
    """A resource's state as the kernel has it, from its names alone (gridnet.tenant.network_resource_info)."""
    target = Resource(node, resource, wireguard_binary=wireguard_binary, parts=READ_BY_NAMES)
    try:
        return target.read()
    finally:
        target.close()


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
                        remove(ns, link.get_attr("IFLA_IFNAME"), backend_for_kind(link_kind, wireguard_binary))
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
