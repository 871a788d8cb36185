"""One contract for both WireGuard back ends: the same calls, the same normalised reads.

Run on the host with wireguard-go (tests/netns/test_wireguard.py) and
on a real kernel inside the QEMU guest (tests/kernel/guest/). Each check takes
a back end and a pyroute2 IPRoute of the namespace the links live in (the
back ends create links there and are read with namespace=None).
"""

import base64
import os

from ansible_collections.gridnet.tenant.plugins.module_utils.node.keys import generate_private_key, public_key


def _key():
    return base64.b64encode(os.urandom(32)).decode()


def _fresh(backend, ipr, ifname):
    for stale in ipr.link_lookup(ifname=ifname):
        ipr.link("del", index=stale)
        backend.wait_gone(ifname)
    backend.create(ipr, ifname)


def check_write_then_read_normalised(backend, ipr, ifname="gtwcontract0"):
    _fresh(backend, ipr, ifname)
    private = generate_private_key()
    peer_v6, peer_v4 = _key(), _key()
    backend.write(ifname, None, private_key=private, listen_port=51999, replace_peers=True, peer={
        "public_key": peer_v6, "endpoint": "[2001:db8::7]:51820", "persistent_keepalive": 25,
        "allowed_ips": ["2001:db8:1::/64", "10.60.1.0/24", "fe80::/64"]})
    backend.write(ifname, None, peer={"public_key": peer_v4, "endpoint": "192.0.2.7:51821",
                                      "allowed_ips": ["10.60.2.0/24"]})
    config = backend.read(ifname)
    assert config["private_key"] == private and public_key(config["private_key"]) == public_key(private)
    assert config["listen_port"] == 51999
    assert sorted(config["peers"]) == sorted([peer_v6, peer_v4])
    first, second = config["peers"][peer_v6], config["peers"][peer_v4]
    assert first["endpoint"] == "[2001:db8::7]:51820" and second["endpoint"] == "192.0.2.7:51821"
    assert first["allowed_ips"] == sorted(["2001:db8:1::/64", "10.60.1.0/24", "fe80::/64"])
    assert second["allowed_ips"] == ["10.60.2.0/24"]
    assert first["persistent_keepalive"] == 25 and second["persistent_keepalive"] == 0
    assert first["last_handshake"] == 0 and (first["rx_bytes"], first["tx_bytes"]) == (0, 0)  # no traffic yet
    return ifname


def check_update_in_place_and_replace_peers(backend, ipr, ifname="gtwcontract1"):
    _fresh(backend, ipr, ifname)
    peer = _key()
    backend.write(ifname, None, private_key=generate_private_key(), listen_port=51998, replace_peers=True,
                  peer={"public_key": peer, "endpoint": "192.0.2.8:1000", "allowed_ips": ["10.0.0.0/24"]})
    index = ipr.link_lookup(ifname=ifname)[0]
    backend.write(ifname, None, peer={"public_key": peer, "endpoint": "[2001:db8::8]:2000",
                                      "allowed_ips": ["2001:db8:8::/64"], "persistent_keepalive": 5})
    backend.write(ifname, None, listen_port=51997)
    config = backend.read(ifname)
    assert config["listen_port"] == 51997 and ipr.link_lookup(ifname=ifname) == [index]
    assert config["peers"][peer]["endpoint"] == "[2001:db8::8]:2000"
    assert config["peers"][peer]["allowed_ips"] == ["2001:db8:8::/64"]  # replaced, not added
    assert config["peers"][peer]["persistent_keepalive"] == 5
    other = _key()
    backend.write(ifname, None, replace_peers=True, peer={"public_key": other, "allowed_ips": ["10.9.0.0/24"]})
    config = backend.read(ifname)
    assert list(config["peers"]) == [other] and config["peers"][other]["endpoint"] is None


def check_many_peers_are_all_read(backend, ipr, ifname="gtwcontract2", count=300):
    """A device with many peers: the kernel answers in several netlink messages; every peer must be read."""
    _fresh(backend, ipr, ifname)
    backend.write(ifname, None, private_key=generate_private_key(), listen_port=51996, replace_peers=True)
    wanted = {}
    for number in range(count):
        key = _key()
        wanted[key] = ["10.%d.%d.0/24" % (number // 256, number % 256), "2001:db8:1%03x::/64" % number]
        backend.write(ifname, None, peer={"public_key": key, "allowed_ips": wanted[key]})
    config = backend.read(ifname)
    assert len(config["peers"]) == count
    assert {k: p["allowed_ips"] for k, p in config["peers"].items()} == {k: sorted(v) for k, v in wanted.items()}


CHECKS = (check_write_then_read_normalised, check_update_in_place_and_replace_peers, check_many_peers_are_all_read)
