# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation ledger's shared storage: etcd, for several controllers (docs/ledger.md).

Under the deployment's prefix, keys named so that they say nothing, every value
vault-encrypted (etcd and its backups see ciphertext only): with layout
``keys`` (the default) the ledger by parts (ledger_etcd_keys); with layout
``single``, ``/l`` holds the whole ledger exactly as ledger_file renders it. A
run that finds the other layout writes its own and deletes that one in the
same transaction. ``/k`` is the lock.
The lock is a key created only if absent, bound to a lease of ``lock_ttl``
seconds that a thread keeps alive while the run holds it: a controller killed
while holding it blocks the others for at most the TTL. The write is a
commit that succeeds only if the ledger is unchanged since it was read
and the lock is still this run's; otherwise the whole read-plan-write is
tried again (the ledger action), so two runs never hand out the same value.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import etcd_gateway, ledger_file
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger_etcd_keys as by_key
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger.etcd_gateway import (
    delete, delete_prefix, put, unchanged_since, value_is)
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger.ledger_etcd_keys import Conflict
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger.ledger_file import LedgerError

LOCK_TTL = 30
LOCK_TIMEOUT = 120
MAX_VALUE = 1536 * 1024 - 4096  # etcd's default --max-request-bytes (1.5 MiB), less the request's envelope
SETTINGS = ("endpoints", "prefix", "ca", "cert", "key", "user", "password", "lock_ttl", "lock_timeout", "layout")
LAYOUTS = ("keys", "single")


def check_settings(settings):
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise LedgerError("gridnet_tenant_ledger_etcd: unknown keys %s (known: %s)"
                          % (", ".join(unknown), ", ".join(SETTINGS)))
    endpoints = settings.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints or \
            not all(isinstance(e, str) and e.startswith(("http://", "https://")) for e in endpoints):
        raise LedgerError("gridnet_tenant_ledger_etcd.endpoints: a list of http(s)://host:port URLs is needed")
    prefix = settings.get("prefix")
    if not isinstance(prefix, str) or not prefix.strip("/"):
        raise LedgerError("gridnet_tenant_ledger_etcd.prefix: a key prefix for this deployment is needed")
    if settings.get("layout", "keys") not in LAYOUTS:
        raise LedgerError("gridnet_tenant_ledger_etcd.layout: %r is none of %s"
                          % (settings.get("layout"), ", ".join(LAYOUTS)))


class EtcdStore(object):
    """The ledger in etcd: locked(), read(), write(), as ledger_file's store."""

    def __init__(self, settings, vault, encrypt_identity=None):
        check_settings(settings)
        if vault is None or not vault.secrets:
            raise LedgerError("the etcd ledger is always vault-encrypted: configure a vault secret "
                              "(--vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE)")
        self.vault, self.encrypt_identity = vault, encrypt_identity
        prefix = "/" + settings["prefix"].strip("/")
        self.root = prefix.encode()
        self.data_key, self.lock_key, self.global_key = [(prefix + k).encode() for k in ("/l", "/k", by_key.GLOBAL)]
        self.layout = settings.get("layout") or "keys"
        self.found, self.keyed, self.layout_read = {}, None, None
        self.name = "etcd ledger %s at %s" % (prefix, ", ".join(settings["endpoints"]))
        self.ttl = int(settings.get("lock_ttl") or LOCK_TTL)
        self.timeout = int(settings.get("lock_timeout") or LOCK_TIMEOUT)
        self.gateway = etcd_gateway.Gateway(settings["endpoints"], settings.get("ca"), settings.get("cert"),
                                            settings.get("key"), settings.get("user"), settings.get("password"))
        self.token = None

    def check_writable(self, ledger):
        """Nothing more to refuse: without a vault secret this store is not made at all."""

    @contextlib.contextmanager
    def locked(self, check=False):
        """The lock for a read-plan-write; check mode only reads, and takes none."""
        if check:
            yield self
            return
        lease = self.gateway.grant(self.ttl)
        token = os.urandom(16).hex().encode()
        deadline = time.monotonic() + self.timeout
        try:
            while not self.gateway.txn([unchanged_since(self.lock_key, 0)], [put(self.lock_key, token, lease)]):
                if time.monotonic() > deadline:
                    raise LedgerError("%s is locked by another run for more than %d s" % (self.name, self.timeout))
                time.sleep(0.2)
            self.token = token
            stop = threading.Event()
            keeper = threading.Thread(target=self._keep, args=(lease, stop), daemon=True)
            keeper.start()
            try:
                yield self
            finally:
                stop.set()
                keeper.join()
                self.token = None
        finally:
            try:
                self.gateway.revoke(lease)  # deletes the lock key bound to it
            except LedgerError:
                pass  # the cluster is gone (the error that matters is already raised): the lease expires

    def _keep(self, lease, stop):
        while not stop.wait(self.ttl / 3.0):
            try:
                self.gateway.keepalive(lease)
            except LedgerError:
                pass  # the write's transaction finds out whether the lock was kept

    def read(self):
        found, _unused = self.gateway.get_prefix(self.root + b"/")
        self.found = found
        single, keyed = found.get(self.data_key), found.get(self.global_key)
        self.layout_read = "keys" if keyed and not (single and self.layout == "single") else \
            "single" if single else None
        if self.layout_read == "keys":
            self.keyed = by_key.read(found, self.root, self.vault, self.name)
            return self.keyed.ledger
        self.keyed = by_key.fresh(found, self.root)
        return ledger_file.loads(single[0], self.vault, self.name) if single else ledger_file.empty()

    @property
    def migrating(self):
        """The ledger is stored in the other layout: the next write moves it."""
        return self.layout_read is not None and self.layout_read != self.layout

    def write(self, ledger):
        lock = [value_is(self.lock_key, self.token)] if self.token is not None else []
        guards = lock + [unchanged_since(k, self.found[k][1] if k in self.found else 0)
                         for k in (self.data_key, self.global_key)]
        if self.layout == "keys":
            by_key.write(self.gateway, self.keyed, ledger, self.encrypt, guards, lock,
                         [delete(self.data_key)] if self.data_key in self.found else [])
            return
        raw = ledger_file.render(ledger, self.vault, False, self.name, self.encrypt_identity)
        if len(raw) > MAX_VALUE:
            raise LedgerError("%s: the ledger is %d bytes encrypted, more than etcd takes in one request by "
                              "default; raise etcd's --max-request-bytes, or store it by key (layout: keys)"
                              % (self.name, len(raw)))
        if not self.gateway.txn(guards, [put(self.data_key, raw), delete(self.global_key),
                                         delete_prefix(self.root + by_key.DATA)]):
            raise Conflict("%s changed, or its lock was lost, since this run read it" % self.name)

    def encrypt(self, text):
        return ledger_file.encrypt(text, self.vault, self.encrypt_identity, self.name)
