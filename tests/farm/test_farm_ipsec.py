"""IPsec interlinks on real Debian machines: strongSwan's charon-systemd, XFRM interfaces moved into the resource's
namespace, raw Ed25519 keys made on each node. The network `ipx` links gw, dc2 and dc3 (reachable over routed
IPv6) by IPsec and home (behind NAT, IPv4 only) by WireGuard, beside the scenario's own network."""

import json
import os
import re
import subprocess
import tempfile
import time

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import figures  # tests/support

IPSEC_NODES = ("gw", "dc2", "dc3")
UNDERLAY = {"gw": "2001:db8:f0::10", "dc2": "2001:db8:f0::12", "dc3": "2001:db8:f0::13"}
NS = "gt-ipx"


def networks(farm, routing="babel", members=("gw", "dc2", "dc3", "home")):
    with open(os.path.join(farm.inventory(), "hosts.yml")) as handle:
        scenario = yaml.safe_load(handle)["all"]["vars"]["gridnet_tenant_networks"]
    ipx = {"netid": "ipx", "tag": "ipx", "members": list(members), "routing": routing, "interlinks": "ipsec",
           "exit": {"node": "gw", "ipv6": "2001:db8:ff::20/64", "ipv4": "203.0.113.20/24"},
           "ipv4_range": "10.91.0.0/16"}
    return scenario + [ipx]


def run(farm, playbook, nets, check=True):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"gridnet_tenant_networks": nets}, handle)
    try:
        return farm.playbook(playbook, "-e", "@" + handle.name, check=check)
    finally:
        os.unlink(handle.name)


def upstream(farm, site):
    """What site.yml prints for the upstream router, done in the farm's router (as an operator would)."""
    for prefix, via in re.findall(r"ip -6 route replace (\S+) via (\S+)(?: metric \d+)? # network ipx", site.stdout):
        farm.in_netns("wan", ["ip", "-6", "route", "replace", prefix, "via", via])


def gateway6(farm, guest):
    shown = farm.ssh(guest, "ip -n %s -6 -o addr show dev gtn-ipx scope global" % NS).stdout
    return re.search(r"inet6 ([0-9a-f:]+)/64", shown).group(1)


def ping_count(farm, guest, address, count, interval=0.1):
    """(sent, received) of `count` pings from guest's resource namespace, every `interval` s."""
    said = farm.ssh(guest, "ip netns exec %s ping -n -q -i %s -c %d -W 1 %s || true"
                    % (NS, interval, count, address), timeout=count * interval + 60).stdout
    sent, received = re.search(r"(\d+) packets transmitted, (\d+) received", said).groups()
    return int(sent), int(received)


@pytest.fixture(scope="module")
def ipsec_net(converged):
    farm = converged
    nets = networks(farm)
    first = run(farm, "site.yml", nets)
    upstream(farm, first)
    second = run(farm, "site.yml", nets)
    verify = run(farm, "verify.yml", nets)
    return farm, first, second, verify


def test_a_network_mixing_ipsec_and_wireguard_is_green_and_idempotent(ipsec_net):
    farm, first, second, verify = ipsec_net
    assert all(second.changed[h] == 0 for h in second.changed), second.stdout[-3000:]
    counted = re.search(r"(\d+) probes, (\d+) as expected", verify.stdout)
    assert counted and counted.group(1) == counted.group(2), verify.stdout[-5000:]
    matrix = verify.stdout[verify.stdout.index("network ipx"):]
    assert re.search(r'"  dc2 +\. +64M6M4 +64M6M4', matrix), matrix[:3000]  # full-MTU DF pings, to gw and dc3
    for guest in IPSEC_NODES:
        links = farm.ssh(guest, "ip -n %s -d -o link show" % NS).stdout
        assert links.count("xfrm if_id") == 2, (guest, links)  # one XFRM link to each other IPsec member
    home = farm.ssh("home", "ip -n %s -d -o link show type wireguard" % NS).stdout
    assert home.count("gtw") == 3, home  # home reaches all three over WireGuard
    health = farm.playbook("health.yml")  # an IPsec link is up only with an established SA (ipsec_sas)
    assert re.search(r"\d+ link ends, all up", health.stdout), health.stdout[-3000:]
    assert len(re.findall(r'"  dc2 +\w+ +gti\w+ +ipsec +up ', health.stdout)) == 2, health.stdout[-3000:]
    deadline = time.monotonic() + 40  # the agent writes its metrics every 15 s
    while True:
        text = farm.ssh("dc2", "cat /var/lib/prometheus/node-exporter/gridnet_tenant.prom").stdout
        families = {f.name: f for f in text_string_to_metric_families(text)}
        up = families["gridnet_tenant_ipsec_sa_up"].samples if "gridnet_tenant_ipsec_sa_up" in families else []
        if len(up) == 2 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert [s.value for s in up] == [1, 1], text
    figures.report("farm, network ipx (babel): gw, dc2, dc3 linked by IPsec, home by WireGuard: site.yml %.0f s, "
                   "again changed=0, verify %s probes as expected (full-MTU DF probes included)"
                   % (first.seconds, counted.group(1)))


def test_every_ipsec_link_has_esp_sas_and_only_esp_and_ike_cross_the_underlay(ipsec_net):
    farm = ipsec_net[0]
    for guest in IPSEC_NODES:
        states = farm.ssh(guest, "ip xfrm state").stdout
        for other in IPSEC_NODES:
            if other != guest:
                assert re.search(r"src %s dst %s\s+proto esp" % (UNDERLAY[guest], UNDERLAY[other]), states), \
                    (guest, other, states)
    target = gateway6(farm, "dc3")
    wan = farm.netns("wan")
    between = "ip6 host %s and ip6 host %s" % (UNDERLAY["dc2"], UNDERLAY["dc3"])
    plain = subprocess.Popen(["ip", "netns", "exec", wan, "timeout", "12", "tcpdump", "-i", "dc", "-n", "-l",
                              "%s and not ip6 proto 50 and not udp port 500 and not udp port 4500 and not icmp6"
                              % between], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    esp = subprocess.Popen(["ip", "netns", "exec", wan, "timeout", "12", "tcpdump", "-i", "dc", "-n", "-l",
                            "%s and ip6 proto 50" % between], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
    time.sleep(2)
    sent, received = ping_count(farm, "dc2", target, 50, 0.1)
    plain_lines, esp_lines = ([line for line in capture.communicate()[0].splitlines() if line.strip()]
                              for capture in (plain, esp))
    figures.report("farm, ipx: 50 pings dc2 -> dc3 over IPsec (%d answered); on the datacenter switch between the "
                   "two: %d ESP packets, %d others (IKE and neighbour discovery left aside)"
                   % (received, len(esp_lines), len(plain_lines)))
    assert received == sent
    assert len(esp_lines) >= 2 * received and plain_lines == [], plain_lines[:5]


def test_a_killed_ike_daemon_comes_back_and_so_does_the_traffic_without_ansible(ipsec_net):
    farm = ipsec_net[0]
    target = gateway6(farm, "dc3")
    before = farm.ssh("dc2", "systemctl show -p MainPID --value strongswan").stdout.strip()
    started = time.monotonic()
    farm.ssh("dc2", "systemctl kill -s KILL strongswan; ip xfrm state flush; ip xfrm policy flush")
    back = None
    while time.monotonic() - started < 120:
        if ping_count(farm, "dc2", target, 1)[1] == 1:
            back = time.monotonic() - started
            break
        time.sleep(0.5)
    after = farm.ssh("dc2", "systemctl show -p MainPID --value strongswan").stdout.strip()
    figures.report("farm, ipx: charon SIGKILLed on dc2 (its SAs and policies flushed with it): a ping dc2 -> dc3 "
                   "answered again %.1f s later, no Ansible run (daemon pid %s -> %s)" % (back or -1, before, after))
    assert back is not None and after not in ("", "0", before)


def test_a_rekey_during_pings_loses_nothing(ipsec_net):
    farm = ipsec_net[0]
    target = gateway6(farm, "dc3")
    conn = farm.ssh("dc2", "swanctl --list-conns 2>/dev/null | sed -n 's/^\\(gti[a-z0-9]*\\): .*/\\1/p'").stdout.split()
    pinging = subprocess.Popen(farm.ssh_argv("dc2", "ip netns exec %s ping -n -q -i 0.1 -c 150 %s" % (NS, target)),
                               stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    time.sleep(3)
    for name in conn:
        farm.ssh("dc2", "swanctl --rekey --child %s; swanctl --rekey --ike %s" % (name, name))
    said = pinging.communicate(timeout=120)[0]
    sent, received = (int(n) for n in re.search(r"(\d+) packets transmitted, (\d+) received", said).groups())
    figures.report("farm, ipx: child and IKE SAs of dc2's %d IPsec links rekeyed during 150 pings at 10/s: %d lost"
                   % (len(conn), sent - received))
    assert conn and sent == received == 150
