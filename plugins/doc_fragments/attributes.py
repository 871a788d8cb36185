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
author:
  - gridnet.tenant contributors (@gridnet)
"""
