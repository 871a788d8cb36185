# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: every access peer's wg-quick configuration written on the controller (docs in
plugins/modules/access_config.py)."""

from __future__ import annotations

import os
import shutil
import subprocess

from ansible_collections.gridnet.tenant.plugins.module_utils.common.files import write_atomic
from ansible_collections.gridnet.tenant.plugins.plugin_utils.kept_plan import KeptPlanAction
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.slices import SLICE_ERRORS, access_configs


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


class ActionModule(KeptPlanAction):
    NAME = "access_config"
    ARGUMENT_SPEC = dict(dest=dict(type="path", required=True), qr=dict(type="bool", default=False))
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def on_plan(self, result, args, plan, task_vars):
        try:
            configs = access_configs(plan)
        except SLICE_ERRORS as exc:
            return dict(result, failed=True, msg="gridnet.tenant.access_config: not a plan: %s" % exc)
        if args["qr"] and configs and shutil.which("qrencode") is None:
            return dict(result, failed=True, msg="gridnet.tenant.access_config: qr needs qrencode on the controller "
                        "(Debian package qrencode)")
        changed, diffs = [], []
        for name, text in sorted(configs.items()):
            path = os.path.join(args["dest"], name)
            before = _read(path)
            if before == text and (not args["qr"] or os.path.exists(path[:-len(".conf")] + ".png")):
                continue
            changed.append(name)
            diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": text})
            if self._task.check_mode:
                continue
            write_atomic(path, text.encode(), 0o644, dir_mode=0o755)
            if args["qr"]:  # the same text as a QR code, for wireguard's mobile apps
                subprocess.run(["qrencode", "-t", "PNG", "-o", path[:-len(".conf")] + ".png"], input=text.encode(),
                               check=True)
        result.update(changed=bool(changed), files=sorted(configs), written=changed)
        if self._task.diff and diffs:
            result["diff"] = diffs
        return result
