# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's error, and the one way a filter turns it into a task failure.

PlanError is module_utils.errors.InputError under the name the planning code
uses: the rules shared with the nodes (module_utils/rules.py) raise it too.
"""

from __future__ import annotations

import functools

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError as PlanError


def filter_errors(function):
    """A filter whose PlanError fails the task as "gridnet.tenant.NAME: message"."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        from ansible.errors import AnsibleFilterError  # controller only; the planner itself does not need Ansible
        try:
            return function(*args, **kwargs)
        except PlanError as exc:
            raise AnsibleFilterError("gridnet.tenant.%s: %s" % (function.__name__, exc))
    return wrapper


def require_netaddr():
    """Fail as Ansible does for a missing library when the controller has no netaddr (the planner needs it)."""
    try:
        import netaddr  # noqa: F401  pylint: disable=unused-import
    except ImportError:
        from ansible.errors import AnsibleError
        from ansible.module_utils.basic import missing_required_lib
        raise AnsibleError(missing_required_lib("netaddr"))


class _Netaddr(object):
    """netaddr, imported on first use: a host's slice (cut in a fresh worker per host and task) never needs
    it, and importing it is a third of that worker's imports. A missing netaddr is reported by
    require_netaddr() before any planning."""

    def __getattr__(self, name):
        import netaddr
        return getattr(netaddr, name)


netaddr = _Netaddr()

__all__ = ["PlanError", "filter_errors", "netaddr", "require_netaddr"]
