# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A ledger cut into parts of bounded size, and joined back (the etcd ledger by key, docs/ledger.md).

One part for what belongs to no network (the format's version, the released
blocks), and per network: a header (its block, VNI, state, access peers and
released prefixes) and `buckets` parts holding, for the nodes hashed into each,
the node's network resource, its listen ports and its published key in that network. A network's
bucket count is the smallest power of two that keeps every bucket under
BUCKET_BYTES, so no part grows with the number of networks, and a part grows only
with one node's links. Pure: the storage (ledger_etcd) names and encrypts parts.
"""

from __future__ import annotations

import hashlib
import hmac
import json

BUCKET_BYTES = 48 * 1024  # JSON of one bucket: vault's hex and the gateway's base64 make it ~3x on the wire
MAX_BUCKETS = 4096
GLOBAL = "g"


def canonical(value):
    """A part as text, the same for equal parts: what is compared, measured and encrypted."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def size(value):
    return len(canonical(value))


def network_id(salt, netid):
    """The opaque name of a network's keys: a keyed hash, the key (salt) kept inside the encrypted global part."""
    return hmac.new(salt.encode("ascii"), netid.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def bucket_of(node, buckets):
    return int(hashlib.sha256(node.encode("utf-8")).hexdigest()[:8], 16) % buckets


def _by_network(ledger):
    """{netid: {node: {resource?, ports?, key?}}} of every network the ledger mentions, in one pass over it."""
    networks = {netid: {} for kind in ("prefixes", "ipv4") for netid in ledger["released"].get(kind) or {}}
    for netid, net in ledger["networks"].items():
        nodes = networks.setdefault(netid, {})
        for node, resource in (net.get("resources") or {}).items():
            nodes.setdefault(node, {})["resource"] = resource
    for section, field in (("ports", "ports"), ("keys", "key")):
        for node, held in (ledger.get(section) or {}).items():
            for netid, value in held.items():
                networks.setdefault(netid, {}).setdefault(node, {})[field] = value
    return networks


def _buckets(nodes):
    count = 1
    while True:
        buckets = [{} for _unused in range(count)]
        for node, entry in nodes.items():
            buckets[bucket_of(node, count)][node] = entry
        if count >= MAX_BUCKETS or all(size(b) <= BUCKET_BYTES for b in buckets):
            return buckets
        count *= 2


def split(ledger, salt):
    """{part name: plain data}: GLOBAL, and per network NID/h and NID/b0.. (NID: network_id(salt, netid))."""
    rest = {k: v for k, v in ledger.items() if k not in ("networks", "ports", "released", "keys")}
    released = ledger["released"]
    parts = {GLOBAL: dict(rest, blocks=released.get("blocks") or [])}
    for netid, nodes in sorted(_by_network(ledger).items()):
        nid = network_id(salt, netid)
        buckets = _buckets(nodes)
        header = {"netid": netid, "buckets": len(buckets)}
        if netid in ledger["networks"]:
            header["network"] = {k: v for k, v in ledger["networks"][netid].items() if k != "resources"}
        for kind in ("prefixes", "ipv4"):
            if netid in (released.get(kind) or {}):
                header[kind] = released[kind][netid]
        parts[nid + "/h"] = header
        for index, bucket in enumerate(buckets):
            parts["%s/b%d" % (nid, index)] = bucket
    return parts


def join(parts):
    """The ledger split() was given, from its parts (a port map left empty for every network is not kept)."""
    top = dict(parts[GLOBAL])
    released = {"blocks": top.pop("blocks", []), "prefixes": {}, "ipv4": {}}
    ledger = dict(top, networks={}, ports={}, released=released)
    for name, header in parts.items():
        if not name.endswith("/h"):
            continue
        netid, nid = header["netid"], name[:-2]
        if "network" in header:
            ledger["networks"][netid] = dict(header["network"], resources={})
        for kind in ("prefixes", "ipv4"):
            if kind in header:
                released[kind][netid] = header[kind]
        for index in range(header["buckets"]):
            for node, entry in parts["%s/b%d" % (nid, index)].items():
                if "resource" in entry:
                    ledger["networks"][netid]["resources"][node] = entry["resource"]
                if "ports" in entry:
                    ledger["ports"].setdefault(node, {})[netid] = entry["ports"]
                if "key" in entry:
                    ledger.setdefault("keys", {}).setdefault(node, {})[netid] = entry["key"]
    return ledger
