"""node/resource.py: a resource's parts composed in the order their changes must run, and its input refused by
name before anything is touched. (Converging one in the kernel: tests/netns/test_network_resource.py.)"""

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.attachment import Attachment
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.routing import Babel, Routes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.vxlan_link import VxlanLink
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.wireguard_link import WireGuardLinks
from ansible_collections.gridnet.tenant.plugins.module_utils.node.resource import PARTS, READ_BY_NAMES, validate
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from inventory_factory import farm


def test_the_namespace_comes_first_links_before_the_routes_through_them_and_babeld_last():
    order = list(PARTS)
    assert order[0] is Attachment and order[-1] is Babel
    assert order.index(WireGuardLinks) < order.index(Routes) and order.index(VxlanLink) < order.index(Routes)
    assert set(READ_BY_NAMES) <= set(PARTS)


def resource():
    networks, hostvars, groups, keys = farm(dc_nodes=2)
    networks[0]["routing"] = "babel"
    return plan(networks, hostvars, groups, keys)["nodes"]["dc0"]["resources"][0]


@pytest.mark.parametrize("change, named", [
    (lambda r: r.pop("prefix"), "resource lacks prefix"),
    (lambda r: r.update(veth_ns="gtn-" + "x" * 12), "resource veth_ns"),
    (lambda r: r["connected"][0].update(public_key="short"), "link to "),
    (lambda r: r.update(relay={"ipv5": {}}), "resource relay"),
    (lambda r: r["babel"].update(router_id_prefix="nope"), "babel.router_id_prefix"),
])
def test_each_parts_input_is_refused_by_name(change, named):
    broken = resource()
    change(broken)
    with pytest.raises(InputError, match=named):
        validate(broken, "present")


def test_to_remove_a_resource_only_its_names_are_needed_and_checked():
    names = {k: resource()[k] for k in ("netid", "namespace", "bridge", "veth_host")}
    validate(dict(names, connected=[{"interface": "x" * 20}]), "absent")  # links are not looked at
    with pytest.raises(InputError, match="resource bridge"):
        validate(dict(names, bridge="gtb-" + "x" * 12), "absent")
