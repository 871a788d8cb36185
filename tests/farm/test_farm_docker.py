"""Debian's real docker.io on a converged node: br_netfilter and a FORWARD policy of DROP, and the network stays green.

Runs last in the layer (conftest.ORDER): dockerd stays on dc1 for the rest of the farm's life.
"""

import re
import time

import figures  # tests/support

DAEMON_JSON = '{"bip": "198.51.100.193/26"}'  # Docker's own bridge on a documentation prefix


def verify_green(farm):
    verify = farm.playbook("verify.yml", check=False)
    counted = re.search(r"(\d+) probes, (\d+) as expected", verify.stdout)
    assert verify.returncode == 0 and counted and counted.group(1) == counted.group(2), verify.stdout[-4000:]
    return counted.group(1)


def test_docker_started_and_restarted_on_a_node_leaves_the_matrix_green(converged):
    farm = converged
    farm.ssh("dc1", "mkdir -p /etc/docker && echo '%s' > /etc/docker/daemon.json && systemctl start docker"
             % DAEMON_JSON, timeout=300)
    started = time.monotonic()
    seen = farm.ssh("dc1", "cat /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/"
                           "bridge-nf-call-ip6tables; iptables -S FORWARD | head -n 1").stdout.split("\n")
    assert seen[:3] == ["1", "1", "-P FORWARD DROP"], seen  # what broke tenant IPv4 before
    probes = verify_green(farm)
    # in DOCKER-USER, or at the head of FORWARD when the agent looked before dockerd had made DOCKER-USER:
    # either passes tenant frames before Docker's policy
    rules = farm.ssh("dc1", "iptables -S").stdout
    ours = [line for line in rules.splitlines() if "-i gtb-+ -o gtb-+" in line and line.endswith("-j ACCEPT")]
    assert len(ours) == 1 and ours[0].split()[1] in ("DOCKER-USER", "FORWARD"), rules
    healed_by = farm.ssh("dc1", "journalctl -u gridnet-tenant-agent --no-pager -o cat | grep 'host firewall' || true"
                         ).stdout
    assert "let frames bridged within tenant bridges pass the node's ipv4 FORWARD" in healed_by, healed_by
    site = farm.playbook("site.yml")
    assert site.changed == {"gw": 0, "dc1": 0, "home": 0}, site.stdout[-3000:]  # the node had healed itself
    farm.ssh("dc1", "systemctl restart docker", timeout=300)
    probes_after = verify_green(farm)
    figures.report("farm: Debian's docker.io started on dc1 (br_netfilter on, FORWARD policy DROP): verify %s/%s, "
                   "and %s/%s after dockerd restarted; the node agent let tenant frames through itself (%.0f s)"
                   % (probes, probes, probes_after, probes_after, time.monotonic() - started))
