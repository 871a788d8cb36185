"""IPsec links on the node (module_utils/node/ipsec.py, parts/ipsec_link.py): what the IKE daemon is given, checked
without a daemon; the daemon itself runs in the farm (tests/farm/test_farm_ipsec.py)."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError
from ansible_collections.gridnet.tenant.plugins.module_utils.node import ipsec
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.ipsec_link import IpsecLinks


def raw_key():
    key = Ed25519PrivateKey.generate().public_key()
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def resource(own_address, peers):
    return {"netid": "acme", "namespace": "gt-abc", "connected": [
        {"connection": "ipsec", "peer": name, "interface": "gti" + name, "mtu": 1420, "peer_link_local": "fe80::2",
         "if_id": 50000 + i, "local": own_address, "remote": "2001:db8::%d" % (i + 2), "public_key": key}
        for i, (name, key) in enumerate(peers)]}


def test_each_link_is_a_connection_of_its_own_bound_to_its_if_id_and_its_peers_key():
    peers = [("dc1", raw_key()), ("dc2", raw_key())]
    own = raw_key()
    text = ipsec.config_text(resource("2001:db8::1", peers), own)
    for i, (name, key) in enumerate(peers):
        block = text.split("  gti%s {" % name)[1].split("\n  }")[0]
        assert "if_id_in = %d" % (50000 + i) in block and "if_id_out = %d" % (50000 + i) in block
        assert "remote_addrs = 2001:db8::%d" % (i + 2) in block and "local_addrs = 2001:db8::1" in block
        assert "id = %s" % ipsec.identity(key) in block and "id = %s" % ipsec.identity(own) in block
        assert "local_ts = 0.0.0.0/0, ::/0" in block and "remote_ts = 0.0.0.0/0, ::/0" in block


def test_of_the_two_ends_of_a_link_exactly_one_starts_it():
    a, b = raw_key(), raw_key()
    at_a = ipsec.config_text(resource("2001:db8::1", [("b", b)]), a)
    at_b = ipsec.config_text(resource("2001:db8::2", [("a", a)]), b)
    assert sorted(["start_action = start" in at_a, "start_action = start" in at_b]) == [False, True]
    assert ("start_action = trap" in at_a) != ("start_action = trap" in at_b)


def test_a_peers_raw_key_becomes_the_pem_the_daemon_loads():
    key = raw_key()
    loaded = load_pem_public_key(ipsec.pem_public(key).encode())
    assert base64.b64encode(loaded.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode() == key


def test_the_resource_files_are_its_configuration_its_own_key_and_each_peers_key():
    peers = [("dc1", raw_key())]
    files = ipsec.files(resource("2001:db8::1", peers), raw_key())
    assert sorted(files) == ["/etc/swanctl/conf.d/gridnet-gt-abc.conf", "/etc/swanctl/pubkey/gridnet-gt-abc-gtidc1.pem",
                             "/etc/swanctl/pubkey/gridnet-gt-abc.pem"]


@pytest.mark.parametrize("change, named", [
    (lambda link: link.update(public_key="c2hvcnQ="), "public key"),
    (lambda link: link.update(if_id=0), "if_id"),
    (lambda link: link.update(if_id=True), "if_id"),
    (lambda link: link.update(remote="192.0.2.7"), "IPv6"),
    (lambda link: link.update(local="nowhere"), "not an address"),
    (lambda link: link.update(interface="gtwdc1"), "must start with gti"),
])
def test_a_wrong_ipsec_link_is_refused_naming_what_is_wrong(change, named):
    bad = resource("2001:db8::1", [("dc1", raw_key())])
    change(bad["connected"][0])
    with pytest.raises(InputError, match=named):
        IpsecLinks.check(bad)


# what `swanctl --list-sas --raw` printed on a farm guest (dc2, two IPsec links; trimmed of SPIs and algorithms)
RAW_SAS = """list-sa event {gti34blwmqlsx {uniqueid=4 version=2 state=ESTABLISHED local-host=2001:db8:f0::12 \
local-port=4500 local-id=gridnet-e9a70436d4c9be84c3daf628 remote-host=2001:db8:f0::10 remote-port=4500 \
remote-id=gridnet-8b540ba29dee2cb933df32aa established=71 rekey-time=13259 child-sas {gti34blwmqlsx-4 \
{name=gti34blwmqlsx uniqueid=4 reqid=2 state=INSTALLED mode=TUNNEL protocol=ESP if-id-in=0000e5b2 \
if-id-out=0000e5b2 bytes-in=7926 packets-in=64 rekey-time=3479 life-time=3894 install-time=71 \
local-ts=[0.0.0.0/0 ::/0] remote-ts=[0.0.0.0/0 ::/0]}}}}
list-sa event {gti5ucqnehtgl {uniqueid=3 version=2 state=CONNECTING local-host=2001:db8:f0::12 initiator=yes}}
list-sas reply {}
"""


def test_the_daemons_sas_are_read_per_link_with_their_state_and_age():
    assert ipsec.parse_raw_sas(RAW_SAS) == {
        "gti34blwmqlsx": {"state": "ESTABLISHED", "established": 71,
                          "children": {"gti34blwmqlsx": {"state": "INSTALLED", "installed": 71}}},
        "gti5ucqnehtgl": {"state": "CONNECTING", "established": None, "children": {}},
    }
