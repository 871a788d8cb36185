# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: this host's slice of the run's plan, on the controller only (docs in plugins/modules/plan_slice.py)."""

from __future__ import annotations

import json
import os

from ansible_collections.gridnet.tenant.plugins.plugin_utils.kept_plan import KeptPlanAction
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.slices import SLICE_ERRORS, slice_for


class ActionModule(KeptPlanAction):
    NAME = "plan_slice"
    ARGUMENT_SPEC = dict(dest=dict(type="path"))
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def on_plan(self, result, args, plan, task_vars):
        host = task_vars.get("inventory_hostname")
        try:
            part, _upstream = slice_for(plan, task_vars)
        except SLICE_ERRORS as exc:
            return dict(result, failed=True, msg="gridnet.tenant.plan_slice: no slice of the plan for %s: %s"
                        % (host, exc))
        summary = ["%s %s %d links" % (r["netid"], r["prefix"], len(r["connected"])) for r in part["resources"]]
        summary += ["exit of %s %s" % (e["netid"], e["block"]) for e in part["exits"]]
        changed = False
        if args["dest"]:
            text = json.dumps(part, indent=2, sort_keys=True) + "\n"
            try:
                with open(args["dest"]) as handle:
                    changed = handle.read() != text
            except OSError:
                changed = True
            if changed and not self._task.check_mode:
                os.makedirs(os.path.dirname(os.path.abspath(args["dest"])), exist_ok=True)
                with open(args["dest"], "w") as handle:
                    handle.write(text)
        result.update(changed=changed, summary=summary)
        return result
