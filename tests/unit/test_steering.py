"""Receive steering's CPU masks: every online CPU, none with one CPU, written as sysfs reads them back."""

from hypothesis import given, strategies as st

from ansible_collections.gridnet.tenant.plugins.module_utils.node import steering


def test_the_mask_is_every_online_cpu_and_none_on_a_single_cpu():
    assert steering.wanted_mask("0") == 0
    assert steering.wanted_mask("0-1") == 0b11
    assert steering.wanted_mask("0-3,8") == 0x10F
    assert steering.wanted_mask("1,3-4") == 0b11010


@given(st.sets(st.integers(min_value=0, max_value=200), min_size=1))
def test_a_mask_is_written_in_32_bit_words_that_read_back_as_itself(cpus):
    mask = sum(1 << cpu for cpu in cpus)
    written = steering.text(mask)
    assert all(len(word) == 8 for word in written.split(","))
    assert int(written.replace(",", ""), 16) == mask
    online = ",".join(str(cpu) for cpu in sorted(cpus))
    assert steering.wanted_mask(online) == (mask if len(cpus) > 1 else 0)
