import ipaddress

import pytest
from hypothesis import example, given, settings, strategies as st

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import carve, parse_prefix
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError

keys = st.sets(st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=6), min_size=1, max_size=60)


@given(keys)
def test_every_key_gets_a_distinct_prefix_inside_the_pool(names):
    result = carve("2001:db8:100::/56", 64, names)
    assert set(result) == names
    nets = [ipaddress.ip_network(p) for p in result.values()]
    assert len(set(nets)) == len(nets)
    assert all(n.subnet_of(ipaddress.ip_network("2001:db8:100::/56")) and n.prefixlen == 64 for n in nets)


@given(keys, st.text(alphabet="klmnop", min_size=1, max_size=6))
def test_adding_a_key_never_moves_an_existing_one(names, newcomer):
    first = carve("10.0.0.0/16", 24, names)
    second = carve("10.0.0.0/16", 24, names | {newcomer}, existing=first)
    assert all(second[k] == first[k] for k in names)


@settings(max_examples=50)
@given(keys)
def test_removing_a_key_keeps_its_prefix_held(names):
    first = carve("10.0.0.0/16", 24, names)
    gone = sorted(names)[0]
    second = carve("10.0.0.0/16", 24, names - {gone} | {"zzzzzzz"}, existing=first)
    assert second["zzzzzzz"] != first[gone]


def test_same_input_same_output():
    assert carve("2001:db8::/48", 64, ["a", "b", "c"]) == carve("2001:db8::/48", 64, ["c", "b", "a"])


def test_released_prefix_is_reused_last():
    pool = "10.0.0.0/30"  # four /32s
    first = carve(pool, 32, ["a", "b", "c"])
    released = first.pop("c")
    second = carve(pool, 32, ["a", "b", "d"], existing=first, released=[released])
    assert second["d"] != released
    third = carve(pool, 32, ["a", "b", "d", "e"], existing=second, released=[released])
    assert third["e"] == released


def test_host_address_where_a_prefix_is_expected():
    with pytest.raises(PlanError, match="host address.*did you mean 10.0.0.0/16"):
        carve("10.0.1.1/16", 24, ["a"])


def test_exhausted_pool_names_the_first_unplaced_key():
    with pytest.raises(PlanError, match="exhausted.*first unplaced: c"):
        carve("10.0.0.0/23", 24, ["a", "b", "c"])


def test_overlapping_existing_assignments():
    with pytest.raises(PlanError, match="assigned to both a and b"):
        carve("10.0.0.0/16", 24, ["a", "b"], existing={"a": "10.0.1.0/24", "b": "10.0.1.0/24"})


def test_existing_assignment_outside_the_pool():
    with pytest.raises(PlanError, match="10.1.0.0/24 of a is not a /24 inside 10.0.0.0/16"):
        carve("10.0.0.0/16", 24, ["a"], existing={"a": "10.1.0.0/24"})


def test_not_a_prefix():
    with pytest.raises(PlanError, match="not an IP prefix"):
        parse_prefix("banana", "thing")
    with pytest.raises(PlanError, match="no prefix length"):
        parse_prefix("10.0.0.0", "thing")


@example(0)
@example(1)
@example(0xFFFF01020304)
@example(0x01020304)
@example(1 << 48)
@given(st.integers(0, (1 << 128) - 1))
def test_ipv6_text_form_matches_rfc5952(value):
    from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import format_address
    assert format_address(value, 6) == str(ipaddress.IPv6Address(value))


@given(st.integers(0, (1 << 128) - 1).map(lambda v: v & ~((1 << 64) - 1)), st.sampled_from([0, 1, 0xffff << 16]))
def test_ipv6_text_form_matches_rfc5952_on_sparse_addresses(value, low):
    from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import format_address
    assert format_address(value | low, 6) == str(ipaddress.IPv6Address(value | low))


@given(st.integers(0, (1 << 32) - 1))
def test_ipv4_text_form(value):
    from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import format_address
    assert format_address(value, 4) == str(ipaddress.IPv4Address(value))
