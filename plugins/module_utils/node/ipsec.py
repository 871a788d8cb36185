# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPsec interlinks through strongSwan's IKEv2 daemon (charon-systemd), configured by files, and their keys.

Each resource with IPsec links has one file, CONF_DIR/gridnet-NAMESPACE.conf
(0600), with one IKE connection per link. Each connection has its own
identities and the traffic selectors 0.0.0.0/0 and ::/0. Its child SA
carries the link's XFRM interface id (if_id_in/out), so the policies and SAs
the daemon installs in the node's namespace only take packets routed into
that one XFRM interface. The interface itself lives in the resource's
namespace. The daemon installs no route. `swanctl --load-all` is
declarative: it loads what the files say and unloads connections and
credentials that are gone from them. Debian's strongswan.service runs the
same command at every start, so a killed or rebooted daemon reloads the links
without us.

Authentication is by raw Ed25519 public keys, one key pair per node and
network, made on the node by the `cryptography` package or strongSwan's `pki`,
where the daemon loads private keys from (key_path(): swanctl's private/,
0600). The private half never leaves the node. A link's IKE identity is
derived from its end's public key (identity()), so both ends name each other
without any other data.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError, NodeError
from ansible_collections.gridnet.tenant.plugins.module_utils.common.files import write_atomic

SWANCTL_DIR = "/etc/swanctl"
CONF_DIR = os.path.join(SWANCTL_DIR, "conf.d")
PUBKEY_DIR = os.path.join(SWANCTL_DIR, "pubkey")
SWANCTL = "swanctl"
# what an Ed25519 SubjectPublicKeyInfo (RFC 8410) holds before the 32 bytes of the key
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
PROPOSALS = "aes128gcm16-prfsha256-x25519"  # IKE: AES-GCM, X25519 (the openssl plugin of Debian's daemon)
ESP_PROPOSALS = "aes128gcm16"


class IpsecError(NodeError):
    pass


def conf_path(namespace):
    return os.path.join(CONF_DIR, "gridnet-%s.conf" % namespace)


def key_path(netid):
    """A network's IPsec private key (PKCS#8 PEM), where the daemon loads private keys from."""
    return os.path.join(SWANCTL_DIR, "private", "gridnet-%s.pem" % netid)


def keys_present():
    """[(netid, path)] of the IPsec private keys this collection made on the node."""
    private = os.path.dirname(key_path("x"))
    return [(name[len("gridnet-"):-len(".pem")], os.path.join(private, name)) for name in _listing(private)
            if name.startswith("gridnet-") and name.endswith(".pem")]


def own_key_file(namespace):
    return os.path.join(PUBKEY_DIR, "gridnet-%s.pem" % namespace)


def identity(public_key):
    """The IKE identity of the end holding public_key (base64 of the raw 32 bytes): derived, never configured."""
    return "gridnet-" + hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:24]


def pem_public(public_key):
    """The PEM SubjectPublicKeyInfo of a raw Ed25519 public key (base64), as strongSwan loads it."""
    der = SPKI_PREFIX + base64.b64decode(public_key)
    return "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" % base64.b64encode(der).decode()


def check_public_key(public_key, what):
    try:
        raw = base64.b64decode(public_key, validate=True)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise InputError("%s: IPsec public key %r is not the base64 of 32 bytes (Ed25519)" % (what, public_key))


def public_of(path):
    """The base64 raw Ed25519 public key of the private key file at path."""
    try:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
        with open(path, "rb") as handle:
            key = load_pem_private_key(handle.read(), None)
        return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    except ImportError:
        pass
    result = subprocess.run(["pki", "--pub", "--in", path, "--outform", "der"], capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout.startswith(SPKI_PREFIX):
        raise IpsecError("pki --pub of %s: %s" % (path, result.stderr.decode(errors="replace").strip()))
    return base64.b64encode(result.stdout[len(SPKI_PREFIX):]).decode()


def generate(path):
    """Make an Ed25519 private key at path (0600 from the first byte); returns its public key."""
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    except ImportError:
        if shutil.which("pki") is None:
            raise IpsecError("no Ed25519 here: install the python package cryptography or strongswan-pki (pki)")
        result = subprocess.run(["pki", "--gen", "--type", "ed25519", "--outform", "pem"], capture_output=True,
                                check=False)
        if result.returncode != 0:
            raise IpsecError("pki --gen: %s" % result.stderr.decode(errors="replace").strip())
        pem = result.stdout
    write_atomic(path, pem, mode=0o600, dir_mode=0o700, prefix=".key-")
    return public_of(path)


def config_text(resource, own_public):
    """The resource's swanctl file: one connection per IPsec link (named after its interface)."""
    lines = ["# gridnet.tenant: IPsec links of network %s in namespace %s; written by the collection"
             % (resource["netid"], resource["namespace"]), "connections {"]
    for link in ipsec_links(resource):
        lines += [
            "  %s {" % link["interface"],
            "    version = 2",
            "    local_addrs = %s" % link["local"],
            "    remote_addrs = %s" % link["remote"],
            "    proposals = %s" % PROPOSALS,
            "    dpd_delay = 10s",
            "    local { auth = pubkey\n      id = %s\n      pubkeys = %s }" % (
                identity(own_public), own_key_file(resource["namespace"])),
            "    remote { auth = pubkey\n      id = %s\n      pubkeys = %s }" % (
                identity(link["public_key"]), peer_key_file(resource, link)),
            "    children { %s {" % link["interface"],
            "      local_ts = 0.0.0.0/0, ::/0",
            "      remote_ts = 0.0.0.0/0, ::/0",
            "      if_id_in = %d" % link["if_id"],
            "      if_id_out = %d" % link["if_id"],
            "      esp_proposals = %s" % ESP_PROPOSALS,
        ] + _actions(identity(own_public) < identity(link["public_key"])) + [
            "    } }",
            "  }",
        ]
    return "\n".join(lines + ["}"]) + "\n"


def _actions(initiator):
    """One end starts the link at every load (a reboot, a restarted daemon) and keeps it up; the other only
    traps (its first packet brings the link up), so the two never make duplicate SAs. The lower identity
    starts: both ends know it with no other data."""
    if initiator:
        return ["      start_action = start", "      dpd_action = restart", "      close_action = start"]
    return ["      start_action = trap", "      dpd_action = trap", "      close_action = trap"]


def peer_key_file(resource, link):
    return os.path.join(PUBKEY_DIR, "gridnet-%s-%s.pem" % (resource["namespace"], link["interface"]))


def files(resource, own_public):
    """{path: content} of the resource's files for the daemon: its configuration, its own public key and each
    peer's."""
    out = {conf_path(resource["namespace"]): config_text(resource, own_public),
           own_key_file(resource["namespace"]): pem_public(own_public)}
    for link in ipsec_links(resource):
        out[peer_key_file(resource, link)] = pem_public(link["public_key"])
    return out


def ipsec_links(resource):
    return [c for c in resource.get("connected", []) if c.get("connection") == "ipsec"]


def ours(namespace):
    """{path: content} of the files of the resource in namespace that are there now."""
    found = {}
    candidates = [conf_path(namespace), own_key_file(namespace)] + [
        os.path.join(PUBKEY_DIR, name) for name in _listing(PUBKEY_DIR) if name.startswith("gridnet-%s-" % namespace)]
    for path in candidates:
        try:
            with open(path) as handle:
                found[path] = handle.read()
        except FileNotFoundError:
            pass
    return found


def _listing(directory):
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []


def write(wanted, present):
    """Make the files `wanted` ({path: content}) and remove those of `present` it does not name; then load."""
    for path in sorted(set(present) - set(wanted)):
        os.unlink(path)
    for path, content in sorted(wanted.items()):
        write_atomic(path, content.encode(), mode=0o600, dir_mode=0o700)
    load()


def load():
    """swanctl --load-all: the daemon takes what the files say, and drops what they no longer say."""
    if shutil.which(SWANCTL) is None:
        raise IpsecError("swanctl is not on this node: IPsec links need strongSwan (charon-systemd, "
                         "strongswan-swanctl, libstrongswan-standard-plugins)")
    result = subprocess.run([SWANCTL, "--load-all", "--noprompt"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise IpsecError("swanctl --load-all: %s" % _said(result))


def _said(result):
    lines = [line for line in (result.stderr + result.stdout).splitlines() if "plugin '" not in line]
    return " ".join(lines).strip()[-800:] or "exit %d" % result.returncode


def sas():
    """{connection name: {"state", "established" (seconds ago), "children": {name: {"state", "installed"}}}}
    of the daemon's IKE SAs, from `swanctl --list-sas --raw`; {} when the daemon does not answer."""
    result = subprocess.run([SWANCTL, "--list-sas", "--raw"], capture_output=True, text=True, check=False) \
        if shutil.which(SWANCTL) else None
    if result is None or result.returncode != 0:
        return {}
    return parse_raw_sas(result.stdout)


def parse_raw_sas(text):
    """swanctl's raw vici dump of list-sas, one `list-sa event {...}` per line, into the sas() shape."""
    found = {}
    for line in text.splitlines():
        if not line.startswith("list-sa event"):
            continue
        body = line[line.index("{") + 1:line.rindex("}")]
        name = body.split(" ", 1)[0]
        state = _field(body, "state")
        ike = found.setdefault(name, {"state": state, "established": _number(_field(body, "established")),
                                      "children": {}})
        if state == "ESTABLISHED":
            ike.update(state=state, established=_number(_field(body, "established")))
        child_at = body.find("child-sas {")
        if child_at >= 0:
            for chunk in body[child_at:].split("name=")[1:]:
                child = chunk.split(" ", 1)[0]
                ike["children"][child] = {"state": _field(chunk, "state"),
                                          "installed": _number(_field(chunk, "install-time"))}
    return found


def _field(text, key):
    at = text.find(" %s=" % key)
    if at < 0:
        return None
    return text[at + len(key) + 2:].split(" ", 1)[0]


def _number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def removal(namespace):
    """The change that removes a resource's files and unloads its connections (their SAs and policies go with
    them), or none when it has no file."""
    from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
    present = ours(namespace)
    if not present:
        return []
    return [Change("remove the IPsec connections of %s (%s) and unload them" % (namespace, conf_path(namespace)),
                   lambda: write({}, present))]
