"""The node agent's look (each second, at every record): what it finds missing, and what a look costs."""

import json
import os
import sys

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

import figures  # tests/support
from farm import COLLECTIONS  # tests/support

ROUNDS = 50
LOOK = """
import json, time
from ansible_collections.gridnet.tenant.plugins.module_utils.node import agent, records
entries, _unused = records.recorded()
started = time.process_time()
for _unused in range(%d):
    found = [agent.problems(entry) for entry in entries]
print(json.dumps({"problems": found, "ms": (time.process_time() - started) / %d * 1000}))
""" % (ROUNDS, ROUNDS)


def look(farm, node):
    """Every record's problems as the agent sees them inside node, and the CPU ms of one look at them all."""
    result = lab.run(farm.pids[node], [sys.executable, "-c", LOOK], env=dict(os.environ, PYTHONPATH=COLLECTIONS))
    return json.loads(result.stdout)


def test_the_agent_names_a_missing_link_and_its_look_is_cheap(farm):
    for index, node in enumerate(("nodea", "nodeb", "nodec", "nodee")):
        farm.node(node, ipv6="2001:db8:1::%d" % (index + 1))
    farm.exit_node = "nodee"
    farm.cable("nodea", "nodee", "2001:db8:1::")
    the_plan = farm.plan()
    assert not farm.converge(the_plan, "nodea").get("failed")  # the agent looks at nodea only

    healthy = look(farm, "nodea")
    assert healthy["problems"] == [[]], healthy
    resource = the_plan["nodes"]["nodea"]["resources"][0]
    links = [c["interface"] for c in resource["connected"]]
    lab.run(farm.pids["nodea"], ["ip", "-n", resource["namespace"], "link", "del", links[0]])
    broken = look(farm, "nodea")
    assert broken["problems"] == [["link %s is missing in %s" % (links[0], resource["namespace"])]], broken
    figures.report("the node agent's look at a resource with %d WireGuard links: %.2f ms of CPU (it looks each second)"
                   % (len(links), healthy["ms"]))
    # a parsed pyroute2 link dump made it 2.2-2.4 ms here (0.3-0.45 ms with libc's if_nameindex)
    assert healthy["ms"] < 1.5
