"""Real nodes keep their networks without Ansible: the agent under systemd, a killed babeld, the host firewall
reloaded on the relay, and a real reboot."""

import re
import subprocess
import threading
import time

import figures  # tests/support

GUESTS = ("gw", "dc1", "home")
NS = "gt-farm"


def gateway6(farm, guest):
    """The resource's IPv6 gateway address on guest (its workloads' gateway): what a ping across the mesh aims at."""
    shown = farm.ssh(guest, "ip -n %s -6 -o addr show dev gtn-farm scope global" % NS).stdout
    return re.search(r"inet6 ([0-9a-f:]+)/64", shown).group(1)


class Pinger(object):
    """One SSH session on `guest` pinging `address` from the resource's namespace 5 times a second (one ping
    process: -O says each echo not answered before the next is sent); each answer or silence is stamped with
    this machine's clock as its line arrives."""

    def __init__(self, farm, guest, address):
        script = ("ip netns exec %s stdbuf -oL ping -O -i 0.2 %s | while read -r line; do case \"$line\" in "
                  "*'bytes from'*) echo ok ;; *'no answer'*) echo no ;; esac; done" % (NS, address))
        self.process = subprocess.Popen(farm.ssh_argv(guest, script), stdout=subprocess.PIPE, text=True,
                                        stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.strip()))

    def first_answer_after(self, moment, deadline):
        while time.monotonic() < deadline:
            for stamp, said in list(self.lines):
                if stamp > moment and said == "ok":
                    return stamp
            time.sleep(0.1)
        return None

    def stop(self):
        self.process.kill()
        self.process.wait()


def test_the_agent_is_a_systemd_unit_on_every_guest(converged):
    for guest in GUESTS:
        said = converged.ssh(guest, "systemctl is-enabled gridnet-tenant-agent; systemctl is-active gridnet-tenant-agent;"
                                    " ps -o ppid= -p $(systemctl show -p MainPID --value gridnet-tenant-agent)",
                             check=False).stdout.split()
        assert said[:3] == ["enabled", "active", "1"], (guest, said)  # a child of systemd itself


def test_a_killed_babeld_is_back_without_ansible(converged):
    farm = converged
    target = gateway6(farm, "gw")
    pinger = Pinger(farm, "dc1", target)
    try:
        assert pinger.first_answer_after(time.monotonic(), time.monotonic() + 30), "no ping before the kill"
        old = farm.ssh("dc1", "ip netns pids %s | xargs -r ps -o pid=,comm= -p | awk '$2==\"babeld\"{print $1}'" % NS
                       ).stdout.split()
        assert len(old) == 1, old
        farm.ssh("dc1", "kill -9 %s" % old[0])
        killed = time.monotonic()
        deadline = killed + 30
        back = None
        while time.monotonic() < deadline:
            now = farm.ssh("dc1", "ip netns pids %s | xargs -r ps -o pid=,comm= -p | awk '$2==\"babeld\"{print $1}'"
                           % NS).stdout.split()
            if now and now != old:
                back = time.monotonic()
                break
            time.sleep(0.3)
        assert back, "babeld was not restarted"
        answered = pinger.first_answer_after(back, deadline)
        assert answered, "no ping across the mesh after babeld came back"
    finally:
        pinger.stop()
    figures.report("farm: babeld SIGKILLed on dc1: a new babeld within %.1f s, a ping across the mesh answered "
                   "%.1f s after the kill (no Ansible; includes SSH polling)" % (back - killed, answered - killed))


def test_the_relays_firewall_restarted_keeps_tenant_traffic(converged):
    farm = converged
    assert "gt_relay_farm" in farm.ssh("gw", "nft list tables").stdout  # dc1 and home link through gw
    pinger = Pinger(farm, "dc1", gateway6(farm, "home"))
    try:
        assert pinger.first_answer_after(time.monotonic(), time.monotonic() + 30), "no ping before the restart"
        farm.ssh("gw", "systemctl restart nftables")
        restarted = time.monotonic()
        answered = pinger.first_answer_after(restarted, restarted + 30)
        missed = [said for stamp, said in pinger.lines if stamp > restarted].count("no")
    finally:
        pinger.stop()
    assert answered, "dc1 -> home did not answer within 30 s of the relay's firewall restart"
    assert "gt_relay_farm" in farm.ssh("gw", "nft list tables").stdout
    figures.report("farm: systemctl restart nftables on the relay (gw): dc1 -> home answered %.1f s after it "
                   "(%d pings missed), no Ansible run" % (answered - restarted, missed))
    assert answered - restarted < 5


def link_facts(farm, guest):
    """What must survive a reboot: each link's name, port and peer; the node's key; the resource's addresses."""
    dump = farm.ssh(guest, "ip netns exec %s wg show all dump" % NS).stdout
    links = sorted(tuple(line.split("\t")[i] for i in (0, 1, 2, 3)) if len(line.split("\t")) == 5
                   else tuple(line.split("\t")[i] for i in (0, 1)) for line in dump.splitlines())
    addresses = farm.ssh(guest, "ip -n %s -o addr show dev gtn-farm scope global" % NS).stdout.split("\n")
    return links, sorted(a.split()[3] for a in addresses if a)


FIRST_PING_UNIT = """[Unit]
Description=Test probe: seconds from boot to the first ping answered across the mesh
[Service]
Type=simple
ExecStart=/bin/sh -c 'until ip netns exec %s ping -c 1 -W 1 %s >/dev/null 2>&1; do sleep 0.2; done; \
cut -d" " -f1 /proc/uptime > /var/tmp/first-ping'
[Install]
WantedBy=multi-user.target
"""


def test_a_rebooted_guest_comes_back_by_itself_with_the_same_names_ports_and_keys(converged):
    farm = converged
    before = link_facts(farm, "home")
    boots = farm.ssh("home", "journalctl --list-boots --no-pager | wc -l").stdout.strip()
    unit = FIRST_PING_UNIT % (NS, gateway6(farm, "gw"))
    farm.ssh("home", "rm -f /var/tmp/first-ping; cat > /etc/systemd/system/first-ping.service <<'EOF'\n%sEOF\n"
                     "systemctl enable first-ping.service 2>/dev/null" % unit)
    farm.ssh("home", "systemctl reboot", check=False)
    started = time.monotonic()
    time.sleep(5)
    assert farm.wait_ssh("home", time.monotonic() + 400), "home did not come back: %s" % farm.console("home")[-2000:]
    deadline = time.monotonic() + 120
    first = ""
    while time.monotonic() < deadline and not first:
        first = farm.ssh("home", "cat /var/tmp/first-ping 2>/dev/null || true").stdout.strip()
        time.sleep(1)
    assert first, "no ping across the mesh answered after the reboot"
    assert int(farm.ssh("home", "journalctl --list-boots --no-pager | wc -l").stdout.strip()) > int(boots)
    assert link_facts(farm, "home") == before
    farm.ssh("home", "systemctl disable first-ping.service 2>/dev/null; rm /etc/systemd/system/first-ping.service")
    figures.report("farm: systemctl reboot of home (a real shutdown and boot, %.0f s until SSH answered again): "
                   "its first ping across the mesh answered %.1f s after its kernel started, with the same links, "
                   "ports, keys and prefix, and no Ansible run" % (time.monotonic() - started, float(first)))
