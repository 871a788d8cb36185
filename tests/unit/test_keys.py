"""X25519 by maintained implementations, checked against RFC 7748's test vectors (section 6.1)."""

import base64
import binascii
import shutil

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.node import keys

VECTORS = [  # (private scalar, public key) of Alice and Bob
    ("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
     "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
    ("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
     "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
]
IMPLEMENTATIONS = [pytest.param("cryptography", marks=pytest.mark.skipif(not keys.HAS_CRYPTOGRAPHY, reason="no cryptography")),
                   pytest.param("wg", marks=pytest.mark.skipif(shutil.which("wg") is None, reason="no wg"))]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("private, public", VECTORS)
def test_rfc7748_vectors(implementation, private, public):
    assert binascii.hexlify(keys.x25519_base(binascii.unhexlify(private), implementation)).decode() == public


def test_public_key_of_a_generated_key_agrees_between_implementations():
    private = keys.generate_private_key()
    raw = base64.b64decode(private)
    assert raw[0] & 7 == 0 and raw[31] & 0xC0 == 0x40  # clamped as WireGuard does
    assert keys.x25519_base(raw, "cryptography") == keys.x25519_base(raw, "wg")
    assert keys.public_key(private) == base64.b64encode(keys.x25519_base(raw)).decode()


def test_no_implementation_fails_clearly(monkeypatch):
    monkeypatch.setattr(keys.shutil, "which", lambda name: None)
    with pytest.raises(keys.NoX25519, match="cryptography or wireguard-tools"):
        keys.x25519_base(b"\x01" * 32, "wg")
