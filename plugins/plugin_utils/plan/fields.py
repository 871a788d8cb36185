# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed readers for inventory fields: each refuses a wrong value with PlanError naming it."""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError


def mapping(value, what):
    if not isinstance(value, dict):
        raise PlanError("%s must be a mapping, got %s" % (what, type(value).__name__))
    return value


def known_keys(value, allowed, what):
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise PlanError("%s: unknown key(s) %s (allowed: %s)" % (what, ", ".join(unknown), ", ".join(sorted(allowed))))


def integer(value, what, low, high):
    if isinstance(value, bool):
        raise PlanError("%s: %r is not a number" % (what, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise PlanError("%s: %r is not a number" % (what, value))
    if not low <= number <= high:
        raise PlanError("%s: %d is outside %d-%d" % (what, number, low, high))
    return number


def boolean(value, what):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
        return value.lower() in ("yes", "true")
    raise PlanError("%s: %r is not a boolean" % (what, value))


def sequence(value, what):
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise PlanError("%s must be a list" % what)
    return tuple(value)
