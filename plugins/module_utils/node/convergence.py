# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one shape of every converge on a node: desired, read, diff, apply, read back.

A Target (a network resource, an exit, the upstream routes) states what it
wants and reads what the kernel has, in the same shape; its changes are a list
of Change objects (text for the user, a callable for the kernel). converge()
applies them in order unless in check mode, then reads the state back: a
difference from the desired state fails, naming what did not take.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import ApplyError, GridnetError


class Change(object):
    def __init__(self, text, apply):
        self.text = text
        self.apply = apply


class Target(object):
    """What a node module converges. Subclasses fill in the four steps; see converge()."""

    apply_errors = (OSError,)  # what an apply step may raise besides GridnetError

    def desired(self):
        raise NotImplementedError

    def read(self):
        raise NotImplementedError

    def changes(self, desired, actual):
        """Ordered changes from actual to desired; refuses (NodeError) what would fail half-way."""
        raise NotImplementedError

    def comparable(self, desired, actual):
        """The actual state as compared with the desired one: bookkeeping keys (leading _) dropped."""
        return public(actual)

    def display(self, state):
        """A state as the module returns it (routes.py shows route records as text)."""
        return state

    def shown(self, value):
        """One value of a state, in a read-back failure."""
        return show(value)

    def close(self):
        """Release what the changes opened (a namespace handle)."""


def public(state):
    """A state without bookkeeping keys, at any depth."""
    if isinstance(state, dict):
        return {k: public(v) for k, v in state.items() if not (isinstance(k, str) and k.startswith("_"))}
    return state


def apply_changes(changes, errors=(OSError,)):
    """Apply in order; the first failure names the change that failed."""
    for change in changes:
        try:
            change.apply()
        except (GridnetError,) + tuple(errors) as exc:
            raise ApplyError("%s failed: %s" % (change.text, exc))


def differences(want, have, path="", shown=None):
    """Where `have` is not `want`: one line per leaf, with its path. shown: how a leaf reads (show())."""
    shown = shown or show
    if isinstance(want, dict) and isinstance(have, dict):
        lines = []
        for key in sorted(set(want) | set(have), key=str):
            lines += differences(want.get(key), have.get(key), "%s %s" % (path, key) if path else str(key), shown)
        return lines
    if want == have:
        return []
    return ["%s: wanted %s, found %s" % (path, shown(want), shown(have))]


def show(value):
    return "nothing" if value is None else repr(value)


class Prepared(object):
    """A target read and diffed, nothing applied yet: what a caller converging several targets checks
    together (their combined needs) before it applies any of them."""

    def __init__(self, target, desired, changes, before):
        self.target, self.desired, self.changes, self.before = target, desired, changes, before


def prepare(target, extra=()):
    """Desired, read and diff. `extra` are changes outside the kernel state (the node's records), applied last."""
    desired = target.desired()
    actual = target.read()
    changes = target.changes(desired, actual) + list(extra)
    return Prepared(target, desired, changes, target.comparable(desired, actual))


def finish(prepared, check_mode=False):
    """Apply a prepared target's changes and read it back. Returns {"changes", "before", "after"}.

    In check mode "after" is the prediction; otherwise it is what was read back.
    """
    target, changes = prepared.target, prepared.changes
    wanted = after = public(prepared.desired)
    if changes and not check_mode:
        apply_changes(changes, target.apply_errors)
        after = target.comparable(prepared.desired, target.read())
        wrong = differences(wanted, after, shown=target.shown)
        if wrong:
            raise ApplyError("applied, but the state read back differs: %s" % "; ".join(wrong))
    return {"changes": [c.text for c in changes], "before": target.display(prepared.before),
            "after": target.display(after)}


def converge(target, check_mode=False, extra=()):
    """Bring target to its desired state: prepare() then finish()."""
    try:
        return finish(prepare(target, extra), check_mode)
    finally:
        target.close()
