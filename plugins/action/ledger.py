# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: the allocation ledger, on the controller (docs in plugins/modules/ledger.py).

The one place where a run's ledger cycle is put together: under the store's
lock (ledger_file's file, or ledger_etcd's etcd), read, plan (mesh), record or settle
(ledger), write; and moving a whole ledger between the two.
"""

from __future__ import annotations

from ansible import constants as C
from ansible import context
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.parsing.vault import VaultLib, VaultSecretsContext
from ansible.plugins.action import ActionBase

from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger, ledger_file
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger.ledger_etcd import Conflict, EtcdStore
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError, require_netaddr
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger.ledger_table import table_lines, rows
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import compact_plan


ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    state=dict(type="str", choices=["plan", "settle", "show", "check", "migrate", "export", "publish"],
               default="plan"),
    networks=dict(type="list", elements="dict", default=[]),
    plaintext=dict(type="bool", default=False),
    applied=dict(type="list", elements="str", default=[]),
    hosts=dict(type="list", elements="str", default=[]),
    backend=dict(type="str", choices=["file", "etcd"], default="file"),
    etcd=dict(type="dict", default={}, no_log=False),
)
ATTEMPTS = 5  # a shared ledger's read-plan-write, tried again when another run wrote in between


def _cycle(store, change, check):
    """Read, change and (unless nothing changed, or in check mode) write under the store's lock.

    change(current) returns (new ledger, what to report). Returns (report, before, after, changed).
    """
    for attempt in range(ATTEMPTS):
        try:
            with store.locked(check):
                current = store.read()
                new, report = change(current)
                changed = new != current or store.migrating  # an earlier version's file moves to its new name
                if changed and not check:
                    store.write(new)
            return report, current, new, changed
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _file(path, vault, plaintext, encrypt_identity, store):
    return store if store is not None else ledger_file.FileStore(path, vault, plaintext, encrypt_identity)


def allocate(path, networks, hostvars, groups=None, vault=None, plaintext=False, check=False, encrypt_identity=None,
             store=None):
    """Plan from the inventory and the ledger (the file at path, or `store`), and record what the plan hands out.

    Returns ({plan: the compact plan, assignments: what it hands out}, before, after, changed).
    """
    def change(current):
        the_plan, handed_out = compact_plan(networks, hostvars, groups, ledger.public_keys(current, hostvars),
                                            ledger.assignments(current))
        return ledger.record(current, handed_out), {"plan": the_plan, "assignments": handed_out}
    return _cycle(_file(path, vault, plaintext, encrypt_identity, store), change, check)


def settle_file(path, applied, inventory_hosts, vault=None, plaintext=False, check=False, encrypt_identity=None,
                store=None):
    """Release what was removed and applied. Returns (released, before, after, changed)."""
    return _cycle(_file(path, vault, plaintext, encrypt_identity, store),
                  lambda current: ledger.settle(current, applied, inventory_hosts), check)


def transfer(source, target, check=False):
    """Copy the whole ledger from one store to another (file -> etcd, etcd -> file). A target already
    holding another non-empty ledger is refused. Returns (before: the target's, after, changed)."""
    with source.locked(check=True):
        moved = source.read()

    def change(current):
        if current != ledger_file.empty() and current != moved:
            raise ledger_file.LedgerError("%s already holds a different ledger; it is left as it is"
                                          % target.name)
        return moved, None
    _unused, before, after, changed = _cycle(target, change, check)
    return before, after, changed


def _store(backend, settings, path, vault, plaintext, encrypt_identity):
    if backend == "etcd":
        if plaintext:
            raise ledger_file.LedgerError("the etcd ledger is always vault-encrypted: "
                                          "gridnet_tenant_ledger_plaintext cannot be true with it")
        return EtcdStore(settings, vault, encrypt_identity)
    return ledger_file.FileStore(path, vault, plaintext, encrypt_identity)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        # Ansible's own validation and boolean conversion: "no", "false" and false all mean no clear text
        try:
            _unused, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return dict(result, failed=True, msg="gridnet.tenant.ledger: %s" % exc.message)
        state, path, plaintext = args["state"], args["path"], args["plaintext"]
        if state == "plan":
            try:
                require_netaddr()
            except AnsibleError as exc:
                return dict(result, failed=True, msg="gridnet.tenant.ledger: %s" % exc.message)
        # the secrets this run was given (--vault-id, --vault-password-file, ...) and the identity
        # ansible-vault would encrypt with
        secrets = VaultSecretsContext.current(optional=True)
        vault = VaultLib(secrets.secrets if secrets else [])
        encrypt_identity = context.CLIARGS.get("encrypt_vault_id") or C.DEFAULT_VAULT_ENCRYPT_IDENTITY
        if isinstance(encrypt_identity, (list, tuple)):  # ansible-vault's option is a list: its last one wins
            encrypt_identity = encrypt_identity[-1]
        check = self._task.check_mode
        hostvars, groups = task_vars.get("hostvars", {}), task_vars.get("groups", {})
        file_store = ledger_file.FileStore(path, vault, plaintext, encrypt_identity)
        try:
            store = _store(args["backend"], args["etcd"], path, vault, plaintext, encrypt_identity)
            if state in ("show", "check"):
                with store.locked(check=True):
                    current = store.read()
                if state == "check":  # what the write at the end of the run would refuse, refused now
                    store.check_writable(current)
                return dict(result, changed=False, rows=rows(current), lines=table_lines(current))
            released = []
            if state == "plan":
                planned, current, new, changed = allocate(path, args["networks"], hostvars, groups, check=check,
                                                          store=store)
            elif state == "settle":
                released, current, new, changed = settle_file(path, args["applied"], list(hostvars), check=check,
                                                              store=store)
            elif state == "publish":
                published = {h: ledger.published_keys(hostvars, h) for h in args["hosts"]}
                _unused, current, new, changed = _cycle(
                    store, lambda current: (ledger.publish(current, published), None), check)
            elif args["backend"] != "etcd":
                return dict(result, failed=True, msg="gridnet.tenant.ledger: state=%s moves a ledger between the "
                                                     "file and etcd: it needs backend=etcd" % state)
            elif state == "migrate":
                current, new, changed = transfer(file_store, store, check)
            else:
                current, new, changed = transfer(store, file_store, check)
        except PlanError as exc:
            return dict(result, failed=True, msg="gridnet.tenant.ledger: %s" % exc)
        except OSError as exc:
            return dict(result, failed=True, msg="gridnet.tenant.ledger: %s: %s" % (path, exc))
        # diff sides are text, as Ansible's callbacks expect
        diff = {"before": "\n".join(table_lines(current)) + "\n", "after": "\n".join(table_lines(new)) + "\n"}
        result.update(changed=changed, released=released, diff=diff)
        if state == "plan":
            result["plan"] = planned["plan"]
        return result
