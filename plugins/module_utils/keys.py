# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WireGuard keys made on the node: X25519 (RFC 7748) with the standard library only.

Private keys are written once, mode 0600, and never returned; only public keys
leave this module. Key generation happens once per network on the node itself,
so the big-integer arithmetic not being constant-time exposes nothing remotely.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from ansible_collections.gridnet.tenant.plugins.module_utils.files import write_atomic

_P = 2 ** 255 - 19
_A24 = 121665
_BASE_POINT = (9).to_bytes(32, "little")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def _clamp(scalar):
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return int.from_bytes(k, "little")


def x25519(scalar, point):
    """The X25519 function of RFC 7748, section 5."""
    x1 = int.from_bytes(point, "little") & ((1 << 255) - 1)
    k = _clamp(scalar)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in range(254, -1, -1):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a = x2 + z2
        aa = a * a % _P
        b = x2 - z2
        bb = b * b % _P
        e = aa - bb
        c = x3 + z3
        d = x3 - z3
        da = d * a % _P
        cb = c * b % _P
        x3 = (da + cb) ** 2 % _P
        z3 = x1 * (da - cb) ** 2 % _P
        x2 = aa * bb % _P
        z2 = e * (aa + _A24 * e) % _P
    if swap:
        x2, x3, z2, z3 = x3, x2, z3, z2
    return (x2 * pow(z2, _P - 2, _P) % _P).to_bytes(32, "little")


def generate_private_key():
    key = bytearray(os.urandom(32))
    key[0] &= 248
    key[31] = (key[31] & 127) | 64
    return base64.b64encode(bytes(key)).decode("ascii")


def public_key(private_key_b64):
    return base64.b64encode(x25519(decode_key(private_key_b64), _BASE_POINT)).decode("ascii")


def decode_key(key_b64):
    """32 raw bytes from base64; ValueError naming the problem otherwise."""
    try:
        raw = base64.b64decode(key_b64.strip().encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError, AttributeError):
        raise ValueError("not valid base64")
    if len(raw) != 32:
        raise ValueError("decodes to %d bytes, WireGuard keys are 32" % len(raw))
    return raw


def key_path(key_dir, netid):
    if not _SAFE_NAME.match(netid):
        raise ValueError(
            "netid %r cannot name a key file (use letters, digits and _ . : -, at most 128 characters)" % netid)
    return os.path.join(key_dir, netid + ".key")


def read_private_key(path):
    with open(path) as handle:
        key = handle.read().strip()
    decode_key(key)
    return key


def write_private_key(path, key):
    """Atomic write, 0600 from the first byte: the key is never world-readable."""
    write_atomic(path, (key + "\n").encode("ascii"), mode=0o600, dir_mode=0o700, prefix=".key-")
