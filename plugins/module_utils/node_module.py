# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the node modules share: their AnsibleModule, how a converge fails, how its result is returned."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gridnet.tenant.plugins.module_utils.errors import GridnetError
from ansible_collections.gridnet.tenant.plugins.module_utils.netns import HAS_PYROUTE2


def node_module(**argument_spec):
    """An AnsibleModule with check mode, failing clearly where pyroute2 is missing."""
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"))
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
