"""Run the back-end contract inside a fresh lab node and return what it printed (shared by host and guest tests)."""

import os
import sys

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

from farm import COLLECTIONS
import wireguard_contract

SUPPORT = os.path.dirname(os.path.abspath(__file__))


def run_contract(backend, lab_name):
    pid = lab.start_node("contract", lab=lab_name)
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([SUPPORT, COLLECTIONS]))
        result = lab.run(pid, [sys.executable, os.path.join(SUPPORT, "run_contract.py"), backend], check=False,
                         env=env, timeout=600)
    finally:
        lab.stop_node(pid)
    passed = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("CONTRACT-OK")]
    assert passed == [c.__name__ for c in wireguard_contract.CHECKS], result.stdout + result.stderr
    return passed
