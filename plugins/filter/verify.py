# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: what to probe, the connectivity matrix of the results, the plan as a picture.

Each takes the plan compact (as a run keeps it) or materialised (the plan filter's).
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils.verify import picture, verify
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import filter_errors
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.slices import materialised


@filter_errors
def probes(plan, internet=None):
    return verify.probes(materialised(plan), internet)


@filter_errors
def connectivity_matrix(results, plan, internet=None, outside=False):
    return verify.matrix(materialised(plan), results, internet, outside)


@filter_errors
def outside_probes(plan):
    return verify.outside_probes(materialised(plan))


@filter_errors
def plan_summary(plan):
    return verify.summary(materialised(plan))


@filter_errors
def mesh_svg(plan, title="gridnet.tenant mesh"):
    return picture.mesh_svg(materialised(plan), title)


class FilterModule(object):
    def filters(self):
        return {"probes": probes, "connectivity_matrix": connectivity_matrix, "mesh_svg": mesh_svg,
                "plan_summary": plan_summary, "outside_probes": outside_probes}
