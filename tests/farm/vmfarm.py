"""A farm of real Debian 12 machines under QEMU: three guests, their underlay, an upstream router, the internet.

    gw    the exit: dual stack in the datacenter (eth0), uplink to the upstream router (eth1)
    dc1   dual stack in the datacenter
    home  IPv4 only, behind a NAT

The underlay is made of named network namespaces this farm creates (each name
starts with the farm's own prefix, so farms of several runs never meet):

    PREFIX-wan   the datacenter switch (bridge dc), the upstream router (bridge uplink, the exit's uplink),
                 routes towards the internet host and, once planned, the tenant blocks
    PREFIX-nat   the home router: the home LAN (bridge lan), masquerading to the datacenter
    inet         the internet host, beyond the upstream router: a lab node (an anchor process in
                 namespaces of its own), which verify.yml reaches through nsenter to probe the
                 exit's port forwards and allow-list from outside

Guests are joined to it by tap devices created inside those namespaces (the tap's
descriptor is opened on a thread that entered the namespace and handed to QEMU),
and are reached by Ansible over ordinary SSH: each guest's management NIC is
QEMU's user-mode network with nothing routed out (restrict=on), forwarding one
port on the controller's loopback to the guest's sshd.

Everything lives under one state directory (farm.json: namespaces, QEMU PIDs,
ports), so `up` and `down` can be separate processes (molecule's create and
destroy) or one pytest session.
"""

import base64
import fcntl
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import image  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, ".build", "farm")

MGMT_NET, MGMT_HOST, MGMT_GUEST = "198.51.100.128/26", "198.51.100.130", "198.51.100.150"
# guest -> (memory MiB, [(netns suffix, bridge)] one per underlay NIC, `ip` lines run at boot)
GUESTS = {
    "gw": (768, [("wan", "dc"), ("wan", "uplink")], [
        "link set eth0 up", "addr add 2001:db8:f0::10/64 dev eth0 nodad", "addr add 192.0.2.10/26 dev eth0",
        "route add default via 192.0.2.1", "-6 route add default via 2001:db8:f0::1", "link set eth1 up"]),
    "dc1": (1024, [("wan", "dc")], [
        "link set eth0 up", "addr add 2001:db8:f0::11/64 dev eth0 nodad", "addr add 192.0.2.11/26 dev eth0",
        "route add default via 192.0.2.1", "-6 route add default via 2001:db8:f0::1"]),
    "home": (768, [("nat", "lan")], [
        "link set eth0 up", "addr add 192.0.2.70/26 dev eth0", "route add default via 192.0.2.65"]),
}
INTERNET = {"ipv6": "2001:db8:fe::2", "ipv4": "198.51.100.2"}

# the underlay, as `ip -n NETNS ...` lines (NETNS is the suffix, prefixed at run time)
UNDERLAY = [
    "wan link add dc type bridge", "wan link set dc up",
    "wan addr add 2001:db8:f0::1/64 dev dc nodad", "wan addr add 192.0.2.1/26 dev dc",
    "wan link add uplink type bridge", "wan link set uplink up",
    "wan addr add 2001:db8:ff::1/64 dev uplink nodad", "wan addr add 203.0.113.1/24 dev uplink",
    "nat link add lan type bridge", "nat link set lan up", "nat addr add 192.0.2.65/26 dev lan",
    # the home router's outside leg on the datacenter switch, and the internet host's cable
    "wan link add nat0 type veth peer name out netns {nat}", "wan link set nat0 master dc up",
    "nat link set out up", "nat addr add 192.0.2.20/26 dev out", "nat route add default via 192.0.2.1",
    "wan link add inet0 type veth peer name up0 netns {inet_pid}", "wan link set inet0 up",
    "wan addr add 2001:db8:fe::1/64 dev inet0 nodad", "wan addr add 198.51.100.1/25 dev inet0",
    "inet link set up0 up", "inet addr add 2001:db8:fe::2/64 dev up0 nodad",
    "inet addr add 198.51.100.2/25 dev up0",
    "inet route add default via 198.51.100.1", "inet -6 route add default via 2001:db8:fe::1",
    "inet link set lo up", "wan link set lo up", "nat link set lo up",
    # the upstream router's route to the exit's allocation (what site.yml prints for each network)
    "wan -6 route add 2001:db8:1000::/40 via 2001:db8:ff::10",
]
SYSCTLS = {"wan": ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"), "nat": ("net.ipv4.ip_forward=1",)}
NAT_RULES = "table ip farmnat {\n chain post {\n  type nat hook postrouting priority srcnat;\n  oifname \"out\" masquerade\n }\n}\n"

TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000


def _ip(where, line):
    """`ip` in a named namespace, or in a lab node (an int: its anchor's PID)."""
    if isinstance(where, int):
        argv = ["nsenter", "--target", str(where), "--net", "ip"]
    else:
        argv = ["ip", "-n", where]
    done = subprocess.run(argv + line.split(), capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError("%s %s: %s" % (" ".join(argv), line, done.stderr.strip()))


def _netns_exec(netns, argv, **kwargs):
    done = subprocess.run(["ip", "netns", "exec", netns] + argv, capture_output=True, check=False, **kwargs)
    if done.returncode:
        raise RuntimeError("in %s, %s: %s" % (netns, " ".join(argv), done.stderr))
    return done


def _open_tap(netns, name):
    """A tap device made inside `netns`; its descriptor is this process's, for QEMU to inherit."""
    from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns as nsutil

    def opened():
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
        return fd
    fd = nsutil.run_inside(netns, opened)
    os.set_inheritable(fd, True)
    return fd


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Farm(object):
    def __init__(self, state_dir):
        self.dir = os.path.abspath(state_dir)
        path = os.path.join(self.dir, "farm.json")
        with open(path) as handle:
            self.state = json.load(handle)

    def netns(self, suffix):
        return self.state["namespaces"][suffix]

    def ssh_argv(self, guest, command):
        return ["ssh", "-F", "/dev/null", "-i", self.state["key"], "-p", str(self.state["ports"][guest]),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "root@127.0.0.1", command]

    def ssh(self, guest, command, timeout=120, check=True):
        """Run a shell command on a guest over SSH, as Ansible reaches it."""
        done = subprocess.run(self.ssh_argv(guest, command), capture_output=True, text=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
        if check and done.returncode:
            raise AssertionError("on %s, %s: exit %d: %s%s"
                                 % (guest, command, done.returncode, done.stdout[-2000:], done.stderr[-2000:]))
        return done

    def wait_ssh(self, guest, deadline):
        while time.monotonic() < deadline:
            try:
                if self.ssh(guest, "systemctl is-system-running --wait >/dev/null 2>&1; true", timeout=60,
                            check=False).returncode == 0:
                    return True
            except subprocess.TimeoutExpired:
                pass
            time.sleep(2)
        return False

    def inventory(self):
        return os.path.join(self.dir, "inventory")

    def console(self, guest):
        with open(os.path.join(self.dir, guest + ".console"), errors="replace") as handle:
            return handle.read()

    def in_netns(self, suffix, argv, **kwargs):
        return _netns_exec(self.netns(suffix), argv, **kwargs)


def _qemu(guest, paths, disk, console, port, taps):
    memory, _nics, lines = GUESTS[guest]
    mgmt = "eth%d" % len(taps)
    script = ["ip " + line for line in lines + ["link set %s up" % mgmt, "addr add %s/26 dev %s" % (MGMT_GUEST, mgmt)]]
    # one packet to QEMU's user-mode router, so it learns the guest's MAC before the first forwarded connection
    script.append("ping -c 1 -W 2 %s >/dev/null || true" % MGMT_HOST)
    net = base64.b64encode("\n".join(script).encode())
    argv = ["qemu-system-x86_64", "-name", "farm-" + guest, "-accel", "tcg", "-cpu", "max", "-smp", "1",
            "-m", str(memory), "-nodefaults", "-display", "none",
            # the serial console: logged, and a socket where the guest's root shell answers (autologin)
            "-chardev", "socket,id=con,path=%s.serial,server=on,wait=off,logfile=%s" % (console[:-len(".console")], console),
            "-serial", "chardev:con",
            "-kernel", paths["kernel"], "-initrd", paths["initrd"],
            "-append", "console=ttyS0 root=/dev/vda rw net.ifnames=0 systemd.hostname=%s farm.net=%s"
                       % (guest, net.decode()),
            "-drive", "file=%s,if=virtio,format=qcow2,cache=unsafe" % disk]
    for number, fd in enumerate(taps):
        argv += ["-netdev", "tap,id=u%d,fd=%d" % (number, fd),
                 "-device", "virtio-net-pci,netdev=u%d,addr=0x%x,mac=52:54:00:fa:%02x:%02x"
                 % (number, 4 + number, list(GUESTS).index(guest), number)]
    argv += ["-netdev", "user,id=m,restrict=on,net=%s,host=%s,hostfwd=tcp:127.0.0.1:%d-%s:22"
             % (MGMT_NET, MGMT_HOST, port, MGMT_GUEST),
             "-device", "virtio-net-pci,netdev=m,addr=0x%x" % (4 + len(taps))]
    return argv


def up(state_dir, log=sys.stderr, boot_deadline=600):
    """Build (or take the cached) image, make the underlay, boot every guest; returns a Farm once each answers SSH."""
    state_dir = os.path.abspath(state_dir)
    os.makedirs(state_dir, exist_ok=True)
    paths = image.build(BUILD, log)
    from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

    prefix = "gtf%d" % (os.getpid() % 100000)
    namespaces = {suffix: "%s-%s" % (prefix, suffix) for suffix in ("wan", "nat")}
    state = {"namespaces": namespaces, "pids": {}, "ports": {}, "key": paths["key"], "dir": state_dir,
             "lab": prefix, "inet": None}
    with open(os.path.join(state_dir, "farm.json"), "w") as handle:
        json.dump(state, handle)  # written first: down() removes whatever was made, even half-way
    for name in namespaces.values():
        subprocess.run(["ip", "netns", "add", name], check=True)
    state["inet"] = lab.start_node("inet", lab=prefix)
    with open(os.path.join(state_dir, "farm.json"), "w") as handle:
        json.dump(state, handle)
    where = dict(namespaces, inet=state["inet"])
    for line in UNDERLAY:
        suffix, rest = line.split(" ", 1)
        _ip(where[suffix], rest.format(inet_pid=state["inet"], **namespaces))
    for suffix, keys in SYSCTLS.items():
        _netns_exec(namespaces[suffix], ["sysctl", "-q", "-w"] + list(keys))
    _netns_exec(namespaces["nat"], ["nft", "-f", "-"], input=NAT_RULES.encode())
    for guest, (_memory, nics, _lines) in GUESTS.items():
        disk = os.path.join(state_dir, guest + ".qcow2")  # the guest's own disk: it keeps what the guest writes
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.abspath(paths["image"]),
                        "-F", "raw", disk], check=True)
        taps = []
        for number, (suffix, bridge) in enumerate(nics):
            tap = "%s%d" % (guest[:4], number)
            taps.append(_open_tap(namespaces[suffix], tap))
            _ip(namespaces[suffix], "link set %s master %s up" % (tap, bridge))
        port = _free_port()
        argv = _qemu(guest, paths, disk, os.path.join(state_dir, guest + ".console"), port, taps)
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(os.path.join(state_dir, guest + ".qemu"), "w"),
                                   stderr=subprocess.STDOUT, pass_fds=taps, start_new_session=True)
        for fd in taps:
            os.close(fd)
        state["pids"][guest], state["ports"][guest] = process.pid, port
        with open(os.path.join(state_dir, "farm.json"), "w") as handle:
            json.dump(state, handle)
    farm = Farm(state_dir)
    write_inventory(farm)
    deadline = time.monotonic() + boot_deadline
    for guest in GUESTS:
        if not farm.wait_ssh(guest, deadline):
            raise RuntimeError("guest %s did not answer SSH within %d s; its console ends:\n%s"
                               % (guest, boot_deadline, farm.console(guest)[-3000:]))
    return farm


def down(state_dir):
    """Stop every guest (by the PID it recorded) and remove every namespace of the farm, and its files."""
    path = os.path.join(os.path.abspath(state_dir), "farm.json")
    if not os.path.exists(path):
        return
    with open(path) as handle:
        state = json.load(handle)
    for pid in state["pids"].values():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in state["pids"].values():
        for _unused in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
    if state.get("inet"):
        from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab
        lab.stop_node(state["inet"])
    for name in state["namespaces"].values():
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    shutil.rmtree(os.path.abspath(state_dir), ignore_errors=True)


INVENTORY = """# A farm of three Debian 12 machines, reached over SSH (tests/farm/vmfarm.py made it).
all:
  vars:
    ansible_user: root
    ansible_host: 127.0.0.1
    ansible_python_interpreter: /usr/bin/python3
    ansible_ssh_private_key_file: {key}
    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
    gridnet_tenant_ledger_plaintext: true
    gridnet_tenant_verify_internet: {{ipv6: "{inet6}", ipv4: "{inet4}"}}
    gridnet_tenant_networks:
      - netid: farm
        tag: farm
        members: [gw, dc1, home]
        routing: babel
        exit: {{node: gw, ipv6: "2001:db8:ff::10/64", ipv4: "203.0.113.10/24"}}
        ipv4_range: 10.90.0.0/16
        ipv6_allow: [{{node: dc1, proto: tcp, port: 443}}]
        ipv4_dnat: [{{proto: tcp, port: 8443, node: dc1, host: 10, to_port: 443}}]
  children:
    gridnet_tenant_verify_outside:
      hosts:
        inet:
          ansible_connection: community.docker.nsenter
          ansible_nsenter_pid: {inet_pid}
          ansible_python_interpreter: {python}
  hosts:
    gw:
      ansible_port: {gw}
      gridnet_tenant_underlay: {{ipv6: "2001:db8:f0::10", ipv4: "192.0.2.10"}}
      gridnet_tenant_exit:
        allocation: "2001:db8:1000::/40"
        network_prefixlen: 48
        uplink: {{parent: eth1, ipv6_gateway: "2001:db8:ff::1", ipv4_gateway: "203.0.113.1"}}
    dc1:
      ansible_port: {dc1}
      # behind a stateful firewall: never dialled, so it and home link through gw's relay
      gridnet_tenant_underlay: {{ipv6: "2001:db8:f0::11", ipv4: "192.0.2.11", reachable: false}}
    home:
      ansible_port: {home}
      gridnet_tenant_underlay: {{ipv4: "192.0.2.70", reachable: false}}
"""


def write_inventory(farm):
    os.makedirs(os.path.join(farm.inventory(), "group_vars", "all"), exist_ok=True)
    with open(os.path.join(farm.inventory(), "hosts.yml"), "w") as handle:
        handle.write(INVENTORY.format(key=farm.state["key"], inet6=INTERNET["ipv6"], inet4=INTERNET["ipv4"],
                                      inet_pid=farm.state["inet"], python=sys.executable, **farm.state["ports"]))


if __name__ == "__main__":
    command, folder = sys.argv[1], sys.argv[2]
    if command == "up":
        started = time.monotonic()
        up(folder)
        print("farm up in %.0f s: inventory %s" % (time.monotonic() - started, os.path.join(folder, "inventory")))
    else:
        down(folder)
