"""The farm driven as a user drives it: the molecule scenario `farm`, and playbooks over SSH with the recap read."""

import os
import re
import subprocess
import sys
import time

import vmfarm

ROOT = vmfarm.ROOT
BIN = os.path.dirname(sys.executable)


def molecule_env(folder):
    return dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], ANSIBLE_NOCOLOR="1", PY_COLORS="0",
                ANSIBLE_FORCE_COLOR="0", ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
                GRIDNET_FARM_DIR=folder)


def molecule(step, folder):
    started = time.monotonic()
    result = subprocess.run([os.path.join(BIN, "molecule"), step, "-s", "farm"], cwd=ROOT, env=molecule_env(folder),
                            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, "molecule %s -s farm failed:\n%s" % (step, (result.stdout + result.stderr)[-6000:])
    result.seconds = time.monotonic() - started
    result.output = result.stdout + result.stderr
    return result


class FarmRun(vmfarm.Farm):
    """The booted farm, with the playbooks run against its inventory over SSH."""

    env = None

    def playbook(self, path, *extra, check=True):
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", self.inventory(), os.path.join(ROOT, "playbooks", path)]
        started = time.monotonic()
        result = subprocess.run(argv + list(extra), capture_output=True, text=True, env=self.env, check=False,
                                stdin=subprocess.DEVNULL)
        result.seconds = time.monotonic() - started
        if check:
            assert result.returncode == 0, "%s failed:\n%s%s" % (path, result.stdout[-6000:], result.stderr[-2000:])
        result.changed = {m.group(1): int(m.group(2))
                          for m in re.finditer(r"^(\w+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M)}
        return result

    def resource_namespace(self):
        return "gt-farm"  # the network's tag is "farm": docs/naming.md
