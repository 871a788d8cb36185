# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options node modules share, and their defaults, written once (the doc fragment node.py documents them).

Standard library only, and nothing imported: every node module reads this at start-up.
"""

from __future__ import annotations

KEY_DIR = "/var/lib/gridnet-tenant/keys"
AGENT_DIR = "/var/lib/gridnet-tenant/agent"
METRICS_DIR = "/var/lib/prometheus/node-exporter"  # Debian's prometheus-node-exporter reads *.prom here
METRICS_INTERVAL = 15.0  # node_exporter's usual scrape interval
NO_METRICS = "none"  # metrics_dir (and the agent's --metrics-dir) that means no metrics file
SUPERVISORS = ["auto", "systemd", "detached", "none"]

KEY_DIR_OPTION = dict(key_dir=dict(type="path", default=KEY_DIR))
WIREGUARD_GO_OPTION = dict(wireguard_go=dict(type="str", default="wireguard-go"))
WIREGUARD_OPTIONS = dict(wireguard_backend=dict(type="str", choices=["auto", "kernel", "userspace"], default="auto"),
                         **WIREGUARD_GO_OPTION)
# how the node agent runs: gridnet.tenant.node_agent's options, and gridnet.tenant.node's agent suboptions
AGENT_OPTIONS = dict(
    agent_dir=dict(type="path", default=AGENT_DIR),
    supervisor=dict(type="str", choices=SUPERVISORS, default="auto"),
    interval=dict(type="float", default=1.0),
    inotify_max_user_instances=dict(type="int"),
    metrics_dir=dict(type="path", default=METRICS_DIR),
    metrics_interval=dict(type="float", default=METRICS_INTERVAL),
)


def agent_problem(params, prefix=""):
    """What is wrong with the agent options (a text naming the option), or None."""
    for option in ("interval", "metrics_interval"):
        if params[option] <= 0:
            return "%s%s must be a positive number of seconds, not %s" % (prefix, option, params[option])
    if params["metrics_dir"] != NO_METRICS and not str(params["metrics_dir"]).startswith("/"):
        return "%smetrics_dir must be an absolute path or none, not %r" % (prefix, params["metrics_dir"])
    return None
