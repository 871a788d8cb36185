# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the node modules share: their AnsibleModule, how a converge fails, how its result is returned."""

from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import GridnetError
from ansible_collections.gridnet.tenant.plugins.module_utils.node import pyroute
from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import HAS_PYROUTE2

PYROUTE2_MINIMUM = "0.9.7"  # netns= on IPRoute, and the generic netlink WireGuard API the modules use


def _numbers(version):
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("+")[0].split(".")[:3])


def pyroute2_problem():
    """Why this node's pyroute2 cannot serve the modules (missing or too old), or None."""
    if not HAS_PYROUTE2:
        return missing_required_lib("pyroute2 >= %s" % PYROUTE2_MINIMUM)
    import pyroute2
    found = pyroute.version()
    if found == "unknown" or _numbers(found) < _numbers(PYROUTE2_MINIMUM):
        return ("pyroute2 >= %s is needed on this node; found %s in %s. Debian 12's python3-pyroute2 is 0.7.2: "
                "give the node a virtualenv with pyroute2 and point ansible_python_interpreter at it"
                % (PYROUTE2_MINIMUM, found, os.path.dirname(pyroute2.__file__)))
    return None


def node_module(**argument_spec):
    """An AnsibleModule with check mode, failing clearly where pyroute2 is missing or too old."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    problem = pyroute2_problem()
    if problem:
        module.fail_json(msg=problem)
    return module


def run(module, what, function, *args, **kwargs):
    """function(*args, **kwargs); a GridnetError fails the task as "WHAT: message"."""
    try:
        return function(*args, **kwargs)
    except GridnetError as exc:
        module.fail_json(msg="%s: %s" % (what, exc))


def exit_converged(module, result, **returned):
    """Return a converge's result: changed, the changes in order, and --diff's two sides."""
    module.exit_json(changed=bool(result["changes"]), changes=result["changes"],
                     diff={"before": result["before"], "after": result["after"]}, **returned)
