# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation ledger: every network object handed out, kept between runs and controllers.

The ledger is a vars file (``gridnet_tenant_ledger: {...}``), by default
``group_vars/all/gridnet_tenant_ledger.yml`` of the inventory, encrypted whole
with Ansible Vault when a vault secret is configured:

    version: 1
    networks:  {netid: {block, vni, state, resources: {node: {prefix, ipv4, public_key, state}}}}
    ports:     {node: {netid: {peer: port}}}
    released:  {blocks: [...], prefixes: {netid: [...]}, ipv4: {netid: [...]}}   # in order of release

state is ``active`` or ``removing`` (left the inventory; still reserved until
its removal has been applied). Released prefixes are reused only after every
other free one. Writes hold an exclusive lock for the whole read-plan-write,
and replace the file atomically, so two runs never hand out the same prefix
and a killed run leaves the previous ledger whole.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import os
import time

import yaml

from ansible_collections.gridnet.tenant.plugins.module_utils.files import write_atomic
from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import PlanError

VARIABLE = "gridnet_tenant_ledger"
VERSION = 1
VAULT_HEADER = "$ANSIBLE_VAULT;"
LOCK_TIMEOUT = 120


class LedgerError(PlanError):
    pass


def empty():
    return {"version": VERSION, "networks": {}, "ports": {}, "released": {"blocks": [], "prefixes": {}, "ipv4": {}}}


# ---------------------------------------------------------------- file: lock, read, write

class Locked(object):
    """A lock beside the ledger, held from reading to writing.

    In check mode it only reads: a shared lock on the lock file when there is
    one, and nothing at all created (no lock file, no directory) when there is none.
    """

    def __init__(self, path, timeout=LOCK_TIMEOUT, check=False):
        self.path, self.timeout, self.check, self.handle = path + ".lock", timeout, check, None

    def __enter__(self):
        if self.check:
            if not os.path.exists(self.path):
                return self
            self.handle = open(self.path, "r")
        else:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self.handle = open(self.path, "a")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle, (fcntl.LOCK_SH if self.check else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    self.handle.close()
                    raise LedgerError("ledger %s is locked by another run for more than %d s"
                                      % (self.path[:-5], self.timeout))
                time.sleep(0.05)

    def __exit__(self, *exc):
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()


def read(path, vault=None):
    """The ledger at path (empty when there is none). vault: an ansible VaultLib, or None."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return empty()
    text = raw.decode("utf-8", errors="replace")
    if text.startswith(VAULT_HEADER):
        if vault is None or not vault.secrets:
            raise LedgerError("ledger %s is encrypted with Ansible Vault and no vault secret is configured "
                              "(--vault-password-file, --ask-vault-pass or ANSIBLE_VAULT_PASSWORD_FILE)" % path)
        try:
            text = vault.decrypt(raw).decode("utf-8")
        except Exception as exc:  # AnsibleVaultError and friends: the message is the point
            raise LedgerError("ledger %s cannot be decrypted with the configured vault secret: %s" % (path, exc))
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise LedgerError("ledger %s is corrupt (not YAML): %s" % (path, exc))
    ledger = data.get(VARIABLE) if isinstance(data, dict) else None
    if not isinstance(ledger, dict) or ledger.get("version") != VERSION:
        raise LedgerError("ledger %s is corrupt: no %s mapping of version %d" % (path, VARIABLE, VERSION))
    result = empty()
    result.update(ledger)
    return result


def _plain(value):
    """Plain Python types: Ansible's tagged strings and the like are not YAML-safe."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    return str(value)


def render(ledger, vault=None, plaintext=False, path="ledger"):
    """The file's bytes: vault-encrypted, or YAML only when plaintext was asked for."""
    text = "# gridnet.tenant allocation ledger: written by the collection, do not edit by hand\n"
    text += yaml.safe_dump({VARIABLE: _plain(ledger)}, default_flow_style=False, sort_keys=True)
    if vault is not None and vault.secrets:
        vault_id, secret = vault.secrets[0]
        return vault.encrypt(text.encode("utf-8"), secret=secret, vault_id=vault_id)
    if not plaintext:
        raise LedgerError("no vault secret is configured to encrypt ledger %s; configure one "
                          "(--vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE) or set "
                          "gridnet_tenant_ledger_plaintext: true to keep it in clear text" % path)
    return text.encode("utf-8")


def write(path, ledger, vault=None, plaintext=False):
    """Replace the ledger atomically: a reader sees the old file or the new one, never half."""
    write_atomic(path, render(ledger, vault, plaintext, path), mode=0o600, prefix=".gridnet-ledger-")


# ---------------------------------------------------------------- content: what the planner takes, what it gave

def assignments(ledger):
    """The planner's `assignments`: every recorded object (removing ones stay taken) and the released ones."""
    return {
        "networks": {
            netid: {"block": net.get("block"), "vni": net.get("vni"),
                    "resources": {node: {k: r.get(k) for k in ("prefix", "ipv4", "public_key")}
                                  for node, r in (net.get("resources") or {}).items()}}
            for netid, net in ledger["networks"].items()
        },
        "ports": ledger["ports"],
        "released": ledger["released"],
    }


def public_keys(ledger, hostvars=None, fact="gridnet_tenant_public_keys"):
    """{node: {netid: key}}: recorded keys, overlaid with the keys hosts of this play published."""
    keys = {}
    for netid, net in ledger["networks"].items():
        for node, resource in (net.get("resources") or {}).items():
            if resource.get("public_key"):
                keys.setdefault(node, {})[netid] = resource["public_key"]
    for node in (hostvars or {}):
        published = (hostvars[node] or {}).get(fact) if hasattr(hostvars[node], "get") else None
        if published:
            keys[node] = dict(keys.get(node, {}), **published)
    return keys


def record(ledger, planned):
    """The ledger after a plan: its assignments recorded active; what left the plan marked removing."""
    new = copy.deepcopy(ledger)
    given = planned["assignments"]
    for netid, net in new["networks"].items():
        if netid not in given["networks"]:
            net["state"] = "removing"
            for resource in net["resources"].values():
                resource["state"] = "removing"
    for netid, net in given["networks"].items():
        entry = new["networks"].setdefault(netid, {"resources": {}})
        entry.update(block=net["block"], vni=net["vni"], state="active")
        for node, resource in entry["resources"].items():
            if node not in net["resources"]:
                resource["state"] = "removing"
        for node, resource in net["resources"].items():
            entry["resources"][node] = dict(resource, state="active")
        _unrelease(new["released"]["prefixes"], netid, [r["prefix"] for r in net["resources"].values()])
        _unrelease(new["released"]["ipv4"], netid, [r["ipv4"] for r in net["resources"].values() if r.get("ipv4")])
        if net["block"] in new["released"]["blocks"]:
            new["released"]["blocks"].remove(net["block"])
    for node, networks in given["ports"].items():
        for netid, peers in networks.items():
            new["ports"].setdefault(node, {}).setdefault(netid, {}).update(peers)
    return new


def _unrelease(released, netid, taken):
    if netid in released:
        released[netid] = [p for p in released[netid] if p not in taken]
        if not released[netid]:
            del released[netid]


def settle(ledger, applied, inventory_hosts):
    """Release what is removing and whose removal has been applied.

    A removed network resource is released once its own node and every other
    node of its network ran this run's converge without failing (`applied`),
    or are no longer in the inventory at all.
    """
    new = copy.deepcopy(ledger)
    done, present = set(applied), set(inventory_hosts)

    def gone(node):
        return node in done or node not in present
    released = []
    for netid, net in sorted(new["networks"].items()):
        resources = net["resources"]
        if not all(gone(node) for node in resources):
            continue
        for node in sorted(n for n, r in resources.items() if r.get("state") == "removing"):
            resource = resources.pop(node)
            new["released"]["prefixes"].setdefault(netid, []).append(resource["prefix"])
            if resource.get("ipv4"):
                new["released"]["ipv4"].setdefault(netid, []).append(resource["ipv4"])
            new["ports"].get(node, {}).pop(netid, None)
            for other in new["ports"].values():
                other.get(netid, {}).pop(node, None)
            released.append("%s/%s %s" % (netid, node, resource["prefix"]))
        if net.get("state") == "removing" and not resources:
            new["released"]["blocks"].append(net["block"])
            new["released"]["prefixes"].pop(netid, None)  # prefixes of a released block go with it
            new["released"]["ipv4"].pop(netid, None)
            del new["networks"][netid]
            released.append("%s %s" % (netid, net["block"]))
    for node in [n for n, networks in new["ports"].items() if not any(networks.values())]:
        del new["ports"][node]
    return new, released


def rows(ledger):
    """The ledger as table rows: network, node, prefix, IPv4 subnet, ports, state."""
    table = []
    for netid, net in sorted(ledger["networks"].items()):
        table.append({"network": netid, "node": "-", "prefix": net.get("block"), "ipv4": "-",
                      "ports": "vni %s" % net.get("vni"), "state": net.get("state", "active")})
        for node, resource in sorted(net["resources"].items()):
            ports = sorted((ledger["ports"].get(node) or {}).get(netid, {}).values())
            table.append({"network": netid, "node": node, "prefix": resource.get("prefix"),
                          "ipv4": resource.get("ipv4") or "-", "ports": ",".join(str(p) for p in ports) or "-",
                          "state": resource.get("state", "active")})
    for block in ledger["released"]["blocks"]:
        table.append({"network": "-", "node": "-", "prefix": block, "ipv4": "-", "ports": "-", "state": "released"})
    for netid, prefixes in sorted(ledger["released"]["prefixes"].items()):
        for prefix in prefixes:
            table.append({"network": netid, "node": "-", "prefix": prefix, "ipv4": "-", "ports": "-",
                          "state": "released"})
    return table


def table_lines(ledger):
    columns = ("network", "node", "prefix", "ipv4", "ports", "state")
    body = rows(ledger)
    width = {c: max([len(c)] + [len(str(r[c])) for r in body]) for c in columns}
    def line(row):
        return "  ".join(str(row[c]).ljust(width[c]) for c in columns).rstrip()
    return [line({c: c.upper() for c in columns})] + [line(r) for r in body]


# ---------------------------------------------------------------- one locked cycle

def allocate(path, networks, hostvars, groups=None, vault=None, plaintext=False, check=False):
    """Read, plan, record and write under one lock. Returns (plan, before, after, changed)."""
    from ansible_collections.gridnet.tenant.plugins.plugin_utils.mesh import plan

    with Locked(path, check=check):
        current = read(path, vault)
        planned = plan(networks, hostvars, groups, public_keys(current, hostvars), assignments(current))
        new = record(current, planned)
        changed = new != current
        if changed and not check:
            write(path, new, vault, plaintext)
    return planned, current, new, changed


def settle_file(path, applied, inventory_hosts, vault=None, plaintext=False, check=False):
    """settle() under the lock. Returns (released, before, after, changed)."""
    with Locked(path, check=check):
        current = read(path, vault)
        new, released = settle(current, applied, inventory_hosts)
        changed = new != current
        if changed and not check:
            write(path, new, vault, plaintext)
    return released, current, new, changed
