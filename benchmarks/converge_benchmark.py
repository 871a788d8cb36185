"""Wall time of converging the default lab, against three ping tasks; module invocations per node.

Each of 3 rounds builds the lab (its own name and directory), then times with
the same inventory: the first converge (playbooks/site.yml on fresh nodes), a
no-op re-converge and a playbook of three ansible.builtin.ping tasks (what any
three tasks cost on these hosts), and tears the lab down: the figures are
interleaved, and their medians and ratios printed. Then, on a last lab:
  - module invocations per node, counted from ansible-playbook -vvv (one
    upload of an AnsiballZ payload per invocation), first and no-op converge;
  - one no-op gridnet.tenant.node invocation against one ansible.builtin.ping
    on the busiest node (the exit, two networks), alternated 5 times, timed by
    the profile_tasks callback.
Needs root.

    .venv/bin/python benchmarks/converge_benchmark.py
"""

import collections
import os
import re
import shutil
import statistics
import tempfile

from labrun import ROOT, lab_env, load, playbook
PINGS = """
- name: Three ping tasks
  hosts: all
  gather_facts: false
  tasks:
    - {name: one, ansible.builtin.ping: {}}
    - {name: two, ansible.builtin.ping: {}}
    - {name: three, ansible.builtin.ping: {}}
"""
ALTERNATE = """
- name: A no-op node converge against a ping, alternated
  hosts: all
  gather_facts: false
  tasks:
    - {name: plan, ansible.builtin.include_role: {name: gridnet.tenant.netresource, tasks_from: plan.yml}}
""" + "".join("""    - {name: ping %d, ansible.builtin.ping: {}}
    - {name: node %d, gridnet.tenant.node: {}}
""" % (i, i) for i in range(5))


def invocations(output):
    """Module invocations per host: each one uploads its AnsiballZ payload once."""
    counts = collections.Counter(re.findall(r"^<([\w.-]+)> PUT \S+ TO \S+/AnsiballZ_\w+\.py", output, re.M | re.I))
    return dict(sorted(counts.items()))


def main():
    directory = tempfile.mkdtemp(prefix="gridnet-bench-")
    env = lab_env("gridnet-bench", directory)
    inventory = os.path.join(directory, "inventory")
    site = os.path.join(ROOT, "playbooks", "site.yml")
    scratch = tempfile.mkdtemp(prefix="gridnet-bench-playbooks-")  # the lab's directory goes with each teardown
    pings_path = os.path.join(scratch, "pings.yml")
    alternate_path = os.path.join(scratch, "alternate.yml")
    open(pings_path, "w").write(PINGS)
    open(alternate_path, "w").write(ALTERNATE)
    up, down = os.path.join(ROOT, "playbooks", "lab", "up.yml"), os.path.join(ROOT, "playbooks", "lab", "down.yml")
    print("load average: %s" % load())
    rounds = {"first": [], "again": [], "pings": []}
    changed_again = []
    try:
        for _unused in range(3):
            playbook(env, up)
            rounds["first"].append(playbook(env, "-i", inventory, site)[0])
            elapsed, changed, _out = playbook(env, "-i", inventory, site)
            rounds["again"].append(elapsed)
            changed_again.append(changed)
            rounds["pings"].append(playbook(env, "-i", inventory, pings_path)[0])
            playbook(env, down)
        playbook(env, up)
        hosts = open(os.path.join(inventory, "hosts.yml")).read().count("ansible_nsenter_pid")
        first_calls = invocations(playbook(env, "-vvv", "-i", inventory, site)[2])
        again_calls = invocations(playbook(env, "-vvv", "-i", inventory, site)[2])
        profile_env = dict(env, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks")
        output = playbook(profile_env, "-i", inventory, "--limit", "gw", alternate_path)[2]
    finally:
        playbook(env, down)
        shutil.rmtree(scratch, ignore_errors=True)
    timed = dict(re.findall(r"^(ping \d|node \d) -+ ([\d.]+)s$", output, re.M))
    ping = statistics.median(float(v) for k, v in timed.items() if k.startswith("ping"))
    node = statistics.median(float(v) for k, v in timed.items() if k.startswith("node"))
    median = {k: statistics.median(v) for k, v in rounds.items()}
    print("converge of the default lab: %d hosts, 2 tenant networks, 11 network resources" % hosts)
    for name, label in (("first", "first converge"), ("again", "no-op re-converge"), ("pings", "three ping tasks")):
        print("  %-26s %6.2f s  (rounds: %s)" % (label + ":", median[name], " ".join("%.2f" % t for t in rounds[name])))
    print("  first converge / pings:    %6.2fx  (target <= 2.0x)" % (median["first"] / median["pings"]))
    print("  no-op re-converge / pings: %6.2fx  (target <= 1.3x); changed in the no-op runs: %s"
          % (median["again"] / median["pings"], changed_again))
    print("module invocations per node (target <= 2):")
    print("  first converge: %s" % " ".join("%s=%d" % kv for kv in first_calls.items()))
    print("  no-op converge: %s" % " ".join("%s=%d" % kv for kv in again_calls.items()))
    print("one invocation on gw (2 networks, the exit of both), medians of 5 alternated tasks:")
    print("  no-op gridnet.tenant.node: %.2f s, ansible.builtin.ping: %.2f s, ratio %.2fx (target <= 2x)"
          % (node, ping, node / ping))
    print("load average: %s" % load())


if __name__ == "__main__":
    main()
