# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verification by sample: which members a workload probes when the full matrix (N^2 probes) is too much.

A network verified by sample gives each workload a bounded set of targets:
  - every exit of its network, and every member it links to directly when they are at most 2 * sample
    (a sparse or hub-and-spoke network's spokes; in a full mesh its links are sampled like the rest);
  - `sample` other members, chosen by a seeded hash of (seed, network, source): the same run after run
    for one seed, different for another, printed with the report;
  - for isolation, `sample` workloads of other networks, chosen the same way (a network with the full
    matrix probes every workload of the other small networks, and a sample of each sampled one);
and each end of every link pings its peer's link-local address over that link ("link" probes), so every
link is proven by itself, even one Babel routes around. Workload probes per node are bounded by
4 * sample plus its exits, link probes by its links, so verify's time grows with the links, not N^2. The full matrix stays the default for networks of
up to AUTO_FULL members (docs/lab.md).
"""

from __future__ import annotations

import random

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import digest_int

AUTO = "auto"
FULL = "full"
AUTO_FULL = 32   # auto: networks of up to this many members get the full matrix (~4,000 probes)
AUTO_SAMPLE = 8  # auto: larger ones, this many other members per workload


def per_network(sample, members):
    """How many other members each workload of a network of `members` probes beyond its links and exits:
    None for every one (the full matrix). sample: "auto" (or None), "full", or a number."""
    if sample in (None, "", AUTO):
        return None if members <= AUTO_FULL else AUTO_SAMPLE
    if sample == FULL:
        return None
    try:
        count = int(sample)
    except (TypeError, ValueError):
        raise PlanError("verify sample %r must be auto, full or a number of members" % (sample,))
    if count < 1:
        raise PlanError("verify sample %d must be at least 1 (or full)" % count)
    return None if count >= members - 1 else count


def chosen(candidates, count, seed, *where):
    """`count` of candidates (all when fewer), by a generator seeded from (seed, where): deterministic."""
    if len(candidates) <= count:
        return list(candidates)
    return random.Random(digest_int("verify-sample", seed, *where)).sample(candidates, count)


def targets(netid, node, members, linked, exits, count, seed):
    """The members node's workload probes in network netid: its exits, its linked peers when they are few
    (at most 2 * count: a sparse network's; a full mesh's are proven by their link probes and sampled like
    the rest), and `count` others."""
    fixed = (set(linked) if len(linked) <= 2 * count else set()) | set(exits)
    others = [m for m in members if m != node and m not in fixed]
    return sorted((fixed - {node}) | set(chosen(others, count, seed, netid, node)))


def coverage_line(netid, members, probed_pairs, count, seed, links):
    """What a sampled network's report says it covered."""
    pairs = members * (members - 1)
    return ("  %s: by sample, %d other members per workload (seed %s): %d of %d ordered pairs probed (%.1f%%), "
            "and every one of its %d link ends over the link itself"
            % (netid, count, seed, probed_pairs, pairs, 100.0 * probed_pairs / pairs if pairs else 100.0, links))
