"""The lab's topology options: a segment's MTU reaches every interface of the segment; every cable's ends
hand what they receive to a CPU's queue of their own, as separate machines would."""

import os

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab, lab_farm

SMALL = {"segments": {"slow": {"router": "r", "ipv6": "2001:db8:30::/64", "mtu": 1400, "attach": {"n": 10}},
                      "fast": {"router": "r", "ipv6": "2001:db8:31::/64", "attach": {"m": 10}}}}


def test_a_segment_mtu_is_set_on_its_bridge_and_both_ends_of_every_cable():
    name = "gridnet-topology-%d" % os.getpid()
    try:
        pids = lab_farm.build_farm(SMALL, lab=name)
        assert "mtu 1400" in lab.run(pids["n"], ["ip", "-o", "link", "show", "slow"]).stdout
        router = lab.run(pids["r"], ["ip", "-o", "link", "show"]).stdout
        assert "br-slow: <" in router and all("mtu 1400" in line for line in router.splitlines() if "slow" in line)
        assert "mtu 1500" in lab.run(pids["m"], ["ip", "-o", "link", "show", "fast"]).stdout
        assert lab.run(pids["n"], ["ping", "-6", "-c", "1", "-W", "2", "-M", "do", "-s", "1352", "2001:db8:30::1"],
                       check=False).returncode == 0  # 1352 + 48 = 1400 crosses
        assert lab.run(pids["n"], ["ping", "-6", "-c", "1", "-W", "2", "-M", "do", "-s", "1353", "2001:db8:30::1"],
                       check=False).returncode != 0  # one byte more does not
    finally:
        lab_farm.stop_farm(name)


def receive_steering(pid, ifname):
    """rps_cpus of ifname in lab machine pid, through a sysfs mounted in its own namespace."""
    read = "mount -t sysfs sysfs /sys && cat /sys/class/net/%s/queues/rx-0/rps_cpus" % ifname
    return int(lab.run(pid, ["unshare", "--mount", "sh", "-c", read]).stdout.strip().replace(",", ""), 16)


@pytest.mark.skipif(os.cpu_count() < 2, reason="one CPU: nothing to steer to, and nothing is")
def test_both_ends_of_every_cable_steer_what_they_receive_to_every_cpu():
    name = "gridnet-topology-%d" % os.getpid()
    try:
        pids = lab_farm.build_farm(SMALL, lab=name)
        ends = [(pids["n"], "slow"), (pids["m"], "fast"), (pids["r"], "slow0"), (pids["r"], "fast0")]
        assert [bool(receive_steering(pid, ifname)) for pid, ifname in ends] == [True] * 4
    finally:
        lab_farm.stop_farm(name)


@pytest.mark.parametrize("mtu", [100, "1400", True])
def test_a_segment_mtu_that_is_not_a_size_is_refused(mtu):
    bad = {"segments": {"slow": dict(SMALL["segments"]["slow"], mtu=mtu)}}
    with pytest.raises(lab.LabError, match="mtu"):
        lab_farm.validate_topology(bad)
