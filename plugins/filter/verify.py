# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: what to probe, the connectivity matrix of the results, the plan as a picture; the health view.

Each takes the plan compact (as a run keeps it) or materialised (the plan filter's); the health view takes
the nodes' figures only (it needs no plan, so reading health costs one module call per node).
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils.verify import health, picture, verify
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import filter_errors
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.slices import materialised


@filter_errors
def probes(plan, internet=None, sample=None, seed=0):
    return verify.probes(materialised(plan), internet, sample, seed)


@filter_errors
def connectivity_matrix(results, plan, internet=None, outside=False, sample=None, seed=0):
    return verify.matrix(materialised(plan), results, internet, outside, sample, seed)


@filter_errors
def outside_probes(plan):
    return verify.outside_probes(materialised(plan))


@filter_errors
def plan_summary(plan):
    return verify.summary(materialised(plan))


@filter_errors
def mesh_svg(plan, title="gridnet.tenant mesh"):
    return picture.mesh_svg(materialised(plan), title)


@filter_errors
def health_report(figures, threshold=health.THRESHOLD):
    judged = health.judge(figures, int(threshold))
    return dict(judged, lines=health.lines(judged, int(threshold)), svg=picture.health_svg(judged))


class FilterModule(object):
    def filters(self):
        return {"probes": probes, "connectivity_matrix": connectivity_matrix, "mesh_svg": mesh_svg,
                "plan_summary": plan_summary, "outside_probes": outside_probes, "health_report": health_report}
