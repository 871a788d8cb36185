"""wireguard-go links tuned: UDP socket buffers raised to what later wireguard-go sets itself (read back
by `ss`), and what the TUN links receive steered to every CPU (read back from sysfs by `ip netns exec`).

At the default buffers (208 KiB) a lab mesh link dropped one datagram in ten
under one TCP stream (UdpRcvbufErrors), each a retransmit inside the tunnel.
"""

import os
import subprocess
import sys

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab
from ansible_collections.gridnet.tenant.plugins.module_utils.node import udp_buffers

# a node converged by a collection that tuned nothing
EARLIER_VERSION = """
from ansible_collections.gridnet.tenant.plugins.module_utils.node import userspace_tuning
userspace_tuning.changes = lambda target, desired, actual: []
"""
STEERED = os.cpu_count() > 1  # a single CPU has nothing to steer to


def steering(pid, namespace, link):
    """rps_cpus of link's receive queue, as the namespace's own sysfs shows it (nonzero: steered)."""
    cat = ["ip", "netns", "exec", namespace, "cat", "/sys/class/net/%s/queues/rx-0/rps_cpus" % link]
    return int(lab.run(pid, cat).stdout.strip().replace(",", ""), 16)


def wireguard_go_buffers(pid):
    """{(rcvbuf, sndbuf)} of every wireguard-go UDP socket in node pid, as `ss` reads them (the kernel's doubled figure)."""
    lines = lab.run(pid, ["ss", "-u", "-a", "-m", "-p"]).stdout.splitlines()
    found = set()
    for line, following in zip(lines, lines[1:]):
        if '"wireguard-go"' in line:
            fields = following.strip()[len("skmem:("):-1].split(",")  # r0,rb212992,t0,tb212992,...
            found.add(tuple(next(int(f[2:]) for f in fields if f.startswith(k)) for k in ("rb", "tb")))
    return found


def test_wireguard_go_links_are_tuned_and_an_earlier_node_is_caught_up(farm):
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

    link, namespace = resource["connected"][0]["interface"], resource["namespace"]
    assert steering(farm.pids["nodea"], namespace, link) == 0

    check = farm.module("nodea", "network_resource", resource=resource, check=True)
    wanted = ["raise the UDP socket buffers of wireguard-go for %s" % link]
    wanted += ["steer to every CPU the packets received on %s (RPS)" % link] if STEERED else []
    assert check["changes"] == wanted, check
    assert wireguard_go_buffers(farm.pids["nodea"]) == default  # check mode touched nothing
    assert steering(farm.pids["nodea"], namespace, link) == 0

    caught_up = farm.module("nodea", "network_resource", resource=resource)
    assert caught_up["changes"] == wanted, caught_up
    assert wireguard_go_buffers(farm.pids["nodea"]) == raised
    assert bool(steering(farm.pids["nodea"], namespace, link)) == STEERED
    assert farm.module("nodea", "network_resource", resource=resource)["changed"] is False

    info = farm.module("nodea", "network_resource_info")
    assert [r["wireguard"][link]["udp_buffer"] for r in info["resources"]] == [udp_buffers.SIZE]
    assert [bool(int(r["wireguard"][link]["rps_cpus"].replace(",", ""), 16)) for r in info["resources"]] == [STEERED]

    # a new link is tuned in the converge that makes it, and the other node's too
    assert not farm.converge(the_plan, "nodeb").get("failed")
    assert wireguard_go_buffers(farm.pids["nodeb"]) == raised
    other = the_plan["nodes"]["nodeb"]["resources"][0]
    assert bool(steering(farm.pids["nodeb"], other["namespace"], other["connected"][0]["interface"])) == STEERED


CHURN = """
import socket, sys
kept = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
print(kept.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2, flush=True)
while True:  # a daemon's short-lived descriptors, as wireguard-go's UAPI connections are
    for brief in [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _unused in range(100)]:
        brief.close()
"""


def test_sockets_closed_while_they_are_read_are_passed_over():
    # CI run: "pidfd_getfd: Bad file descriptor" when the daemon closed the UAPI connection just read from
    child = subprocess.Popen([sys.executable, "-c", CHURN], stdout=subprocess.PIPE, text=True)
    try:
        kept = int(child.stdout.readline())
        for _unused in range(3000):
            assert udp_buffers.smallest(child.pid) == kept
    finally:
        child.kill()
        child.wait()
