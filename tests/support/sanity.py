"""ansible-test sanity, offline: what the README's test command runs.

ansible-test wants the collection under ansible_collections/gridnet/tenant/, so
the tracked and new files are copied there, in a scratch directory outside this
checkout (inside it, git would call the copy ignored and ansible-test would
find nothing to test). Its pip bootstrap
script comes from a host these machines cannot reach; where none is cached,
get_pip_offline.py is put where ansible-test looks for a manually saved one.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "%d.%d" % sys.version_info[:2]


def pip_version():
    """The pip version ansible-test bootstraps (its python_requirements module names it)."""
    import ansible_test
    source = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(source) as handle:
        return re.search(r"pip='([0-9.]+)'", handle.read()).group(1)


def copy_tree(dest):
    os.makedirs(dest)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.split(b"\0")
    for name in (f.decode() for f in files if f):
        if os.path.isfile(os.path.join(ROOT, name)):  # a deleted file is still listed until committed
            os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), os.path.join(dest, name))


def main():
    scratch = tempfile.mkdtemp(prefix="gridnet-sanity-")
    dest = os.path.join(scratch, "ansible_collections", "gridnet", "tenant")
    copy_tree(dest)
    cached = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % pip_version().replace(".", "_"))
    if not os.path.exists(cached):
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        shutil.copy(os.path.join(ROOT, "tests", "support", "get_pip_offline.py"), cached)
    ansible_test = os.path.join(os.path.dirname(sys.executable), "ansible-test")
    try:
        return subprocess.call([ansible_test, "sanity", "--python", PYTHON, "--color", "no"] + sys.argv[1:], cwd=dest)
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    sys.exit(main())
