"""The ledger cut into the parts the etcd ledger stores by key: lossless, bounded, named opaquely."""

import json
import re

from hypothesis import given, settings, strategies as st

from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger_parts

NAMES = st.text("abcdefgh0123456789-", min_size=1, max_size=6)
PREFIXES = st.sampled_from(["2001:db8:%x::/64" % i for i in range(64)])


@st.composite
def ledgers(draw):
    netids = draw(st.lists(NAMES, max_size=5, unique=True))
    nodes = draw(st.lists(NAMES, min_size=1, max_size=8, unique=True))
    networks = {}
    for netid in draw(st.lists(st.sampled_from(netids), unique=True)) if netids else []:
        members = draw(st.lists(st.sampled_from(nodes), unique=True))
        networks[netid] = {
            "block": draw(PREFIXES), "vni": draw(st.integers(1, 1 << 24)),
            "state": draw(st.sampled_from(["active", "removing"])),
            "resources": {m: {"prefix": draw(PREFIXES), "public_key": "k" + m, "state": "active"} for m in members}}
        if draw(st.booleans()):
            networks[netid]["access"] = {"laptop": {"host": 2, "node": nodes[0], "public_key": "a"}}
    ports = {}
    for node in nodes:
        held = {netid: {peer: draw(st.integers(1024, 65535)) for peer in draw(st.lists(NAMES, max_size=3, unique=True))}
                for netid in draw(st.lists(st.sampled_from(netids), unique=True))} if netids else {}
        if held:  # settle() never keeps a node whose port map is empty
            ports[node] = held
    released = {"blocks": draw(st.lists(PREFIXES)),
                "prefixes": {n: draw(st.lists(PREFIXES, min_size=1)) for n in draw(st.lists(NAMES, unique=True))},
                "ipv4": {n: ["10.0.0.0/24"] for n in draw(st.lists(st.sampled_from(netids), unique=True))}
                if netids else {}}
    ledger = {"version": 1, "networks": networks, "ports": ports, "released": released}
    keys = {node: {netid: "k" for netid in draw(st.lists(st.sampled_from(netids), min_size=1, unique=True))}
            for node in draw(st.lists(st.sampled_from(nodes), unique=True))} if netids else {}
    if keys:
        ledger["keys"] = keys
    return ledger


@settings(max_examples=300, deadline=None)
@given(ledgers(), st.text("0123456789abcdef", min_size=8, max_size=32))
def test_join_gives_back_exactly_the_ledger_split_was_given(ledger, salt):
    parts = ledger_parts.split(ledger, salt)
    assert ledger_parts.join(parts) == ledger
    # no netid or node name is in a part's name: past the global part's, a name is a keyed hash and the part's kind
    # (a netid such as "b0" equals a kind: comparing names with netids could not tell)
    assert all(re.fullmatch(r"g|[0-9a-f]{20}/(h|b\d+)", name) for name in parts), sorted(parts)


def test_a_large_network_is_cut_into_buckets_each_under_the_bound_and_the_same_cut_every_time():
    nodes = ["node%04d" % i for i in range(600)]
    ledger = {"version": 1, "networks": {"big": {"block": "2001:db8::/48", "vni": 7, "state": "active", "resources": {
        n: {"prefix": "2001:db8:0:%x::/64" % i, "public_key": "x" * 44, "state": "active"}
        for i, n in enumerate(nodes)}}},
        "ports": {n: {"big": {p: 40000 + j for j, p in enumerate(nodes) if p != n}} for n in nodes[:300]},
        "released": {"blocks": [], "prefixes": {}, "ipv4": {}}}
    parts = json.loads(json.dumps(ledger_parts.split(ledger, "s")))  # split() shares the ledger's dicts
    buckets = [p for name, p in parts.items() if "/b" in name]
    assert len(buckets) > 1 and all(ledger_parts.size(b) <= ledger_parts.BUCKET_BYTES for b in buckets)
    assert ledger_parts.join(parts) == ledger and ledger_parts.split(ledger, "s") == parts
    # one node's ports change: exactly one bucket differs
    ledger["ports"]["node0001"]["big"]["node0002"] += 1
    changed = [n for n, p in ledger_parts.split(ledger, "s").items() if parts[n] != p]
    assert len(changed) == 1 and "/b" in changed[0]


def test_another_salt_names_the_same_network_otherwise():
    assert ledger_parts.network_id("a", "acme") != ledger_parts.network_id("b", "acme")
    assert ledger_parts.network_id("a", "acme") == ledger_parts.network_id("a", "acme")
