"""The attachment part (node/parts/attachment.py): where workloads attach, as a plan gives it.

The namespace, bridge and veth are made and read in real namespaces by tests/netns (test_network_resource.py,
test_read_back.py); here, the plan-to-state translation and the input check.
"""

import types

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.attachment import NAMESPACE_SYSCTLS, Attachment
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from inventory_factory import farm


def test_the_gateway_side_holds_both_gateways_and_the_link_local_at_the_workload_mtu():
    resource = plan(*farm(dc_nodes=2))["nodes"]["dc0"]["resources"][0]
    wanted = Attachment(types.SimpleNamespace(resource=resource)).desired()
    assert wanted["namespace"] is True and wanted["sysctls"] == NAMESPACE_SYSCTLS
    assert wanted["veth"]["addresses"] == sorted([resource["gateway6"], resource["gateway4"],
                                                  resource["link_local"] + "/64"])
    assert wanted["veth"]["mtu"] == wanted["bridge"]["mtu"] == resource["mtu"]
    assert wanted["bridge"]["mac"] == resource["macs"]["bridge"] and wanted["veth"]["mac"] == resource["macs"]["veth_ns"]
    # forwarding on, and no address the kernel would make on links moved in later
    assert NAMESPACE_SYSCTLS["net.ipv6.conf.all.forwarding"] == "1"
    assert NAMESPACE_SYSCTLS["net.ipv6.conf.default.addr_gen_mode"] == "1"


def test_a_name_over_the_kernels_limit_is_refused_by_field_even_to_remove_it():
    resource = plan(*farm(dc_nodes=2))["nodes"]["dc0"]["resources"][0]
    assert Attachment.check_when_absent
    with pytest.raises(InputError, match="resource bridge"):
        Attachment.check(dict(resource, bridge="gtb-" + "x" * 12))
    Attachment.check(resource)
