# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parts of a network resource, each behind one protocol; resource.py composes them (resource.PARTS).

A part owns some keys of the resource's state. It is made for one converge
target (resource.Resource: the node's netlink socket, the plan entry, the
namespace handle and WireGuard back end it opens on first use, check mode)
and answers:

    check(resource)               a static method: the plan entry's fields it reads, refused by name
                                  (InputError) before any target exists and anything is touched
    desired()                     {key: its desired state}
    read(view)                    {key: its state as the kernel has it}; view is the resource's namespace read
                                  once (Namespace), so a part pays no netlink dump of its own
    node_check(desired, actual)   refuses (NodeError) what would make its changes fail half-way
    changes(desired, actual)      its changes, in order
    comparable(desired, actual)   adjusts the read state as the desired one compares with it (in place)
    after(desired, actual, found) changes that follow every part's (found: all of them so far)

desired and actual are the resource's whole states. The resource's removal is
written once (resource.removal): a part's objects go with the namespace, but
for babeld's process and the relay's tables, which it names.

A new kind of link is one file in this folder with a class of this protocol,
and one entry in resource.PARTS, where its changes must run: after the
workload side (the namespace must exist), before the routes through it.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import addresses_by_index, kind, link_basics


class Part(object):
    check_when_absent = False  # check() also when the resource is to be removed

    def __init__(self, target):
        self.target = target
        self.resource = target.resource

    @staticmethod
    def check(resource):
        """Nothing to refuse."""

    def desired(self):
        raise NotImplementedError

    def read(self, view):
        raise NotImplementedError

    def node_check(self, desired, actual):
        """Nothing can fail half-way."""

    def changes(self, desired, actual):
        raise NotImplementedError

    def comparable(self, desired, actual):
        """As read."""

    def after(self, desired, actual, found):
        return []


class Namespace(object):
    """A resource's namespace read once: its links by name, their kinds, and each one's MTU, state and addresses
    from one dump of the namespace's addresses. ns None: the namespace does not exist."""

    def __init__(self, ns):
        self.ns = ns
        self.links, self.kinds, self._addresses = {}, {}, {}
        if ns is None:
            return
        self._addresses = addresses_by_index(ns)
        for link in ns.get_links():
            name = link.get_attr("IFLA_IFNAME")
            self.links[name], self.kinds[name] = link, kind(link)

    @property
    def exists(self):
        return self.ns is not None

    def basics(self, name):
        """{"mtu", "up", "addresses"} of link `name`."""
        return link_basics(self.ns, self.links[name], self._addresses)
