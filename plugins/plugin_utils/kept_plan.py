# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The actions that read the run's kept plan on the controller (plan_slice, access_config): their common start."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.slices import PLAN_VARIABLE


class KeptPlanAction(ActionBase):
    """Checks the task's arguments against ARGUMENT_SPEC, takes the kept plan as it is (templating it would copy
    it for every host), then calls on_plan(result, args, plan, task_vars)."""

    TRANSFERS_FILES = False
    NAME = None  # the module's name in messages
    ARGUMENT_SPEC = {}

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            _unused, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return dict(result, failed=True, msg="gridnet.tenant.%s: %s" % (self.NAME, exc.message))
        plan = task_vars.get(PLAN_VARIABLE)
        if plan is None:
            return dict(result, failed=True, msg="gridnet.tenant.%s: %s is not set" % (self.NAME, PLAN_VARIABLE))
        return self.on_plan(result, args, plan, task_vars)

    def on_plan(self, result, args, plan, task_vars):
        raise NotImplementedError
