"""What a node module imports at start-up: only the parts of pyroute2 it uses, and the agent only when asked."""

import json
import subprocess
import sys

PROBE = """
import json, sys
from ansible_collections.gridnet.tenant.plugins.modules import node  # noqa: F401
loaded = sorted(m for m in sys.modules if m.startswith("pyroute2"))
before = {
    "protocols": [m for m in loaded if m.split(".")[1:2] and m.split(".")[1] in ("ndb", "ipdb", "conntrack", "ipset", "nftables", "iwutil",
                                                                                   "plan9", "devlink", "ipvs", "wiset")],
    "agent": [m for m in sys.modules if m.endswith(".agent_install")],
    "count": len(loaded),
}
from pyroute2 import NDB  # a name only the package's __init__ defines: the whole package comes then
import pyroute2
print(json.dumps(dict(before, whole=NDB.__module__, version=pyroute2.__version__)))
"""


def test_the_node_module_imports_pyroute2_module_by_module_and_the_whole_package_only_on_demand():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    found = json.loads(out)
    assert found["protocols"] == [] and found["agent"] == [], found
    assert found["count"] < 130, found  # the whole package is over 160 modules
    assert found["whole"] == "pyroute2.ndb.main" and found["version"], found
