# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The etcd ledger stored by key (layout ``keys``, the default; docs/ledger.md).

Under the deployment's prefix, ``/g`` holds the committed generation, the salt
that names the network keys, and the global part; every other part of
ledger_parts is a key ``/n/NID/PART/GEN``, vault-encrypted. A write puts the
parts that changed at generation G+1 (in as many transactions as etcd's limits
need), then commits with one transaction that sets ``/g`` to G+1, guarded by
``/g``'s revision and the lock. Readers take, per part, the highest generation
at most the committed one: a write killed before its commit is invisible, and
its keys are garbage the next write deletes. So a run writes only what it
changed, no request grows with the number of networks, and a ledger is always
one whole generation.
"""

from __future__ import annotations

import json
import os

from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger_parts
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger.etcd_gateway import (
    EtcdError, delete, delete_prefix, put)
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger.ledger_file import LedgerError, decrypt

GLOBAL = "/g"
DATA = b"/n/"
MAX_REQUEST = 240 * 1024  # bytes of one transaction's JSON: well under etcd's 1.5 MiB, and under 256 KiB
MAX_OPS = 100  # etcd's --max-txn-ops is 128 by default
GONE = {"gone": True}  # the header of a network removed at a generation


class Conflict(LedgerError):
    """The ledger changed, or the lock was lost, between this run's read and its write."""


class Keyed(object):
    """What a read found: the ledger, its parts and the keys holding them, and what is garbage."""

    def __init__(self, root, generation=0, salt=None):
        self.root, self.generation = root, generation
        self.salt = salt or os.urandom(16).hex()
        self.ledger = None
        self.parts, self.keys, self.garbage, self.gone = {}, {}, [], []


def _key(root, name, generation):
    return root + DATA + ("%s/%012d" % (name, generation)).encode("ascii")


def _decode(raw, vault, name):
    text = decrypt(raw, vault, name)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise LedgerError("%s is corrupt: a part is not JSON (%s)" % (name, exc))


def fresh(found, root):
    """Nothing stored by key yet: every data key found is a killed first write's garbage."""
    keyed = Keyed(root)
    keyed.garbage = sorted(k for k in found if k.startswith(root + DATA))
    return keyed


def read(found, root, vault, name):
    """The Keyed view of `found` (every key under root, at one revision)."""
    top = _decode(found[root + GLOBAL.encode()][0], vault, name)
    keyed = Keyed(root, top["generation"], top["salt"])
    generations = {}  # part name -> {generation: key}
    for key in found:
        if key.startswith(root + DATA):
            part, _sep, generation = key[len(root + DATA):].decode("ascii").rpartition("/")
            generations.setdefault(part, {})[int(generation)] = key
    current = {}
    for part, held in generations.items():
        committed = [g for g in held if g <= keyed.generation]
        if committed:
            current[part] = held[max(committed)]
    parts = {ledger_parts.GLOBAL: top["part"]}
    for part in sorted(p for p in current if p.endswith("/h")):
        header = _decode(found[current[part]][0], vault, name)
        nid = part[:-2]
        if header == GONE:
            keyed.gone.append(nid)
            continue
        names = [part] + ["%s/b%d" % (nid, i) for i in range(header["buckets"])]
        missing = [n for n in names if n not in current]
        if missing:
            raise LedgerError("%s is corrupt: parts %s of a network are missing" % (name, ", ".join(missing)))
        for n in names:
            parts[n] = header if n == part else _decode(found[current[n]][0], vault, name)
            keyed.keys[n] = current[n]
    keyed.parts = {n: ledger_parts.canonical(p) for n, p in parts.items()}  # text: the ledger read shares the parts' dicts
    live = set(keyed.keys.values())
    keyed.garbage = sorted(k for k in found if k.startswith(root + DATA) and k not in live
                           and not any(k.startswith(root + DATA + nid.encode()) for nid in keyed.gone))
    keyed.ledger = ledger_parts.join(parts)
    return keyed


def _batches(ops):
    """ops packed into transactions within etcd's limits; a single op too big for one is refused."""
    batch, used = [], 0
    for op in ops:
        cost = len(json.dumps(op))
        if cost > MAX_REQUEST:
            raise LedgerError("one part of the ledger is %d bytes on the wire, more than one request may carry "
                              "(%d)" % (cost, MAX_REQUEST))
        if batch and (used + cost > MAX_REQUEST or len(batch) >= MAX_OPS):
            yield batch
            batch, used = [], 0
        batch.append(op)
        used += cost
    if batch:
        yield batch


def write(gateway, keyed, ledger, encrypt, commit_guards, lock_guard, commit_extra=()):
    """Write `ledger` as generation G+1 over what `keyed` read.

    encrypt: text -> vault ciphertext; lock_guard: the compares that say the lock is still this run's;
    commit_guards: those plus the revisions of what was read. Conflict when a guard fails.
    """
    generation = keyed.generation + 1
    parts = ledger_parts.split(ledger, keyed.salt)
    # garbage first, in transactions of its own: a killed write's parts may have the very names this one puts,
    # and etcd refuses a transaction that deletes and puts one key
    garbage = [delete(k) for k in keyed.garbage] + [delete_prefix(keyed.root + DATA + n.encode()) for n in keyed.gone]
    texts = {n: ledger_parts.canonical(p) for n, p in parts.items() if n != ledger_parts.GLOBAL}
    changed = [n for n in sorted(texts) if keyed.parts.get(n) != texts[n]]
    puts = [put(_key(keyed.root, n, generation), encrypt(texts[n])) for n in changed]
    removed = sorted({n[:-2] for n in keyed.parts if n.endswith("/h")} - {n[:-2] for n in parts if n.endswith("/h")})
    puts += [put(_key(keyed.root, nid + "/h", generation), encrypt(ledger_parts.canonical(GONE))) for nid in removed]
    for batch in list(_batches(garbage)) + list(_batches(puts)):
        if not gateway.txn(lock_guard, batch):
            raise Conflict("the etcd ledger's lock was lost while this run wrote it")
    top = {"generation": generation, "salt": keyed.salt, "part": parts[ledger_parts.GLOBAL]}
    commit = [put(keyed.root + GLOBAL.encode(), encrypt(ledger_parts.canonical(top)))] + list(commit_extra)
    if not gateway.txn(commit_guards, commit):
        raise Conflict("the etcd ledger changed, or its lock was lost, since this run read it")
    # committed: what the new generation supersedes is garbage now; a run that stops here leaves it to the next
    stale = [delete(keyed.keys[n]) for n in changed if n in keyed.keys]
    stale += [delete(keyed.keys[n]) for n in keyed.keys if n not in parts]
    stale += [delete_prefix(keyed.root + DATA + nid.encode()) for nid in removed]
    try:
        for batch in _batches(stale):
            gateway.txn(lock_guard, batch)
    except EtcdError:
        pass
