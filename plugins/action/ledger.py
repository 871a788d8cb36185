# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: the allocation ledger, on the controller (docs in plugins/modules/ledger.py).

The one place where a run's ledger cycle is put together: under the file's
lock, read (ledger_file), plan (mesh), record or settle (ledger), write.
"""

from __future__ import annotations

import os

from ansible import constants as C
from ansible import context
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.parsing.vault import VaultLib, VaultSecretsContext
from ansible.plugins.action import ActionBase

from ansible_collections.gridnet.tenant.plugins.plugin_utils import ledger, ledger_file
from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import PlanError, require_netaddr
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger_table import table_lines, rows
from ansible_collections.gridnet.tenant.plugins.plugin_utils.mesh import compact_plan


ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    state=dict(type="str", choices=["plan", "settle", "show"], default="plan"),
    networks=dict(type="list", elements="dict", default=[]),
    plaintext=dict(type="bool", default=False),
    applied=dict(type="list", elements="str", default=[]),
)


def _cycle(path, change, vault, plaintext, check, encrypt_identity=None):
    """Read, change and (unless nothing changed, or in check mode) write under one lock.

    change(current) returns (new ledger, what to report). Returns (report, before, after, changed).
    """
    with ledger_file.Locked(path, check=check):
        legacy = ledger_file.legacy_of(path)
        current = ledger_file.read(legacy or path, vault)
        new, report = change(current)
        changed = new != current or legacy is not None  # a ledger of an earlier version moves to its new name
        if changed and not check:
            ledger_file.write(path, new, vault, plaintext, encrypt_identity)
            if legacy:
                os.unlink(legacy)
    return report, current, new, changed


def allocate(path, networks, hostvars, groups=None, vault=None, plaintext=False, check=False, encrypt_identity=None):
    """Plan from the inventory and the ledger, and record what the plan hands out.

    Returns ({plan: the compact plan, assignments: what it hands out}, before, after, changed).
    """
    def change(current):
        the_plan, handed_out = compact_plan(networks, hostvars, groups, ledger.public_keys(current, hostvars),
                                            ledger.assignments(current))
        return ledger.record(current, handed_out), {"plan": the_plan, "assignments": handed_out}
    return _cycle(path, change, vault, plaintext, check, encrypt_identity)


def settle_file(path, applied, inventory_hosts, vault=None, plaintext=False, check=False, encrypt_identity=None):
    """Release what was removed and applied. Returns (released, before, after, changed)."""
    return _cycle(path, lambda current: ledger.settle(current, applied, inventory_hosts), vault, plaintext, check,
                  encrypt_identity)


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
        try:
            if state == "show":
                current = ledger_file.read(ledger_file.legacy_of(path) or path, vault)
                return dict(result, changed=False, rows=rows(current), lines=table_lines(current))
            if state == "plan":
                planned, current, new, changed = allocate(path, args["networks"], hostvars, groups, vault,
                                                          plaintext, check, encrypt_identity)
                released = []
            else:
                released, current, new, changed = settle_file(path, args["applied"], list(hostvars), vault,
                                                              plaintext, check, encrypt_identity)
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
