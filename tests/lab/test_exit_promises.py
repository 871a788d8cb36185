"""verify.yml checks what the exit promises, from the internet host: port forwards, the allow-list, closed ports."""

import re

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import net_tag


def test_verify_probes_the_exit_from_outside_and_fails_when_an_allowed_port_is_closed_by_hand(new_lab):
    farm = new_lab("gridnet-promises")
    farm.playbook("lab/up.yml", inventory=False)
    farm.playbook("site.yml")
    verified = farm.playbook("verify.yml")
    for line in (r"acme dnat   tcp 203\.0\.113\.10:8443 -> dc1 10\.60\.\d+\.10:443: answered",
                 r"acme allow  tcp \[2001:db8:[0-9a-f:]+::10\]:443 \(dc1\): answered",
                 r"acme closed tcp \[2001:db8:[0-9a-f:]+::10\]:444 \(dc1\): silent"):
        assert re.search(line, verified.stdout), (line, verified.stdout[-4000:])

    # by hand, on the exit: the allow-list rule for dc1's port 443 goes
    namespace, table = "gt-" + net_tag("acme"), "gt_exit_" + net_tag("acme")
    nft = ["nsenter", "--net=/run/netns/" + namespace, "nft"]
    gw = farm.pids()["gw"]
    listing = lab.run(gw, nft + ["-a", "list", "chain", "inet", table, "forward"]).stdout
    handle = re.search(r"tcp dport 443 counter name \"allowed_in\" accept # handle (\d+)", listing).group(1)
    lab.run(gw, nft + ["delete", "rule", "inet", table, "forward", "handle", handle])
    broken = farm.playbook("verify.yml", check=False)
    assert broken.returncode != 0, broken.stdout[-3000:]
    assert re.search(r"acme allow  tcp .*:443 \(dc1\): silent  <-- WRONG", broken.stdout), broken.stdout[-4000:]
    assert "acme|outside|dc1:443/tcp|allow6" in broken.stdout
