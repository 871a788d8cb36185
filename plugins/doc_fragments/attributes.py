# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Documentation fragment: the attributes (check mode, diff, platform) of converging modules."""

from __future__ import annotations


# "(@gridnet)": the author format wants a handle; a placeholder, like galaxy.yml's URLs, until the project has a public home
class ModuleDocFragment(object):
    # A converging module: reads, diffs, applies; check mode applies nothing.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: full
    description: Shows the state before and after, in the same shape.
  platform:
    support: full
    platforms: posix
    description: Linux nodes (netlink, network namespaces); run as root.
author:
  - gridnet.tenant contributors (@gridnet)
"""

    # A module that only reads.
    INFO = r"""
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
  platform:
    support: full
    platforms: posix
    description: Linux nodes (netlink, network namespaces); run as root.
author:
  - gridnet.tenant contributors (@gridnet)
"""

    # A module run by an action plugin on the controller.
    CONTROLLER = r"""
attributes:
  check_mode:
    support: full
    description: Computes and reports; writes nothing.
  diff_mode:
    support: full
    description: Shows what it writes before and after (the ledger as a table, a file as text).
  action:
    support: full
    description: An action plugin; it runs on the controller, never on the target host.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
author:
  - gridnet.tenant contributors (@gridnet)
"""

    # The lab: builds or tears down, reports no diff.
    LAB = r"""
attributes:
  check_mode:
    support: full
    description: Reports whether the lab would be built, rebuilt or torn down; starts and stops nothing.
  diff_mode:
    support: none
    description: Reports the nodes and the inventory, not a diff.
  platform:
    support: full
    platforms: posix
    description: The Linux machine that hosts the lab, as root (unshare, nsenter).
author:
  - gridnet.tenant contributors (@gridnet)
"""
