"""What the benchmarks share: the environment of a lab of their own, and ansible-playbook runs."""

import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def lab_env(name, directory):
    """ansible-playbook's environment for the collection in this checkout and a lab named `name` in `directory`."""
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
                ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PYTHONPATH="",
                GRIDNET_LAB_NAME=name, GRIDNET_LAB_DIR=directory,
                ANSIBLE_VAULT_PASSWORD_FILE=os.path.join(ROOT, "playbooks", "lab", "vault-password"))


def playbook(env, *argv):
    """(seconds, changed tasks, stdout) of one ansible-playbook run; exits naming it when it fails."""
    started = time.monotonic()
    result = subprocess.run([os.path.join(BIN, "ansible-playbook")] + list(argv), env=env, capture_output=True,
                            text=True, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit("%s failed:\n%s" % (" ".join(argv), result.stdout[-3000:] + result.stderr[-2000:]))
    return elapsed, sum(int(c) for c in re.findall(r"changed=(\d+)", result.stdout)), result.stdout


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])
