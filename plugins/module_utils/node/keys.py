# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WireGuard keys made on the node, with a maintained X25519: the `cryptography`
package where it can be imported, else `wg pubkey` of wireguard-tools.

Private keys are written once, mode 0600, and never returned; only public keys
leave this module.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError, NodeError
from ansible_collections.gridnet.tenant.plugins.module_utils.common.files import write_atomic
from ansible_collections.gridnet.tenant.plugins.module_utils.common.rules import decode_key as _decode

try:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

KEY_SUFFIX = ".key"  # a network's private key is key_dir/NETID.key
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class NoX25519(NodeError):
    """Neither implementation is on the node."""


def x25519_base(scalar, implementation=None):
    """X25519(scalar, 9): the public key of a raw 32-byte private key (RFC 7748), by a maintained implementation."""
    implementation = implementation or ("cryptography" if HAS_CRYPTOGRAPHY else "wg")
    if implementation == "cryptography":
        return X25519PrivateKey.from_private_bytes(scalar).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    if shutil.which("wg") is None:
        raise NoX25519("no X25519 here: install the python package cryptography or wireguard-tools (wg)")
    result = subprocess.run(["wg", "pubkey"], input=base64.b64encode(scalar) + b"\n", capture_output=True, check=False)
    if result.returncode != 0:
        raise NoX25519("wg pubkey failed: %s" % result.stderr.decode(errors="replace").strip())
    return base64.b64decode(result.stdout.strip())


def generate_private_key():
    key = bytearray(os.urandom(32))
    key[0] &= 248
    key[31] = (key[31] & 127) | 64
    return base64.b64encode(bytes(key)).decode("ascii")


def public_key(private_key_b64):
    return base64.b64encode(x25519_base(decode_key(private_key_b64))).decode("ascii")


def decode_key(key_b64):
    """32 raw bytes from base64; InputError (a ValueError) naming the problem otherwise (rules.decode_key)."""
    return _decode(key_b64, "key")


def key_path(key_dir, netid):
    if not _SAFE_NAME.match(netid):
        raise ValueError(
            "netid %r cannot name a key file (use letters, digits and _ . : -, at most 128 characters)" % netid)
    return os.path.join(key_dir, netid + KEY_SUFFIX)


def read_private_key(path):
    with open(path) as handle:
        key = handle.read().strip()
    decode_key(key)
    return key


def write_private_key(path, key):
    """Atomic write, 0600 from the first byte: the key is never world-readable."""
    write_atomic(path, (key + "\n").encode("ascii"), mode=0o600, dir_mode=0o700, prefix=".key-")


def private_keys(resources, key_dir, check_mode):
    """{netid: private key} of every resource with WireGuard links; None where check mode predicts a key."""
    found = {}
    for resource in resources:
        if not any(c.get("connection") == "wireguard" for c in resource["connected"]):
            continue
        netid = resource["netid"]
        try:
            found[netid] = read_private_key(key_path(key_dir, netid))
        except FileNotFoundError:
            if not check_mode:  # in check mode the keys step has only predicted the key: predict without it
                raise InputError("no private key for network %r in %s; run gridnet.tenant.wireguard_key first"
                                 % (netid, key_dir))
            found[netid] = None
        except (OSError, ValueError) as exc:
            raise InputError("no usable private key for network %r in %s (%s); run gridnet.tenant.wireguard_key "
                             "first" % (netid, key_dir, exc))
    return found
