"""node/upstream.py: the upstream router's routes to each network's block, on a real lab node.

(The routes carrying real traffic to an exit: tests/netns/test_exit_gateway.py.)"""

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab


def routes_of(farm):
    return lab.run(farm.pids["router"], ["ip", "-6", "route", "show", "proto", "152"]).stdout


def test_routes_follow_the_list_with_metrics_and_leave_foreign_routes_alone(farm):
    router = farm.host("router")
    lab.run(router, ["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"])  # no dummy module here
    for name in ("up0", "up1"):
        lab.run(router, ["ip", "link", "set", name, "up"])
    lab.run(router, ["ip", "addr", "add", "2001:db8:ff::1/64", "dev", "up0", "nodad"])
    lab.run(router, ["ip", "-6", "route", "add", "2001:db8:99::/48", "via", "2001:db8:ff::99"])  # not ours
    wanted = [{"netid": "a", "prefix": "2001:db8:100::/48", "via": "2001:db8:ff::10", "exit": "gw"},
              {"netid": "b", "prefix": "2001:db8:200::/48", "via": "2001:db8:ff::20", "exit": "gw", "metric": 100},
              {"netid": "b", "prefix": "2001:db8:200::/48", "via": "2001:db8:ff::21", "exit": "gw2", "metric": 200}]
    made = farm.module("router", "upstream_routes", routes=wanted)
    assert made["changed"] and not made.get("failed"), made
    shown = routes_of(farm)
    assert "2001:db8:100::/48 via 2001:db8:ff::10" in shown
    assert "2001:db8:200::/48 via 2001:db8:ff::20" in shown and "metric 100" in shown and "metric 200" in shown
    assert not farm.module("router", "upstream_routes", routes=wanted)["changed"]
    gone = farm.module("router", "upstream_routes", routes=wanted[:1])
    assert gone["changed"] and "2001:db8:200::/48" not in routes_of(farm)
    assert "2001:db8:99::/48 via 2001:db8:ff::99" in lab.run(router, ["ip", "-6", "route"]).stdout
