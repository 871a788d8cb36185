# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole node cleaned: every network resource of ours that is not to be kept, removed.

A network the node left (or that was deleted) leaves its namespace, links,
bridge, veth, workload, records and private key behind; they are found by
their name prefixes (names.py) or file names (keys.py) and removed the way
resource.py removes one resource.
"""

from __future__ import annotations

import contextlib
import os

from ansible_collections.gridnet.tenant.plugins.module_utils.node import babel, keys, netns, records, relay, workload
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change, apply_changes
from ansible_collections.gridnet.tenant.plugins.module_utils.common.names import PREFIXES, names_for_tag, tag_of_namespace
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import APPLY_ERRORS
from ansible_collections.gridnet.tenant.plugins.module_utils.node.resource import removal

from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import IPRoute


def _tags_on_node(node, relay_tables):
    """Tags of every resource of ours with anything left here: namespaces, workloads, links, relay tables,
    records."""
    namespaces = netns.listed()
    workloads = {n[len(PREFIXES["workload"]):] for n in namespaces if n.startswith(PREFIXES["workload"])}
    tags = ({tag_of_namespace(n) for n in namespaces} | workloads | set(relay_tables)) - {None}
    for link in node.get_links():  # a bridge or veth left without its namespace
        name = link.get_attr("IFLA_IFNAME")
        for kind_name in ("bridge", "veth_host"):
            if name.startswith(PREFIXES[kind_name]):
                tags.add(name[len(PREFIXES[kind_name]):])
    known, _unused = records.recorded()
    tags |= {tag_of_namespace(r["namespace"]) for r in known} - {None}
    return tags, workloads


def key_changes(key_dir, networks):
    """Remove the private key of every network not in `networks` (None: keep every key)."""
    if networks is None or not os.path.isdir(key_dir):
        return []
    changes = []
    for name in sorted(os.listdir(key_dir)):
        netid, extension = os.path.splitext(name)
        if extension == keys.KEY_SUFFIX and netid not in networks:
            path = os.path.join(key_dir, name)
            changes.append(Change("remove the private key of network %s (%s)" % (netid, path),
                                  lambda path=path: os.unlink(path)))
    return changes


def prune(keep, check_mode=False, wireguard_binary="wireguard-go", key_dir=None, networks=None, locked=False,
          node=None):
    """Remove every network resource of ours on this node whose namespace is not in `keep`,
    and, with `networks`, the private key of every network not in it. `locked`: the caller holds the node
    lock; `node`: the caller's netlink socket."""
    keep = set(keep)
    with (contextlib.nullcontext() if check_mode or locked else records.node_lock()), \
            (contextlib.nullcontext(node) if node is not None else IPRoute()) as node:
        relay_tables = relay.tags_of(relay.tables())
        tags, workloads = _tags_on_node(node, relay_tables)
        stale = sorted(t for t in tags if PREFIXES["namespace"] + t not in keep)
        changes = []
        for tag in stale:
            resource = dict(names_for_tag(tag), tag=tag)
            actual = {"namespace": netns.exists(resource["namespace"]), "babel": babel.read(resource),
                      "relay": relay_tables.get(tag, {})}
            changes += removal(resource, actual, node, wireguard_binary)
            for kind_name in records.KINDS:
                forget = records.forget_change(kind_name, resource["namespace"])
                changes += [forget] if forget else []
            if tag in workloads:
                changes.append(Change("remove workload %s" % resource["workload"], lambda name=resource["workload"]: (
                    workload.stop_listeners(name), netns.remove(name))))
        if key_dir is not None:
            changes += key_changes(key_dir, networks)
        if not check_mode:
            apply_changes(changes, APPLY_ERRORS)
    return {"changes": [c.text for c in changes], "removed": [PREFIXES["namespace"] + t for t in stale]}
