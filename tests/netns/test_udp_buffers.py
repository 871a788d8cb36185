"""wireguard-go's UDP socket buffers: raised to what later wireguard-go sets itself, read back by `ss`.

At the default buffers (208 KiB) a lab mesh link dropped one datagram in ten
under one TCP stream (UdpRcvbufErrors), each a retransmit inside the tunnel.
"""

from ansible_collections.gridnet.tenant.plugins.module_utils import lab, udp_buffers

# a node converged by a collection that did not raise the buffers
EARLIER_VERSION = """
from ansible_collections.gridnet.tenant.plugins.module_utils import wireguard_go
wireguard_go.UserspaceBackend.raise_udp_buffers = lambda self, ifname, timeout=5: None
"""


def wireguard_go_buffers(pid):
    """{(rcvbuf, sndbuf)} of every wireguard-go UDP socket in node pid, as `ss` reads them (the kernel's doubled figure)."""
    lines = lab.run(pid, ["ss", "-u", "-a", "-m", "-p"]).stdout.splitlines()
    found = set()
    for line, following in zip(lines, lines[1:]):
        if '"wireguard-go"' in line:
            fields = following.strip()[len("skmem:("):-1].split(",")  # r0,rb212992,t0,tb212992,...
            found.add(tuple(next(int(f[2:]) for f in fields if f.startswith(k)) for k in ("rb", "tb")))
    return found


def test_wireguard_go_sockets_get_large_buffers_and_an_earlier_node_is_caught_up(farm):
    farm.node("nodea", ipv6="2001:db8:1::1")
    farm.node("nodeb", ipv6="2001:db8:1::2")
    farm.exit_node = "nodeb"
    farm.cable("nodea", "nodeb", "2001:db8:1::")
    the_plan = farm.plan()
    resource = the_plan["nodes"]["nodea"]["resources"][0]
    raised = {(2 * udp_buffers.SIZE, 2 * udp_buffers.SIZE)}

    old = farm.module("nodea", "network_resource", resource=resource, prelude=EARLIER_VERSION)
    assert old["changed"] and not old.get("failed"), old
    default = wireguard_go_buffers(farm.pids["nodea"])
    assert default and default != raised, default  # the kernel's defaults: what a daemon has on its own

    check = farm.module("nodea", "network_resource", resource=resource, check=True)
    link = resource["connected"][0]["interface"]
    wanted = "raise the UDP socket buffers of wireguard-go for %s" % link
    assert check["changes"] == [wanted], check
    assert wireguard_go_buffers(farm.pids["nodea"]) == default  # check mode touched nothing

    caught_up = farm.module("nodea", "network_resource", resource=resource)
    assert caught_up["changes"] == [wanted], caught_up
    assert wireguard_go_buffers(farm.pids["nodea"]) == raised
    assert farm.module("nodea", "network_resource", resource=resource)["changed"] is False

    info = farm.module("nodea", "network_resource_info")
    assert [r["wireguard"][link]["udp_buffer"] for r in info["resources"]] == [udp_buffers.SIZE]

    # a new link is raised in the converge that makes it, and the other node's too
    assert not farm.converge(the_plan, "nodeb").get("failed")
    assert wireguard_go_buffers(farm.pids["nodeb"]) == raised
