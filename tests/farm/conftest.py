"""The farm of real Debian machines (vmfarm.py), booted once for the whole layer and converged once.

Guests under QEMU's software emulation take a minute to boot and tens of
seconds per playbook, so every test of tests/farm shares one farm: the
session fixture boots it with the molecule scenario `farm` (its create and
destroy: the scenario a user copies is the one the suite runs) and its
converge; each test leaves it green (the tests that break something wait for
the node to heal it, and say so).
"""

import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "support"))
import vmfarm  # noqa: E402
from scenario import FarmRun, molecule  # noqa: E402

ROOT = vmfarm.ROOT

if os.geteuid() != 0:
    pytest.exit("tests/farm boots virtual machines on tap devices in namespaces it makes, and needs root",
                returncode=1)


# the farm is shared, and Docker stays on dc1 once started: site and verify first, the nodes' faults, Docker last
ORDER = ("test_farm_site.py", "test_farm_nodes.py", "test_farm_docker.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = os.path.basename(str(item.fspath))
        return ORDER.index(name) if name in ORDER else -1
    items.sort(key=rank)  # stable: other layers' tests keep their order, before these


@pytest.fixture(scope="session")
def vm_farm(tmp_path_factory):
    folder = os.path.join(str(tmp_path_factory.mktemp("vmfarm")), "farm")
    started = time.monotonic()
    try:
        molecule("create", folder)
        farm = FarmRun(folder)
        farm.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
                        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", PYTHONPATH="")
        farm.booted = time.monotonic() - started
        yield farm
    finally:
        molecule("destroy", folder)
        assert not os.path.exists(folder), "molecule destroy left the farm's folder behind"


@pytest.fixture(scope="session")
def converged(vm_farm):
    """The farm after the scenario's converge (site.yml; kept: the tests after it look at the same run)."""
    vm_farm.first_site = molecule("converge", vm_farm.dir)
    return vm_farm
