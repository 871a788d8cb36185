# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation ledger's content: every network object handed out, and how a run changes it.

    version: 1
    networks:  {netid: {block, vni, state, resources: {node: {prefix, ipv4, public_key, state}},
                        access: {name: {host, node, public_key}}}}   # access: only with access peers
    ports:     {node: {netid: {peer: port}}}
    released:  {blocks: [...], prefixes: {netid: [...]}, ipv4: {netid: [...]}}   # in order of release
    keys:      {node: {netid: public key}}   # only keys published before their resource was planned

state is ``active`` or ``removing`` (left the inventory; still reserved until
its removal has been applied); a removing resource lists in ``applied`` the
nodes whose converge has removed it so far (runs sliced by host add up).
Released prefixes are reused only after every other free one. Storage is
ledger_file.py's (or ledger_etcd's); the ledger action runs the cycle.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.access import PORT_KEY as ACCESS_PORT_KEY
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.allocation import RELAY_KEY


def assignments(ledger):
    """The planner's `assignments`: every recorded object (removing ones stay taken) and the released ones."""
    return {
        "networks": {
            netid: {"block": net.get("block"), "vni": net.get("vni"),
                    "resources": {node: {k: r.get(k) for k in ("prefix", "ipv4", "public_key")}
                                  for node, r in (net.get("resources") or {}).items()},
                    "access": net.get("access") or {}}
            for netid, net in ledger["networks"].items()
        },
        "ports": ledger["ports"],
        "released": ledger["released"],
    }


def public_keys(ledger, hostvars=None, fact="gridnet_tenant_public_keys"):
    """{node: {netid: key}}: recorded keys, overlaid with the keys hosts of this play published."""
    keys = {node: dict(networks) for node, networks in (ledger.get("keys") or {}).items()}
    for netid, net in ledger["networks"].items():
        for node, resource in (net.get("resources") or {}).items():
            if resource.get("public_key") and netid not in keys.get(node, {}):
                keys.setdefault(node, {})[netid] = resource["public_key"]
    for node in (hostvars or {}):
        published = published_keys(hostvars, node, fact)
        if published:
            keys[node] = dict(keys.get(node, {}), **published)
    return keys


def published_keys(hostvars, node, fact="gridnet_tenant_public_keys"):
    """{netid: key} that `node` published in this run (its keys step), or {}."""
    host = hostvars.get(node) if hasattr(hostvars, "get") else None
    published = host.get(fact) if hasattr(host, "get") else None
    return {str(k): str(v) for k, v in published.items()} if published else {}


def publish(ledger, published):
    """The ledger with the public keys `published` ({node: {netid: key}}) that it does not hold yet: so that a
    run limited to some hosts (a slice) can plan links to nodes it does not run on."""
    new = _copy(ledger)
    for node, networks in sorted(published.items()):
        for netid, key in sorted((networks or {}).items()):
            resource = ((new["networks"].get(netid) or {}).get("resources") or {}).get(node) or {}
            if resource.get("public_key") == key and resource.get("state") == "active":
                new.get("keys", {}).get(node, {}).pop(netid, None)
            else:
                new.setdefault("keys", {}).setdefault(node, {})[netid] = key
    _drop_empty_keys(new)
    return new


def _drop_empty_keys(ledger):
    held = ledger.get("keys")
    if held is not None:
        for node in [n for n, networks in held.items() if not networks]:
            del held[node]
        if not held:
            del ledger["keys"]


def record(ledger, given):
    """The ledger after a plan handed out `given` (its assignments): recorded active; what left it marked removing."""
    new = _copy(ledger)
    for netid, net in new["networks"].items():
        if netid not in given["networks"]:
            net["state"] = "removing"
            for resource in net["resources"].values():
                resource["state"] = "removing"
    for netid, net in given["networks"].items():
        entry = new["networks"].setdefault(netid, {"resources": {}})
        entry.update(block=net["block"], vni=net["vni"], state="active")
        if net.get("access"):  # an access peer's host number lives as long as its entry in the inventory
            entry["access"] = net["access"]
        else:
            entry.pop("access", None)
        for node, resource in entry["resources"].items():
            if node not in net["resources"]:
                resource["state"] = "removing"
        for node, resource in net["resources"].items():
            entry["resources"][node] = dict(resource, state="active")
            new.get("keys", {}).get(node, {}).pop(netid, None)  # the resource holds its key now
        _unrelease(new["released"]["prefixes"], netid, [r["prefix"] for r in net["resources"].values()])
        _unrelease(new["released"]["ipv4"], netid, [r["ipv4"] for r in net["resources"].values() if r.get("ipv4")])
        if net["block"] in new["released"]["blocks"]:
            new["released"]["blocks"].remove(net["block"])
    for node, networks in given["ports"].items():
        for netid, peers in networks.items():
            if peers:  # a node without WireGuard links holds no port: settle() would drop the empty entry again
                held = new["ports"].setdefault(node, {}).setdefault(netid, {})
                for gone in [k for k in held if k.startswith(ACCESS_PORT_KEY) and k not in peers]:
                    del held[gone]  # an access peer's link goes in this run's converge: its port with it
                held.update(peers)
    _drop_empty_keys(new)
    return new


def _copy(value):
    """A deep copy of plain data (dicts, lists, scalars): copy.deepcopy's memo costs seconds on a million ports."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _unrelease(released, netid, taken):
    if netid in released:
        released[netid] = [p for p in released[netid] if p not in taken]
        if not released[netid]:
            del released[netid]


def settle(ledger, applied, inventory_hosts):
    """Release what is removing and whose removal has been applied.

    A removed network resource is released once its own node and every other
    node of its network ran a converge without failing since it was marked
    removing (`applied` of this run, added to those of earlier runs: a run
    sliced by host settles slice by slice), or are no longer in the inventory.
    """
    new = _copy(ledger)
    done, present = set(applied), set(inventory_hosts)
    released = []
    for netid, net in sorted(new["networks"].items()):
        resources = net["resources"]
        for node in sorted(n for n, r in resources.items() if r.get("state") == "removing"):
            resource = resources[node]
            seen = set(resource.get("applied") or ()) | (done & set(resources))
            if not all(n in seen or n not in present for n in resources):
                resource["applied"] = sorted(seen)
                continue
            del resources[node]
            new["released"]["prefixes"].setdefault(netid, []).append(resource["prefix"])
            if resource.get("ipv4"):
                new["released"]["ipv4"].setdefault(netid, []).append(resource["ipv4"])
            new["ports"].get(node, {}).pop(netid, None)
            for other in new["ports"].values():
                held = other.get(netid, {})
                held.pop(node, None)
                for key in [k for k in held if RELAY_KEY in k and node in k.split(RELAY_KEY)]:
                    del held[key]  # a relay's ports for a pair the node was in
            released.append("%s/%s %s" % (netid, node, resource["prefix"]))
        if net.get("state") == "removing" and not resources:
            new["released"]["blocks"].append(net["block"])
            new["released"]["prefixes"].pop(netid, None)  # prefixes of a released block go with it
            new["released"]["ipv4"].pop(netid, None)
            del new["networks"][netid]
            released.append("%s %s" % (netid, net["block"]))
            for networks in (new.get("keys") or {}).values():
                networks.pop(netid, None)
    _drop_empty_keys(new)
    for node in [n for n, networks in new["ports"].items() if not any(networks.values())]:
        del new["ports"][node]
    return new, released
