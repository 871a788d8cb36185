"""After applying, every converging module reads the state back: a change that did not take fails the task."""

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

# Runs in the module's own process: the route to SKIP is "applied" by doing nothing.
SKIP_ONE_ROUTE = """
from ansible_collections.gridnet.tenant.plugins.module_utils.node import routes
_real_write = routes.write
def _write(ipr, command, dst, record, proto):
    if command == "replace" and dst == %r:
        return
    return _real_write(ipr, command, dst, record, proto)
routes.write = _write
"""


def pair(farm):
    farm.node("nodea", ipv6="2001:db8:1::1", ipv4="192.0.2.1")
    farm.node("nodeb", ipv6="2001:db8:1::2", ipv4="192.0.2.2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::", "192.0.2.")
    return farm.plan()


def test_a_route_that_does_not_take_fails_the_module_naming_it(farm):
    the_plan = pair(farm)
    resource = the_plan["nodes"]["nodea"]["resources"][0]
    peer_prefix = resource["connected"][0]["prefixes"][0]
    result = farm.module("nodea", "network_resource", resource=resource, prelude=SKIP_ONE_ROUTE % peer_prefix)
    assert result.get("failed"), result
    assert "read back differs" in result["msg"] and "routes %s: wanted via" % peer_prefix in result["msg"], result
    assert "found nothing" in result["msg"], result
    # every other route did take: only the skipped one is named
    assert result["msg"].count("routes ") == 1, result
    routes = lab.run(farm.pids["nodea"], ["ip", "-6", "-n", resource["namespace"], "route", "show", "proto", "152"])
    assert peer_prefix not in routes.stdout and "default" in routes.stdout
    # the next run, without the fault, finishes the job
    healed = farm.module("nodea", "network_resource", resource=resource)
    assert healed["changed"] and healed["changes"] == ["route %s via %s dev %s" % (
        peer_prefix, resource["connected"][0]["peer_link_local"], resource["connected"][0]["interface"])], healed


@pytest.mark.parametrize("module", ["exit_gateway", "upstream_routes"])
def test_exit_and_upstream_routes_are_read_back_too(farm, module):
    the_plan = pair(farm)
    farm.outside("nodeb")
    for node in ("nodea", "nodeb"):
        assert not farm.converge(the_plan, node).get("failed")
    if module == "exit_gateway":
        node, args, dst = "nodeb", {"exit": the_plan["exits"][0]}, "::/0"
    else:
        node, args, dst = "router", {"routes": the_plan["upstream_routes"]}, the_plan["upstream_routes"][0]["prefix"]
    result = farm.module(node, module, prelude=SKIP_ONE_ROUTE % dst, **args)
    assert result.get("failed") and "routes %s: wanted via" % dst in result["msg"], result
