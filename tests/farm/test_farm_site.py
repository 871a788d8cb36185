"""site.yml and verify.yml on real Debian machines over SSH: kernel WireGuard, Babel, an exit and a relay."""

import re

from prometheus_client.parser import text_string_to_metric_families

import figures  # tests/support
from scenario import molecule  # tests/farm

GUESTS = ("gw", "dc1", "home")


def test_site_converges_once_then_changes_nothing_and_verify_is_green(converged):
    """The molecule scenario's converge, then site.yml once more with changed= read from the recap (molecule's
    idempotence step can pass falsely), molecule's idempotence and verify."""
    farm = converged
    first = farm.first_site
    changed = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+: ok=\d+\s+changed=(\d+)", first.output, re.M)}
    assert set(changed) == set(GUESTS) and all(changed[g] > 0 for g in GUESTS), changed
    second = farm.playbook("site.yml")
    assert second.changed == {g: 0 for g in GUESTS}, second.stdout[-3000:]
    molecule("idempotence", farm.dir)
    verify = molecule("verify", farm.dir)
    counted = re.search(r"(\d+) probes, (\d+) as expected", verify.output)
    assert counted and counted.group(1) == counted.group(2), verify.output[-4000:]
    for promise in ("farm dnat   tcp 203.0.113.10:8443 -> dc1", "farm allow  tcp"):
        assert re.search(re.escape(promise) + r".*: answered", verify.output), verify.output[-4000:]
    assert re.search(r"farm closed tcp .*: silent", verify.output), verify.output[-4000:]
    figures.report("farm of %d Debian 12 guests (QEMU, TCG): booted and answering SSH in %.0f s; site.yml %.0f s, "
                   "again %.0f s (changed=0 on every guest), verify.yml %.0f s: %s probes as expected"
                   % (len(GUESTS), farm.booted, first.seconds, second.seconds, verify.seconds, counted.group(1)))


def test_links_are_kernel_wireguard_routed_by_babel(converged):
    for guest in GUESTS:
        shown = converged.ssh(guest, "ip -n gt-farm -d -o link show type wireguard; pgrep -x wireguard-go || true; "
                                     "ip netns pids gt-farm | xargs -r ps -o comm= -p").stdout
        assert "wireguard" in shown and "wireguard-go" not in shown, (guest, shown)
        assert "babeld" in shown, (guest, shown)
        routes = converged.ssh(guest, "ip -n gt-farm -6 route show proto babel").stdout
        assert routes.count("\n") >= 2, (guest, routes)  # the other two members' prefixes at least


def test_the_health_view_is_green_and_each_guest_agent_writes_metrics_matching_wg_show(converged):
    """Kernel WireGuard's figures (generic netlink), read by the systemd agent into the textfile collector's file."""
    health = converged.playbook("health.yml")
    assert re.search(r"\d+ link ends, all up", health.stdout), health.stdout[-3000:]
    for guest in GUESTS:
        # kernel WireGuard links live in the resource's namespace: wg lists a namespace's own
        shown = converged.ssh(guest, "cat /var/lib/prometheus/node-exporter/gridnet_tenant.prom; echo ====; "
                                     "ip netns exec %s wg show all dump" % converged.resource_namespace()).stdout
        text, dump = shown.split("====\n")
        families = {f.name: f for f in text_string_to_metric_families(text)}
        handshakes = {s.labels["public_key"]: s.value for s in families["wireguard_latest_handshake_seconds"].samples}
        received = {s.labels["public_key"]: s.value for s in families["wireguard_received_bytes"].samples}
        peers = [line.split("\t") for line in dump.splitlines() if line.count("\t") == 8]
        assert peers and sorted(handshakes) == sorted(p[1] for p in peers), (guest, text, dump)
        for peer in peers:  # the file is at most one refresh (15 s) older than wg's look
            assert 0 <= int(peer[5]) - handshakes[peer[1]] <= 135, (guest, peer, handshakes[peer[1]])
            assert 0 <= int(peer[6]) - received[peer[1]] < 256 * 1024, (guest, peer, received[peer[1]])
            assert handshakes[peer[1]] > 0
