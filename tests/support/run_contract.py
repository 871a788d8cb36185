"""Run the WireGuard back-end contract with one back end, in this process's namespaces (a lab node's).

    python run_contract.py userspace|kernel   ->  "CONTRACT-OK <check>" per check passed
"""

import sys
import traceback

from pyroute2 import IPRoute

import wireguard_contract
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard import KernelBackend, UserspaceBackend

backend = KernelBackend() if sys.argv[1] == "kernel" else UserspaceBackend()
failed = 0
with IPRoute() as ipr:
    for check in wireguard_contract.CHECKS:
        try:
            check(backend, ipr)
            print("CONTRACT-OK %s" % check.__name__, flush=True)
        except Exception:  # every check reports, then the exit status says
            failed += 1
            print("CONTRACT-FAILED %s\n%s" % (check.__name__, traceback.format_exc()), flush=True)
sys.exit(1 if failed else 0)
