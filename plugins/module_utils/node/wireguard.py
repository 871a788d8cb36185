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
                            "last_handshake": epoch seconds, "rx_bytes": int, "tx_bytes": int}}}

The back end is detected by trying (a netlink ``wireguard`` link add); the
kernel version says nothing about whether the module is there. Also here, for
either back end: whether a listen port is free, and prompting handshakes.
"""

from __future__ import annotations

import errno
import os
import socket
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import WireGuardError
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard_go import UserspaceBackend

from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import NetlinkError, WireGuard

PROBE_IFNAME = "gtwprobe0"


def split_endpoint(endpoint):
    """("addr", port) from "addr:port" or "[v6]:port"."""
    host, _unused, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


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

    def read(self, ifname, namespace=None, buffers=True):  # buffers: wireguard-go's only (its UDP sockets')
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
                    "endpoint": None, "allowed_ips": [], "persistent_keepalive": 0, "last_handshake": 0,
                    "rx_bytes": 0, "tx_bytes": 0})
                if endpoint and endpoint.get("port"):
                    addr = endpoint["addr"]
                    entry["endpoint"] = ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, endpoint["port"])
                entry["persistent_keepalive"] = peer.get_attr("WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL") or 0
                entry["last_handshake"] = handshake.get("tv_sec", 0) if hasattr(handshake, "get") else 0
                entry["rx_bytes"] = peer.get_attr("WGPEER_A_RX_BYTES") or 0
                entry["tx_bytes"] = peer.get_attr("WGPEER_A_TX_BYTES") or 0
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


def listen_port_in_use(port):
    """True when something other than a WireGuard link of ours holds UDP `port` here."""
    for family, address in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        probe = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
        finally:
            probe.close()
    return False


def prompt_handshakes(links, tries=3, spacing=0.1):
    """Send a datagram to each peer's link-local address through its link (inside the namespace).

    The discard port: the peer drops it; WireGuard hand-shakes to carry it. Sent a few times, as
    wireguard-go may take a moment to see its moved link up. Best effort: a link that cannot send
    now is found by the read-back, not here.
    """
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sender:
        for attempt in range(tries):
            for ifname, address in links:
                try:
                    sender.sendto(b"\0", (address, 9, 0, socket.if_nametoindex(ifname)))
                except OSError:
                    pass
            if attempt + 1 < tries:
                time.sleep(spacing)
