"""Test helpers that act on lab nodes: run a module in one, cable two, workloads, pings, probes.

Only tests use these; the product's lab (plugins/module_utils/lab/lab.py) keeps what builds and tears down a lab.
"""

import glob
import json
import os
import subprocess
import sys
import tempfile
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.node import workload
from ansible_collections.gridnet.tenant.plugins.module_utils.lab.lab import LabError, run
from ansible_collections.gridnet.tenant.plugins.plugin_utils.verify.verify import workload as planned_workload


def run_module(pid, name, args, collections_path, check=False, prelude=None):
    """Run one of the collection's modules inside a lab node, as Ansible would; its JSON result.

    prelude: Python run in the module's process first (a test that breaks one step on purpose).
    """
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check, _ansible_diff=True)}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
    module = "ansible_collections.gridnet.tenant.plugins.modules." + name
    argv = [sys.executable, "-m", module, handle.name] if prelude is None else \
        [sys.executable, "-c", prelude + "\nimport runpy, sys\nname = sys.argv.pop(1)\n"
         "runpy.run_module(name, run_name='__main__', alter_sys=True)", module, handle.name]
    try:
        result = run(pid, argv, check=False, env=dict(os.environ, PYTHONPATH=collections_path))
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise LabError("module %s printed no JSON: %s %s" % (name, result.stdout, result.stderr))


def connect(pid_a, ifname_a, pid_b, ifname_b, mtu=1500):
    """A veth cable between two lab nodes (or a node and a switch)."""
    subprocess.run(["ip", "link", "add", ifname_a, "netns", str(pid_a), "mtu", str(mtu), "type", "veth",
                    "peer", "name", ifname_b, "netns", str(pid_b), "mtu", str(mtu)], check=True,
                   capture_output=True)
    run(pid_a, ["ip", "link", "set", ifname_a, "up"])
    run(pid_b, ["ip", "link", "set", ifname_b, "up"])


def attach_workload(pid, name, bridge, mtu, addresses, gateways):
    """A workload: a namespace inside the node, its veth on the resource's bridge."""
    commands = workload.attach_commands(name, bridge, mtu, addresses, gateways, ("wl-" + name)[:15])
    workload.run_commands(*commands, run=lambda argv: run(pid, argv, check=False))


def ping(pid, name, address, size=56, count=1, timeout=2, forbid_fragments=False, deadline=None):
    """True when `address` answers from inside workload `name` of node pid.

    With a deadline, ping keeps trying once a second until `count` replies or the
    deadline: first contact over a fresh WireGuard link waits for its handshake
    (wireguard-go notices a moved link is up within a second, and a dropped
    initiation is retried after 5 s).
    """
    argv = workload.ping_argv(name, address, size, forbid_fragments, deadline, timeout)
    if count != 1:
        argv[argv.index("-c") + 1] = str(count)
    return run(pid, argv, check=False).returncode == 0


# A tiny echo of the caller's source address, for probes that must prove what
# the other side sees (source preserved, NATed, forwarded, or dropped).
_SOURCE_ECHO = """
import socket, sys, threading
def strip(a): return a[7:] if a.startswith("::ffff:") else a
def tcp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port)); s.listen(16)
    while True:
        c, a = s.accept(); c.sendall(strip(a[0]).encode()); c.close()
def udp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        d, a = s.recvfrom(64); s.sendto(strip(a[0]).encode(), a)
for spec in sys.argv[1:]:
    proto, port = spec.split(":")
    threading.Thread(target=tcp if proto == "tcp" else udp, args=(int(port),)).start()
print("ready", flush=True)
"""

_PROBE = """
import socket, sys
proto, host, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.settimeout(timeout)
try:
    if proto == "tcp":
        s.connect((host, port)); print(s.recv(64).decode())
    else:
        for _unused in range(int(timeout)):
            s.sendto(b"?", (host, port))
            try:
                print(s.recvfrom(64)[0].decode()); break
            except socket.timeout:
                pass
except OSError:
    pass
"""


def _in_workload(workload, argv):
    return (["ip", "netns", "exec", workload] if workload else []) + argv


def serve_source_echo(pid, workload, specs):
    """Start echo servers ("tcp:80", "udp:9000") in a workload (or the node itself); returns the process."""
    process = subprocess.Popen(
        ["nsenter", "--target", str(pid), "--net", "--mount", "--uts", "--ipc", "--pid"]
        + _in_workload(workload, [sys.executable, "-c", _SOURCE_ECHO] + list(specs)),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise LabError("source echo did not start in node %d" % pid)
    return process


def probe(pid, workload, proto, address, port, timeout=3):
    """The source address `address:port` saw from this workload, or None when nothing came back."""
    result = run(pid, _in_workload(workload, [sys.executable, "-c", _PROBE, proto, address, str(port), str(timeout)]),
                 check=False)
    return result.stdout.strip() or None


# ---------------------------------------------------------------- a lab farm's nodes (tests/lab)

def recorded(farm, node, netid="acme"):
    """The node's own record of its resource in `netid`, read from the node's persistent /var/lib."""
    pattern = os.path.join(farm.directory, "nodes", node, "var-lib", "gridnet-tenant", "state", "resource-*.json")
    for path in glob.glob(pattern):
        with open(path) as handle:
            entry = json.load(handle)
        if entry["plan"]["netid"] == netid:
            return entry["plan"]
    raise AssertionError("no record of %s on %s" % (netid, node))


def attach(farm, node, deadline=60, netid="acme"):
    """The node's workload in netid (made again when gone); waits for the bridge the agent makes after a boot."""
    own = planned_workload(recorded(farm, node, netid))
    pid = farm.pids()[node]
    end = time.monotonic() + deadline
    while run(pid, ["ip", "link", "show", own["bridge"]], check=False).returncode != 0:
        assert time.monotonic() < end, "bridge %s never came back on %s" % (own["bridge"], node)
        time.sleep(0.05)
    attach_workload(pid, own["name"], own["bridge"], own["mtu"], own["addresses"], own["gateways"])
    return own["name"], own["addresses"][0].split("/")[0]


def first_answer(farm, node, name, address, deadline=60):
    """Monotonic time of the first ping from workload `name` of `node` that `address` answers."""
    end = time.monotonic() + deadline
    while not ping(farm.pids()[node], name, address, timeout=0.2):
        assert time.monotonic() < end, "%s never answered %s on %s" % (address, name, node)
    return time.monotonic()


def babel_view(farm, node, netid="acme"):
    """node's resource in netid as network_resource_info reports it (with babeld's neighbours and routes)."""
    namespace = recorded(farm, node, netid)["namespace"]
    return next(r for r in farm.module(node, "network_resource_info")["resources"] if r["namespace"] == namespace)


def installed_via(farm, node, peer, netid="acme"):
    """The interface node's babeld routes peer's /64 over, or None."""
    prefix = recorded(farm, peer, netid)["prefix"]
    routes = babel_view(farm, node, netid)["babel"]["routes"]
    return next((r["if"] for r in routes if r["prefix"] == prefix and r["installed"] == "yes"), None)


def link_to(farm, node, peer, netid="acme"):
    """The interface of node's link to peer in netid."""
    return next(c["interface"] for c in recorded(farm, node, netid)["connected"] if c["peer"] == peer)
