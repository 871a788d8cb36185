# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: cut this host's slice from the run's compact plan, then converge it on the node (plugins/modules/node.py).

The plan is read from the task's variables as it is, never templated: Ansible
would walk the whole plan for every host. Only the host's slice (O(its links))
is sent to the node, and only the module's summary comes back.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import slices

SLICE_PARTS = ("resources", "exits", "upstream_routes")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        host = task_vars.get("inventory_hostname")
        given = [k for k in SLICE_PARTS if args.get(k) is not None]
        plan = args.pop("plan", None)
        if plan is None and not given:
            # the kept plan as it is: templating it would copy it for every host
            plan = task_vars.get(slices.PLAN_VARIABLE)
        if plan is not None:
            if given:
                return dict(result, failed=True, msg="gridnet.tenant.node: give either plan or %s, not both"
                            % ", ".join(given))
            try:
                part, upstream = slices.slice_for(plan, task_vars, args.pop("upstream", None),
                                                  args.pop("upstream_exits", None))
            except slices.SLICE_ERRORS as exc:
                return dict(result, failed=True, msg="gridnet.tenant.node: no slice of the plan for %s: %s"
                            % (host, exc))
            args.update(resources=part["resources"], exits=part["exits"],
                        upstream_routes=part["upstream_routes"] if upstream else None)
        elif not given:
            return dict(result, failed=True, msg="gridnet.tenant.node: no plan (%s is not set) and no resources, "
                        "exits or upstream_routes given" % slices.PLAN_VARIABLE)
        else:
            args.pop("upstream", None)
            args.pop("upstream_exits", None)
        result.update(self._execute_module(module_name="gridnet.tenant.node", module_args=args,
                                           task_vars=task_vars))
        return result
