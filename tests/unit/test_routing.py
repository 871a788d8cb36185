"""The routing parts (node/parts/routing.py): static routes as a plan gives them, and none with Babel.

Routes in the kernel, babeld and the relay are proven in real namespaces by tests/netns and tests/lab
(test_relay.py, test_babel.py); here, which routes a resource wants.
"""

import types

from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.routing import Routes
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from inventory_factory import farm


def wanted_routes(resource):
    return Routes(types.SimpleNamespace(resource=resource)).desired()["routes"]


def test_static_routing_routes_each_linked_prefix_to_its_peer_and_the_defaults_to_the_exit():
    resource = plan(*farm(dc_nodes=3))["nodes"]["dc0"]["resources"][0]
    wanted = wanted_routes(resource)
    for link in resource["connected"]:
        for prefix in link["prefixes"]:
            assert wanted[prefix] == {"via": link["peer_link_local"], "dev": link["interface"]}
    for route in resource["routes"]:
        assert wanted[route["dst"]] == {"via": route["gateway"], "dev": route["interface"]}
    assert "::/0" in wanted and list(wanted) == sorted(wanted)


def test_with_babel_the_resource_installs_no_static_route():
    networks, hostvars, groups, keys = farm(dc_nodes=3)
    networks[0]["routing"] = "babel"
    resource = plan(networks, hostvars, groups, keys)["nodes"]["dc0"]["resources"][0]
    assert resource["babel"] and wanted_routes(resource) == {}
