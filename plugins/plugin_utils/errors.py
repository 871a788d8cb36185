# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type of the planning code."""

from __future__ import annotations


class PlanError(ValueError):
    """Bad input found while planning. The message names the offending item.

    Raised before any host is touched; filters turn it into AnsibleFilterError.
    """
