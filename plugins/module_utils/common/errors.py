# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's error hierarchy, shared by the planner and the node modules.

    GridnetError           anything this collection refuses or fails at
      InputError           bad input, found before anything is touched
                           (the planner's PlanError is this class)
      NodeError            the node cannot take the plan as it is; nothing changed
        WireGuardError     a WireGuard back end cannot do what it is asked
        NftError           nft refused a ruleset or a command
        NoX25519           no X25519 implementation on the node
      ApplyError           a change failed, or did not take (the read-back differs)

Modules catch GridnetError and fail the task with its message.
"""

from __future__ import annotations


class GridnetError(Exception):
    """Base of every error this collection raises on purpose."""


class InputError(GridnetError, ValueError):
    """Bad input; the message names the offending item. Raised before any change."""


class NodeError(GridnetError):
    """The node cannot take the plan (a name held by something else, a missing parent,
    a port in use, a missing tool); raised before any change."""


class ApplyError(GridnetError):
    """A change failed part-way, or the state read back after applying is not the desired one."""


class WireGuardError(NodeError):
    """A WireGuard back end cannot do what it is asked (wireguard.py, wireguard_go.py)."""
