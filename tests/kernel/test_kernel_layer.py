"""Boot Debian's kernel under QEMU, run tests/kernel/guest inside it as root, and bring its results here.

A guest that cannot boot or whose tests do not all pass fails this test loudly: it is never skipped.
"""

import os
import sys
import time
from xml.etree import ElementTree

import figures
import vm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, ".build", "kernel")
SCRIPT = """set -e
cd {root}
export HOME=/mnt/tmp TMPDIR=/mnt/tmp PYTHONDONTWRITEBYTECODE=1 GRIDNET_IN_GUEST=1 PYTHONPATH={root}/.build/collections
{python} -m pytest -p no:cacheprovider --color=no -q -rA tests/kernel/guest --junitxml=/run/gridnet-out/junit.xml
"""


def test_kernel_layer_in_a_guest():
    started = time.monotonic()
    status, console, out = vm.run_in_guest(BUILD, SCRIPT.format(root=ROOT, python=sys.executable), timeout=1500)
    tail = console[-6000:]
    print("\n--- guest (%s, %.0f s) ---\n%s" % (vm.LAST_ACCELERATOR, time.monotonic() - started, tail))
    assert status is not None, "the guest never ran its tests:\n" + tail
    suite = ElementTree.parse(os.path.join(out, "junit.xml")).getroot().find("testsuite")
    ran = int(suite.get("tests"))
    figures.report("kernel layer (%s, %.0f s): %d tests ran inside the guest, %s failed, %s errors, %s skipped"
                   % (vm.LAST_ACCELERATOR, time.monotonic() - started, ran, suite.get("failures"),
                      suite.get("errors"), suite.get("skipped")))
    said = [line for line in console.splitlines() if " passed" in line or " failed" in line]
    figures.report("kernel layer, the guest's own pytest: %s" % (said[-1].strip() if said else "(no summary line)"))
    assert status == 0 and ran >= 3 and suite.get("skipped") == "0", tail
