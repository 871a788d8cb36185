"""The plan step through Ansible, at 100 and 1,000 hosts: per-host slices against a debug task.

One full-mesh tenant network of N hosts (connection local, no node work: the
public keys are inventory variables). The plan step is what site.yml runs
before any node is touched: the ledger (read, plan, record; plaintext, in the
inventory directory) once, the plan kept for the play, and every host's slice
cut on the controller (gridnet.tenant.plan_slice, which gridnet.tenant.node
shares). The floor is one ansible.builtin.debug task over the same hosts.
Rounds are interleaved (debug, plan, debug, plan, ...); medians of 3. The
first plan step (the ledger written) is timed once. Peak memory is the largest
resident set of any controller process (GNU time's %M of ansible-playbook and
its workers).

    .venv/bin/python benchmarks/plan_scaling_benchmark.py [N ...]
"""

import base64
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from labrun import BIN, ROOT, load
DEBUG = """
- name: One debug task
  hosts: all
  gather_facts: false
  tasks:
    - {name: debug, ansible.builtin.debug: {msg: "{{ inventory_hostname }}"}}
"""
PLAN = """
- name: The plan step
  hosts: all
  gather_facts: false
  tasks:
    - name: Ledger and plan, once
      ansible.builtin.import_role: {name: gridnet.tenant.netresource, tasks_from: plan.yml}
    - name: Each host's slice
      gridnet.tenant.plan_slice:
"""


def key(node):
    return base64.b64encode(hashlib.sha256(node.encode()).digest()).decode()


def inventory(directory, n):
    lines = ["all:", "  vars:", "    ansible_connection: local", "    ansible_python_interpreter: %s" % sys.executable,
             "    gridnet_tenant_ledger_plaintext: true",
             "    gridnet_tenant_networks:",
             "      - {netid: scale, members: [all], exit: {node: h0000, ipv6: '2001:db8:ff::10/64'}}",
             "  hosts:"]
    for i in range(n):
        name = "h%04d" % i
        lines.append("    %s:" % name)
        lines.append("      gridnet_tenant_underlay: {ipv6: '2001:db8:1::%x'}" % (i + 16))
        lines.append("      gridnet_tenant_public_keys: {scale: '%s'}" % key(name))
        if i == 0:
            lines.append("      gridnet_tenant_exit: {allocation: '2001:db8:100::/40', network_prefixlen: 48,"
                         " uplink: {parent: eth1, ipv6_gateway: '2001:db8:ff::1'}}")
    os.makedirs(os.path.join(directory, "group_vars", "all"), exist_ok=True)
    with open(os.path.join(directory, "hosts.yml"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return os.path.join(directory, "hosts.yml")


def playbook(env, hosts, path):
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-f", "peak-kb %M", os.path.join(BIN, "ansible-playbook"), "-i", hosts,
                             path], env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit("%s failed:\n%s" % (path, result.stdout[-3000:] + result.stderr[-2000:]))
    return elapsed, int(re.search(r"peak-kb (\d+)", result.stderr).group(1)) / 1024.0


def main(sizes):
    print("load average: %s" % load())
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PYTHONPATH="")
    work = tempfile.mkdtemp(prefix="gridnet-scale-")
    try:
        debug_yml, plan_yml = os.path.join(work, "debug.yml"), os.path.join(work, "plan.yml")
        open(debug_yml, "w").write(DEBUG)
        open(plan_yml, "w").write(PLAN)
        for n in sizes:
            hosts = inventory(os.path.join(work, "inv%d" % n), n)
            first, first_peak = playbook(env, hosts, plan_yml)
            debug, plans, peaks = [], [], []
            for _unused in range(3):
                debug.append(playbook(env, hosts, debug_yml)[0])
                elapsed, peak = playbook(env, hosts, plan_yml)
                plans.append(elapsed)
                peaks.append(peak)
            d, p = statistics.median(debug), statistics.median(plans)
            print("%d hosts, one full-mesh network (%d links):" % (n, n * (n - 1) // 2))
            print("  one debug task:            %6.2f s  (median of 3: %s)" % (d, " ".join("%.2f" % t for t in debug)))
            print("  plan step, ledger kept:    %6.2f s  (median of 3: %s)" % (p, " ".join("%.2f" % t for t in plans)))
            print("  plan step / debug:         %6.2fx  (target <= 3x)" % (p / d))
            print("  first plan step (ledger written): %.2f s, peak %.0f MiB" % (first, first_peak))
            print("  controller peak memory:    %6.0f MiB" % max(peaks))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("load average: %s" % load())


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
