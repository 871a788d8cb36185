# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: the allocation ledger, on the controller (docs in plugins/modules/ledger.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.gridnet.tenant.plugins.plugin_utils import ledger
from ansible_collections.gridnet.tenant.plugins.plugin_utils.errors import PlanError


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("path", "state", "networks", "plaintext", "applied"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        state = args.get("state", "plan")
        path = args.get("path")
        if state not in ("plan", "settle", "show"):
            return dict(result, failed=True, msg="state must be plan, settle or show, not %r" % state)
        if not path:
            return dict(result, failed=True, msg="path (the ledger file) is required")
        vault = getattr(self._loader, "_vault", None)
        plaintext = bool(args.get("plaintext", False))
        check = self._task.check_mode
        hostvars, groups = task_vars.get("hostvars", {}), task_vars.get("groups", {})
        try:
            if state == "show":
                current = ledger.read(path, vault)
                return dict(result, changed=False, rows=ledger.rows(current), lines=ledger.table_lines(current))
            if state == "plan":
                planned, current, new, changed = ledger.allocate(
                    path, args.get("networks") or [], hostvars, groups, vault, plaintext, check)
                released = []
            else:
                released, current, new, changed = ledger.settle_file(
                    path, args.get("applied") or [], list(hostvars), vault, plaintext, check)
        except PlanError as exc:
            return dict(result, failed=True, msg="gridnet.tenant.ledger: %s" % exc)
        except OSError as exc:
            return dict(result, failed=True, msg="gridnet.tenant.ledger: %s: %s" % (path, exc))
        result.update(changed=changed, released=released, diff={"before": ledger.table_lines(current),
                                                                 "after": ledger.table_lines(new)})
        if state == "plan":
            result["plan"] = planned
        return result
