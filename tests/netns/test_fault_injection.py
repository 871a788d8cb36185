"""A converge that fails at any step leaves a node the next run converges.

For a resource with links of both kinds (VXLAN and WireGuard), the Nth change
of its first converge is made to fail, for every N; the next run must
converge, and the one after it must change nothing.
"""

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

# Runs in the module's own process: the FAIL_AT-th change raises as a failed netlink call would.
FAULT = """
import errno
from ansible_collections.gridnet.tenant.plugins.module_utils.node import convergence
_real_apply_changes = convergence.apply_changes
def _faulty(changes, errors=(OSError,)):
    for position, change in enumerate(changes, 1):
        if position == %d:
            def fail(text=change.text):
                raise OSError(errno.EIO, "fault injected by the test")
            change.apply = fail
    return _real_apply_changes(changes, errors)
convergence.apply_changes = _faulty
"""


def mixed_farm(farm):
    """nodea: a VXLAN link to nodeb (same segment) and a WireGuard link to nodec."""
    farm.node("nodea", ipv6="2001:db8:1::1", l2_segment="rack-a")
    farm.node("nodeb", ipv6="2001:db8:1::2", l2_segment="rack-a")
    farm.node("nodec", ipv6="2001:db8:2::2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::")
    farm.cable("nodea", "nodec", "2001:db8:2::")
    the_plan = farm.plan(ipv4_range=None)
    kinds = sorted(c["connection"] for c in the_plan["nodes"]["nodea"]["resources"][0]["connected"])
    assert kinds == ["localvxlan", "wireguard", "wireguard"] or kinds == ["localvxlan", "wireguard"], kinds
    return the_plan


def test_a_fault_at_any_step_of_the_apply_is_healed_by_the_next_run(farm):
    the_plan = mixed_farm(farm)
    resource = the_plan["nodes"]["nodea"]["resources"][0]
    steps = farm.module("nodea", "network_resource", check=True, resource=resource)["changes"]
    assert len(steps) > 15, steps
    print("fault injection: %d steps of the apply, each made to fail once" % len(steps))
    for position, step in enumerate(steps, 1):
        broken = farm.module("nodea", "network_resource", resource=resource, prelude=FAULT % position)
        assert broken.get("failed") and "fault injected by the test" in broken["msg"], (position, broken)
        healed = farm.module("nodea", "network_resource", resource=resource)
        assert not healed.get("failed") and healed["changed"], (position, step, healed)
        settled = farm.module("nodea", "network_resource", resource=resource)
        assert settled["changed"] is False, (position, step, settled["changes"])
        gone = farm.module("nodea", "network_resource", resource=resource, state="absent")
        assert not gone.get("failed"), (position, gone)
    processes = lab.run(farm.pids["nodea"], ["pgrep", "-a", "wireguard-go"], check=False).stdout
    assert processes == "", processes  # every wireguard-go went with its link
