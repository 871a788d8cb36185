"""What the benchmarks share: the environment of a lab of their own, and ansible-playbook runs."""

import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def lab_env(name, directory):
    """ansible-playbook's environment for the collection in this checkout and a lab named `name` in `directory`."""
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
                ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PYTHONPATH="",
                GRIDNET_LAB_NAME=name, GRIDNET_LAB_DIR=directory,
                ANSIBLE_VAULT_PASSWORD_FILE=os.path.join(ROOT, "playbooks", "lab", "vault-password"))


def measured(env, *argv):
    """(seconds, changed tasks, stdout, peak RSS in MiB of ansible-playbook and its workers, from wait4) of one
    ansible-playbook run; exits naming it when it fails."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.monotonic()
        process = subprocess.Popen([os.path.join(BIN, "ansible-playbook")] + list(argv), env=env, stdout=out,
                                   stderr=subprocess.STDOUT, text=True)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
        out.seek(0)
        text = out.read()
    if process.returncode != 0:
        sys.exit("%s failed:\n%s" % (" ".join(argv), text[-5000:]))
    return elapsed, sum(int(c) for c in re.findall(r"changed=(\d+)", text)), text, usage.ru_maxrss / 1024.0


def playbook(env, *argv):
    """(seconds, changed tasks, stdout) of one ansible-playbook run; exits naming it when it fails."""
    return measured(env, *argv)[:3]


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])
