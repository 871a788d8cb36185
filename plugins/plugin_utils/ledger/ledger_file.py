# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation ledger's storage: a vars file, locked, vault-encrypted, replaced atomically.

The ledger is a YAML file (``gridnet_tenant_ledger: {...}``, the mapping written
as one JSON object, which is YAML too: a full mesh of 1,000 nodes holds a
million listen ports, which JSON reads in a second where YAML takes half a
minute; a ledger written as block YAML by an earlier version is read as YAML), by default
``group_vars/all/gridnet_tenant_ledger.vault`` beside the inventory, encrypted
whole with Ansible Vault when a vault secret is configured. Its extension keeps
Ansible's own vars loading away from it: only the ledger action reads it, so a
corrupt ledger fails naming the file and what is wrong. A ledger at the name of
versions before 0.2.0 (``gridnet_tenant_ledger.yml``, which Ansible loaded as
vars) is moved on the first write. Writes hold an exclusive
lock for the whole read-plan-write (the ledger action), and replace the file
atomically, so two runs never hand out the same prefix and a killed run leaves
the previous ledger whole. Its content is ledger.py's.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time

import yaml
from ansible.errors import AnsibleError
from ansible.parsing.vault import AnsibleVaultFormatError, match_encrypt_secret

from ansible_collections.gridnet.tenant.plugins.module_utils.common.files import write_atomic
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError

VARIABLE = "gridnet_tenant_ledger"
DEFAULT_NAME = "gridnet_tenant_ledger.vault"
LEGACY_NAME = "gridnet_tenant_ledger.yml"  # before 0.2.0: loaded by Ansible as a vars file
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


def legacy_of(path):
    """The ledger of an earlier version to move to `path`, or None: only for the default name, and only
    while `path` itself does not exist."""
    if os.path.basename(path) != DEFAULT_NAME or os.path.exists(path):
        return None
    legacy = os.path.join(os.path.dirname(path), LEGACY_NAME)
    return legacy if os.path.exists(legacy) else None


def read(path, vault=None):
    """The ledger at path (empty when there is none). vault: an ansible VaultLib, or None."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return empty()
    return loads(raw, vault, path)


def loads(raw, vault=None, path="ledger"):
    """The ledger in raw (the bytes render() makes), named `path` in errors."""
    text = raw.decode("utf-8", errors="replace")
    if text.startswith(VAULT_HEADER):
        text = decrypt(raw, vault, path)
    try:
        data = _parse(text)
    except yaml.YAMLError as exc:
        raise LedgerError("ledger %s is corrupt (not YAML): %s" % (path, exc))
    ledger = data.get(VARIABLE) if isinstance(data, dict) else None
    if not isinstance(ledger, dict) or ledger.get("version") != VERSION:
        raise LedgerError("ledger %s is corrupt: no %s mapping of version %d (found %s)"
                          % (path, VARIABLE, VERSION, type(data).__name__ if not isinstance(data, dict)
                             else type(ledger).__name__ if not isinstance(ledger, dict)
                             else "version %r" % ledger.get("version")))
    result = empty()
    result.update(ledger)
    for problem in _shape_problems(result):
        raise LedgerError("ledger %s is corrupt: %s" % (path, problem))
    return result


def decrypt(raw, vault, path="ledger"):
    """The text of vault ciphertext `raw`; LedgerError naming `path` and saying what is wrong otherwise."""
    if vault is None or not vault.secrets:
        raise LedgerError("ledger %s is encrypted with Ansible Vault and no vault secret is configured "
                          "(--vault-password-file, --ask-vault-pass or ANSIBLE_VAULT_PASSWORD_FILE)" % path)
    try:
        return vault.decrypt(raw).decode("utf-8")
    except AnsibleVaultFormatError as exc:
        raise LedgerError("ledger %s is corrupt: its vault envelope cannot be read (%s)" % (path, exc))
    except Exception as exc:  # AnsibleVaultError and friends: the message is the point
        raise LedgerError("ledger %s cannot be decrypted with the configured vault secret: %s" % (path, exc))


def encrypt(text, vault, encrypt_identity=None, path="ledger"):
    """Vault ciphertext of `text`, with the secret `ansible-vault encrypt` would choose (encrypt_secret)."""
    vault_id, secret = encrypt_secret(vault, encrypt_identity, path)
    return vault.encrypt(text.encode("utf-8"), secret=secret, vault_id=vault_id)


def _shape_problems(ledger):
    """What in a ledger is not of the shape ledger.py reads (one line each)."""
    def mapping_of_mappings(value, what):
        if not isinstance(value, dict):
            yield "%s is a %s, not a mapping" % (what, type(value).__name__)
            return
        for key, inner in value.items():
            if not isinstance(inner, dict):
                yield "%s.%s is a %s, not a mapping" % (what, key, type(inner).__name__)
    yield from mapping_of_mappings(ledger["networks"], "networks")
    if isinstance(ledger["networks"], dict):
        for netid, net in ledger["networks"].items():
            if isinstance(net, dict):
                yield from mapping_of_mappings(net.get("resources", {}), "networks.%s.resources" % netid)
                yield from mapping_of_mappings(net.get("access", {}), "networks.%s.access" % netid)
    yield from mapping_of_mappings(ledger["ports"], "ports")
    yield from mapping_of_mappings(ledger.get("keys", {}), "keys")
    released = ledger["released"]
    if not isinstance(released, dict) or not isinstance(released.get("blocks", []), list):
        yield "released is not a mapping with a list of blocks"
    elif any(not isinstance(released.get(k, {}), dict) for k in ("prefixes", "ipv4")):
        yield "released.prefixes and released.ipv4 must be mappings of netid to prefixes"


def _parse(text):
    """The file's data: the mapping as JSON after its key (as written), else any YAML (earlier versions)."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    if body.startswith(VARIABLE + ": {"):
        try:
            return {VARIABLE: json.loads(body[len(VARIABLE) + 2:])}
        except ValueError:
            pass  # not JSON after all: YAML says what is wrong with it
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}


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


def encrypt_secret(vault, encrypt_identity=None, path="ledger"):
    """(vault id, secret) to encrypt with, chosen the way `ansible-vault encrypt` chooses.

    The configured encrypt identity (ANSIBLE_VAULT_ENCRYPT_IDENTITY) when there is
    one; else the only secret; several secrets and no identity is refused.
    """
    if encrypt_identity is None and len(vault.secrets) > 1:
        raise LedgerError("vault ids %s are available to encrypt ledger %s; say which with "
                          "ANSIBLE_VAULT_ENCRYPT_IDENTITY (vault_encrypt_identity in ansible.cfg)"
                          % (", ".join(v for v, _unused in vault.secrets), path))
    try:
        return match_encrypt_secret(vault.secrets, encrypt_vault_id=encrypt_identity)
    except AnsibleError as exc:
        raise LedgerError("ledger %s: %s" % (path, exc))


def render(ledger, vault=None, plaintext=False, path="ledger", encrypt_identity=None):
    """The file's bytes: vault-encrypted, or YAML only when plaintext was asked for."""
    text = "# gridnet.tenant allocation ledger: written by the collection, do not edit by hand\n"
    text += "%s: %s\n" % (VARIABLE, json.dumps(_plain(ledger), sort_keys=True, separators=(",", ":")))
    if vault is not None and vault.secrets:
        return encrypt(text, vault, encrypt_identity, path)
    if not plaintext:
        raise LedgerError("no vault secret is configured to encrypt ledger %s; configure one "
                          "(--vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE) or set "
                          "gridnet_tenant_ledger_plaintext: true to keep it in clear text" % path)
    return text.encode("utf-8")


def write(path, ledger, vault=None, plaintext=False, encrypt_identity=None):
    """Replace the ledger atomically: a reader sees the old file or the new one, never half."""
    write_atomic(path, render(ledger, vault, plaintext, path, encrypt_identity), mode=0o600, prefix=".gridnet-ledger-")


class FileStore(object):
    """The ledger file as a store: locked(), read(), write(); ledger_etcd.EtcdStore is the shared one."""

    def __init__(self, path, vault=None, plaintext=False, encrypt_identity=None):
        self.path, self.vault, self.plaintext, self.encrypt_identity = path, vault, plaintext, encrypt_identity
        self.name = "ledger %s" % path
        self.legacy = None

    def locked(self, check=False):
        return Locked(self.path, check=check)

    @property
    def migrating(self):
        """An earlier version's file is read, and moves to its new name at the write."""
        return self.legacy is not None

    def read(self):
        self.legacy = legacy_of(self.path)
        return read(self.legacy or self.path, self.vault)

    def check_writable(self, ledger):
        """Refuse now what write() would refuse at the end of the run (no vault secret, no plaintext asked)."""
        render(ledger, self.vault, self.plaintext, self.path, self.encrypt_identity)

    def write(self, ledger):
        write(self.path, ledger, self.vault, self.plaintext, self.encrypt_identity)
        if self.legacy:
            os.unlink(self.legacy)
            self.legacy = None
