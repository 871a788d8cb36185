# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: the allocation ledger, on the controller (docs in plugins/modules/ledger.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gridnet.tenant.plugins.plugin_utils import ledger
from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import PlanError


ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    state=dict(type="str", choices=["plan", "settle", "show"], default="plan"),
    networks=dict(type="list", elements="dict", default=[]),
    plaintext=dict(type="bool", default=False),
    applied=dict(type="list", elements="str", default=[]),
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        # Ansible's own validation and boolean conversion: "no", "false" and false all mean no clear text
        try:
            _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return dict(result, failed=True, msg="gridnet.tenant.ledger: %s" % exc.message)
        state, path, plaintext = args["state"], args["path"], args["plaintext"]
        vault = getattr(self._loader, "_vault", None)
        check = self._task.check_mode
        hostvars, groups = task_vars.get("hostvars", {}), task_vars.get("groups", {})
        try:
            if state == "show":
                current = ledger.read(path, vault)
                return dict(result, changed=False, rows=ledger.rows(current), lines=ledger.table_lines(current))
            if state == "plan":
                planned, current, new, changed = ledger.allocate(
                    path, args["networks"], hostvars, groups, vault, plaintext, check)
                released = []
            else:
                released, current, new, changed = ledger.settle_file(
                    path, args["applied"], list(hostvars), vault, plaintext, check)
        except PlanError as exc:
            return dict(result, failed=True, msg="gridnet.tenant.ledger: %s" % exc)
        except OSError as exc:
            return dict(result, failed=True, msg="gridnet.tenant.ledger: %s: %s" % (path, exc))
        result.update(changed=changed, released=released, diff={"before": ledger.table_lines(current),
                                                                 "after": ledger.table_lines(new)})
        if state == "plan":
            result["plan"] = planned
        return result
