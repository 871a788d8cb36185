# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WireGuard back ends behind one interface: the kernel (pyroute2 netlink) and
userspace wireguard-go (its UAPI socket).

Every link is created in the node's own namespace, so its UDP socket lives
there, then moved into the network resource's namespace. Both back ends read
and write the same normalised configuration:

    {"private_key": b64, "listen_port": int,
     "peers": {public_key: {"endpoint": "addr:port" | "[v6]:port" | None,
                            "allowed_ips": [sorted cidrs],
                            "persistent_keepalive": int,
                            "last_handshake": epoch seconds}}}

The back end is detected by trying (a netlink ``wireguard`` link add); the
kernel version says nothing about whether the module is there.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import socket
import subprocess
import time

from ansible_collections.gridnet.tenant.plugins.module_utils import netns
from ansible_collections.gridnet.tenant.plugins.module_utils.errors import NodeError

try:
    from pyroute2 import WireGuard
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:  # reported by the modules through missing_required_lib
    WireGuard = None
    NetlinkError = Exception

UAPI_DIR = "/var/run/wireguard"
LOG_DIR = "/run/gridnet-tenant/wireguard-go"
PROBE_IFNAME = "gtwprobe0"
INOTIFY_SYSCTL = "fs.inotify.max_user_instances"


class WireGuardError(NodeError):
    pass


def _hex(key_b64):
    return binascii.hexlify(base64.b64decode(key_b64)).decode("ascii")


def _b64(key_hex):
    return base64.b64encode(binascii.unhexlify(key_hex)).decode("ascii")


def split_endpoint(endpoint):
    """("addr", port) from "addr:port" or "[v6]:port"."""
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


def _start_failure(binary, ifname, code, log_path):
    try:
        with open(log_path, errors="replace") as handle:
            said = handle.read().strip()[-2000:]
    except OSError:
        said = ""
    text = "%s %s exited with status %s: %s" % (binary, ifname, code, said or "(it said nothing)")
    if "too many open files" in said.lower():
        text += " (each wireguard-go link takes one inotify instance; raise the sysctl %s)" % INOTIFY_SYSCTL
    return text


def inotify_budget():
    """(limit, in use) of inotify instances for this user, as far as this process can see.

    The limit is shared by every process of the uid on the machine; the count
    covers the processes visible here (inside a PID namespace, only its own).
    """
    limit = int(netns.read_sysctls([INOTIFY_SYSCTL])[INOTIFY_SYSCTL])
    uid, used = os.geteuid(), 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat("/proc/" + entry).st_uid != uid:
                continue
            fds = os.listdir("/proc/%s/fd" % entry)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (entry, fd)) == "anon_inode:inotify":
                    used += 1
            except OSError:
                pass
    return limit, used


class UserspaceBackend(object):
    """wireguard-go: one process per link, configured over /var/run/wireguard/NAME.sock."""

    name = "userspace"
    kind = "tun"

    def __init__(self, binary="wireguard-go"):
        self.binary = binary

    def available(self):
        return shutil.which(self.binary) is not None

    def check_capacity(self, new_links):
        """Refuse, before anything is made, more links than the inotify budget leaves room for."""
        if new_links <= 0:
            return
        limit, used = inotify_budget()
        if used + new_links > limit:
            raise WireGuardError(
                "%d new wireguard-go links need %d inotify instances, but %s is %d and %d are in use here; "
                "raise it (sysctl -w %s=%d) or use the kernel back end"
                % (new_links, new_links, INOTIFY_SYSCTL, limit, used, INOTIFY_SYSCTL, used + new_links + 64))

    def create(self, ipr, ifname):
        """Start wireguard-go for `ifname`, fully detached from whoever called us.

        It runs in the foreground of its own session (no controlling terminal:
        an SSH pty that closes cannot hang it up), with no descriptor of ours
        but its log file, so it outlives this module. Running it in the
        foreground (not letting it fork) keeps its own error visible when it
        fails after opening the UAPI socket (inotify exhausted, say).
        """
        os.makedirs(LOG_DIR, mode=0o700, exist_ok=True)
        log_path = os.path.join(LOG_DIR, ifname + ".log")
        env = dict(os.environ, LOG_LEVEL="error", WG_PROCESS_FOREGROUND="1")
        with open(log_path, "wb") as log:
            process = subprocess.Popen([self.binary, ifname], env=env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=log, close_fds=True, start_new_session=True, cwd="/")
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                raise WireGuardError(_start_failure(self.binary, ifname, process.returncode, log_path))
            try:
                self._talk(ifname, "get=1\n\n")
                return process.pid
            except WireGuardError:
                if time.monotonic() > deadline:
                    process.kill()
                    raise WireGuardError("%s %s started but its UAPI socket never answered" % (self.binary, ifname))
            time.sleep(0.01)

    def pid(self, ifname):
        """The PID of the wireguard-go serving this link, or None."""
        found = self._processes(ifname)
        return found[0] if found else None

    def _processes(self, ifname):
        """PIDs of the wireguard-go serving exactly this link (cmdline: binary ifname)."""
        wanted = [os.path.basename(self.binary).encode(), ifname.encode()]
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/cmdline" % entry, "rb") as handle:
                        argv = handle.read().split(b"\0")[:2]
                except OSError:
                    continue
                if len(argv) == 2 and os.path.basename(argv[0]) == wanted[0] and argv[1] == wanted[1]:
                    found.append(int(entry))
        return found

    def wait_gone(self, ifname, timeout=5):
        """After its link is deleted, wireguard-go exits; wait until it has."""
        path = os.path.join(UAPI_DIR, ifname + ".sock")
        deadline = time.monotonic() + timeout
        while (os.path.exists(path) or self._processes(ifname)) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _talk(self, ifname, request):
        path = os.path.join(UAPI_DIR, ifname + ".sock")
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(10)
        try:
            client.connect(path)
            client.sendall(request.encode("ascii"))
            data = b""
            while not data.endswith(b"\n\n"):
                chunk = client.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError as exc:
            raise WireGuardError("UAPI socket %s: %s" % (path, exc))
        finally:
            client.close()
        lines = data.decode("ascii").strip().split("\n")
        if not lines or not lines[-1].startswith("errno="):
            raise WireGuardError("UAPI socket %s: unexpected answer %r" % (path, data[:200]))
        if lines[-1] != "errno=0":
            raise WireGuardError("UAPI %s on %s: %s" % (request.split("\n")[0], ifname, lines[-1]))
        return lines[:-1]

    def read(self, ifname, namespace=None):
        config = {"private_key": None, "listen_port": 0, "peers": {}}
        peer = None
        for line in self._talk(ifname, "get=1\n\n"):
            key, _, value = line.partition("=")
            if key == "private_key":
                config["private_key"] = _b64(value)
            elif key == "listen_port":
                config["listen_port"] = int(value)
            elif key == "public_key":
                peer = config["peers"][_b64(value)] = {
                    "endpoint": None, "allowed_ips": [], "persistent_keepalive": 0, "last_handshake": 0}
            elif peer is None:
                continue
            elif key == "endpoint":
                peer["endpoint"] = value
            elif key == "allowed_ip":
                peer["allowed_ips"].append(value)
            elif key == "persistent_keepalive_interval":
                peer["persistent_keepalive"] = int(value)
            elif key == "last_handshake_time_sec":
                peer["last_handshake"] = int(value)
        for peer in config["peers"].values():
            peer["allowed_ips"].sort()
        return config

    def write(self, ifname, namespace, private_key=None, listen_port=None, replace_peers=False, peer=None):
        lines = ["set=1"]
        if private_key is not None:
            lines.append("private_key=" + _hex(private_key))
        if listen_port is not None:
            lines.append("listen_port=%d" % listen_port)
        if replace_peers:
            lines.append("replace_peers=true")
        if peer is not None:
            lines.append("public_key=" + _hex(peer["public_key"]))
            if peer.get("endpoint"):
                lines.append("endpoint=" + peer["endpoint"])
            if "persistent_keepalive" in peer:
                lines.append("persistent_keepalive_interval=%d" % peer["persistent_keepalive"])
            if "allowed_ips" in peer:
                lines.append("replace_allowed_ips=true")
                lines += ["allowed_ip=" + cidr for cidr in peer["allowed_ips"]]
        self._talk(ifname, "\n".join(lines) + "\n\n")


class KernelBackend(object):
    """The kernel module, over generic netlink (pyroute2.WireGuard).

    A generic netlink socket talks to devices of the namespace it was opened
    in, so reads and writes run on a thread inside the link's namespace.
    """

    name = "kernel"
    kind = "wireguard"

    def create(self, ipr, ifname):
        ipr.link("add", ifname=ifname, kind="wireguard")

    def check_capacity(self, new_links):
        pass  # kernel links take no per-link process or inotify instance

    def pid(self, ifname):
        return None

    def wait_gone(self, ifname, timeout=5):
        pass  # a kernel link is gone when netlink says so

    def _in(self, namespace, function, *args):
        return netns.run_inside(namespace, function, *args) if namespace else function(*args)

    def read(self, ifname, namespace=None):
        return self._in(namespace, self._read, ifname)

    def _read(self, ifname):
        with WireGuard() as wg:
            messages = wg.info(ifname)
        config = {"private_key": None, "listen_port": 0, "peers": {}}
        for msg in messages:
            key = msg.get_attr("WGDEVICE_A_PRIVATE_KEY")
            if key is not None:
                config["private_key"] = key.decode("ascii") if isinstance(key, bytes) else key
            port = msg.get_attr("WGDEVICE_A_LISTEN_PORT")
            if port is not None:
                config["listen_port"] = port
            for peer in msg.get_attr("WGDEVICE_A_PEERS") or []:
                public = peer.get_attr("WGPEER_A_PUBLIC_KEY")
                public = public.decode("ascii") if isinstance(public, bytes) else public
                endpoint = peer.get_attr("WGPEER_A_ENDPOINT")
                handshake = peer.get_attr("WGPEER_A_LAST_HANDSHAKE_TIME") or {}
                entry = config["peers"].setdefault(public, {
                    "endpoint": None, "allowed_ips": [], "persistent_keepalive": 0, "last_handshake": 0})
                if endpoint and endpoint.get("port"):
                    addr = endpoint["addr"]
                    entry["endpoint"] = ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, endpoint["port"])
                entry["persistent_keepalive"] = peer.get_attr("WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL") or 0
                entry["last_handshake"] = handshake.get("tv_sec", 0) if hasattr(handshake, "get") else 0
                for allowed in peer.get_attr("WGPEER_A_ALLOWEDIPS") or []:
                    if allowed.get("addr"):
                        entry["allowed_ips"].append(allowed["addr"])
        for peer in config["peers"].values():
            peer["allowed_ips"].sort()
        return config

    def write(self, ifname, namespace, private_key=None, listen_port=None, replace_peers=False, peer=None):
        self._in(namespace, self._write, ifname, private_key, listen_port, replace_peers, peer)

    def _write(self, ifname, private_key, listen_port, replace_peers, peer):
        with WireGuard() as wg:
            if replace_peers:
                for public in self._read(ifname)["peers"]:
                    if peer is None or public != peer["public_key"]:
                        wg.set(ifname, peer={"public_key": public, "remove": True})
            args = {}
            if peer is not None:
                args = {"public_key": peer["public_key"]}
                if peer.get("endpoint"):
                    args["endpoint_addr"], args["endpoint_port"] = split_endpoint(peer["endpoint"])
                if "persistent_keepalive" in peer:
                    args["persistent_keepalive"] = peer["persistent_keepalive"]
                if "allowed_ips" in peer:
                    args["allowed_ips"] = peer["allowed_ips"]
                    args["replace_allowed_ips"] = True
            wg.set(ifname, private_key=private_key, listen_port=listen_port, peer=args or None)


def select_backend(ipr, wanted="auto", binary="wireguard-go"):
    """The back end to create new links with. Detected by trying, never by kernel version."""
    userspace = UserspaceBackend(binary)
    if wanted == "userspace":
        if not userspace.available():
            raise WireGuardError("wireguard_backend=userspace but %s is not installed" % binary)
        return userspace
    if wanted == "kernel":
        return KernelBackend()
    try:
        ipr.link("add", ifname=PROBE_IFNAME, kind="wireguard")
    except NetlinkError as exc:
        if userspace.available():
            return userspace
        raise WireGuardError("no WireGuard: the kernel refused a wireguard link (%s) and %s is not installed"
                             % (exc, binary))
    ipr.link("del", index=ipr.link_lookup(ifname=PROBE_IFNAME)[0])
    return KernelBackend()


def predict_backend(wanted="auto", binary="wireguard-go"):
    """The back end select_backend would choose, guessed without touching the node (for check mode)."""
    if wanted == "kernel" or (wanted == "auto" and os.path.isdir("/sys/module/wireguard")):
        return KernelBackend()
    return UserspaceBackend(binary)


def backend_for_kind(kind, binary="wireguard-go"):
    """Existing links are handled by the back end that made them, whatever is preferred now."""
    return KernelBackend() if kind == "wireguard" else UserspaceBackend(binary)
