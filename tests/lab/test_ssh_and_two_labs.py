"""The default lab reached over real SSH (a pty per module, as on a farm), beside a second lab.

Over SSH a module runs under a pty (ssh -tt) that closes when the task ends: a
daemon it started must be fully detached or it dies with that session. And
tearing one lab down must leave another running lab untouched.
"""

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab

# For each process: pid, session id, controlling tty number, and what its descriptors point at
DAEMONS = r"""
for pid in $(pgrep -x wireguard-go) $(cat /run/gridnet-tenant/agent.lock); do
  echo "$pid $(cut -d' ' -f6,7 /proc/$pid/stat) $(ls -l /proc/$pid/fd | awk '{print $NF}' | tr '\n' ' ')"
done
"""


@pytest.fixture(scope="module")
def ssh_lab(new_lab):
    farm = new_lab("gridnet-ssh", connection="ssh")
    farm.playbook("lab/up.yml", inventory=False)
    return farm


def test_site_and_verify_over_ssh(ssh_lab):
    first = ssh_lab.playbook("site.yml")
    assert "ansible_connection: ssh" in open(ssh_lab.inventory + "/hosts.yml").read()
    assert first.changed and all(count > 0 for count in first.changed.values()), first.changed
    second = ssh_lab.playbook("site.yml")
    assert second.changed == {host: 0 for host in first.changed}, second.changed
    # every daemon the modules started over SSH leads a session of its own, with no terminal and no pty descriptor
    daemons = lab.run(ssh_lab.pids()["dc1"], ["sh", "-c", DAEMONS]).stdout.splitlines()
    assert len(daemons) == 10, daemons  # 9 links of dc1 and its agent
    for line in daemons:
        pid, session, tty, descriptors = line.split(" ", 3)
        assert session == pid and tty == "0" and "/dev/pts" not in descriptors, line
    verified = ssh_lab.playbook("verify.yml")
    assert "353 probes, 353 as expected" in verified.stdout, verified.stdout[-3000:]


def test_tearing_down_another_lab_leaves_this_one_working(ssh_lab, new_lab):
    other = new_lab("gridnet-other")
    other.playbook("lab/up.yml", inventory=False)
    other.playbook("site.yml")
    other.playbook("lab/down.yml", inventory=False)
    assert "353 probes, 353 as expected" in ssh_lab.playbook("verify.yml").stdout
