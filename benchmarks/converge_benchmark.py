"""Wall time of converging the default lab, against a floor of three ping tasks.

Builds the lab (its own name and directory), then times with the same
inventory: the first converge (playbooks/site.yml on fresh nodes), a no-op
re-converge, and a playbook of three ansible.builtin.ping tasks (what any
three tasks cost on these hosts). Prints the figures and the two ratios,
and tears the lab down. Needs root.

    make bench-converge      (or: .venv/bin/python benchmarks/converge_benchmark.py)
"""

import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
PINGS = """
- name: Three ping tasks
  hosts: all
  gather_facts: false
  tasks:
    - {name: one, ansible.builtin.ping: {}}
    - {name: two, ansible.builtin.ping: {}}
    - {name: three, ansible.builtin.ping: {}}
"""


def playbook(env, *argv):
    started = time.monotonic()
    result = subprocess.run([os.path.join(BIN, "ansible-playbook")] + list(argv), env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit("%s failed:\n%s" % (" ".join(argv), result.stdout[-3000:] + result.stderr[-2000:]))
    changed = sum(int(c) for c in re.findall(r"changed=(\d+)", result.stdout))
    return elapsed, changed


def main():
    directory = tempfile.mkdtemp(prefix="gridnet-bench-")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PYTHONPATH="",
               GRIDNET_LAB_NAME="gridnet-bench", GRIDNET_LAB_DIR=directory,
               ANSIBLE_VAULT_PASSWORD_FILE=os.path.join(ROOT, "playbooks", "lab", "vault-password"))
    inventory = os.path.join(directory, "inventory")
    site = os.path.join(ROOT, "playbooks", "site.yml")
    try:
        playbook(env, os.path.join(ROOT, "playbooks", "lab", "up.yml"))
        hosts = open(os.path.join(inventory, "hosts.yml")).read().count("ansible_nsenter_pid")
        first, first_changed = playbook(env, "-i", inventory, site)
        again, again_changed = playbook(env, "-i", inventory, site)
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
            handle.write(PINGS)
        pings, _unused = playbook(env, "-i", inventory, handle.name)
        os.unlink(handle.name)
    finally:
        playbook(env, os.path.join(ROOT, "playbooks", "lab", "down.yml"))
    print("converge of the default lab: %d hosts, 2 tenant networks, 11 network resources" % hosts)
    print("  first converge:            %6.2f s  (changed=%d)" % (first, first_changed))
    print("  no-op re-converge:         %6.2f s  (changed=%d)" % (again, again_changed))
    print("  three ping tasks:          %6.2f s" % pings)
    print("  first converge / pings:    %6.1fx" % (first / pings))
    print("  no-op re-converge / pings: %6.1fx" % (again / pings))


if __name__ == "__main__":
    main()
