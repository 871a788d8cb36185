# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The userspace WireGuard back end: wireguard-go, detached, spoken to over its UAPI socket.

Each link is one wireguard-go process in its own session (found by its argv,
`wireguard-go IFNAME`), logging to LOG_DIR, holding one inotify instance; the
capacity check says how many more the node can hold. Its UDP sockets' buffers
are raised from outside (udp_buffers.py): read with its configuration, as
`udp_buffer`. The interface both back ends share is described in wireguard.py.
"""

from __future__ import annotations

import base64
import binascii
import errno
import os
import shutil
import socket
import struct
import subprocess
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns, udp_buffers
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import WireGuardError

UAPI_DIR = "/var/run/wireguard"
LOG_DIR = "/run/gridnet-tenant/wireguard-go"
INOTIFY_SYSCTL = "fs.inotify.max_user_instances"


def _hex(key_b64):
    return binascii.hexlify(base64.b64decode(key_b64)).decode("ascii")


def _b64(key_hex):
    return base64.b64encode(binascii.unhexlify(key_hex)).decode("ascii")


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

    def _talk(self, ifname, request, answerer=None):
        """The UAPI answer's lines; `answerer` (a list) gets the PID of the daemon that answered."""
        path = os.path.join(UAPI_DIR, ifname + ".sock")
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(10)
        try:
            client.connect(path)
            if answerer is not None:
                answerer.append(struct.unpack("3i", client.getsockopt(
                    socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0])
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

    def read(self, ifname, namespace=None, buffers=True):
        config = {"private_key": None, "listen_port": 0, "peers": {}}
        peer, answerer = None, []
        for line in self._talk(ifname, "get=1\n\n", answerer):
            key, _unused, value = line.partition("=")
            if key == "private_key":
                config["private_key"] = _b64(value)
            elif key == "listen_port":
                config["listen_port"] = int(value)
            elif key == "public_key":
                peer = config["peers"][_b64(value)] = {
                    "endpoint": None, "allowed_ips": [], "persistent_keepalive": 0, "last_handshake": 0,
                    "rx_bytes": 0, "tx_bytes": 0}
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
            elif key in ("rx_bytes", "tx_bytes"):
                peer[key] = int(value)
        for peer in config["peers"].values():
            peer["allowed_ips"].sort()
        if not buffers:  # its sockets are looked at through another process's descriptors: not for free
            return config
        try:
            config["udp_buffer"] = udp_buffers.smallest(answerer[0])  # None: no socket bound yet
        except OSError:
            pass  # pidfd_getfd refused (Linux < 5.6, Yama ptrace_scope 3): left as it is
        return config

    def raise_udp_buffers(self, ifname, timeout=5):
        """Raise the buffers of the daemon's UDP sockets, once it has bound them (when its link is up)."""
        answerer = []
        self._talk(ifname, "get=1\n\n", answerer)
        deadline = time.monotonic() + timeout
        try:
            while udp_buffers.smallest(answerer[0]) is None:
                if time.monotonic() > deadline:
                    raise WireGuardError("%s %s bound no UDP socket within %d s" % (self.binary, ifname, timeout))
                time.sleep(0.01)
            udp_buffers.raise_to(answerer[0])
            found = udp_buffers.smallest(answerer[0])
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.ENOSYS):
                return  # pidfd_getfd refused here: left as they are, and read as unknown
            raise
        if found is None or found < udp_buffers.SIZE:  # None: its sockets were closed meanwhile
            raise WireGuardError("%s %s: UDP socket buffers read %s bytes after being set to %d"
                                 % (self.binary, ifname, found, udp_buffers.SIZE))

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
