"""Two module invocations per host and run, whatever the number of its networks (counted, not assumed)."""

import collections
import re


def invocations(output):
    """Module invocations per host in ansible-playbook -vvv output: each uploads its AnsiballZ payload once."""
    return collections.Counter(re.findall(r"^<([\w.-]+)> PUT \S+ TO \S+/AnsiballZ_(\w+)\.py", output, re.M | re.I))


def per_host(counted):
    hosts = collections.Counter()
    for (host, _module), count in counted.items():
        hosts[host] += count
    return hosts


def test_every_host_costs_at_most_two_module_invocations_first_and_again(lab_farm):
    farm = lab_farm
    farm.playbook("lab/up.yml", inventory=False)
    for run in ("first", "again"):
        result = farm.playbook("site.yml", "-vvv")
        counted = invocations(result.stdout)
        hosts = per_host(counted)
        # every node of a network (dc1, gw, ... in two networks) and the upstream router were reached
        assert {"dc1", "gw", "home1", "rack1", "upstream"} <= set(hosts), (run, counted)
        assert max(hosts.values()) <= 2, (run, counted)
        assert {module for (_host, module) in counted} == {"wireguard_key", "node"}, (run, counted)
        if run == "again":
            assert set(result.changed.values()) == {0}, result.changed
