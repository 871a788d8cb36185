"""babeld's configuration from a resource: what it says, what input it refuses, which changes go live."""

import pytest

from ansible_collections.gridnet.tenant.plugins.module_utils.node import babel
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError, NodeError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.mesh import plan
from inventory_factory import farm


def babel_resource(node="gw1"):
    networks, hostvars, groups, keys = farm(dc_nodes=3, segment_nodes=2)
    networks[0]["routing"] = "babel"
    return next(r for r in plan(networks, hostvars, groups, keys)["nodes"][node]["resources"])


def test_the_exit_announces_its_prefixes_and_its_default_routes_and_nothing_else():
    resource = babel_resource("gw1")
    text = babel.config_text(resource)
    assert "router-id" not in text  # each start's own (test_every_start_of_babeld_is_a_new_router_id)
    assert "redistribute ip %s eq 64 allow\n" % resource["prefix"] in text
    assert "redistribute ip %s eq 24 allow\n" % resource["ipv4"] in text
    assert "redistribute ip ::/0 eq 0 proto 153 metric 128\n" in text
    assert text.endswith("redistribute local deny\nredistribute deny\n")  # nothing else leaks out
    tunnels = [line for line in text.splitlines() if line.startswith("interface ")]
    assert len(tunnels) == len(resource["connected"]) and all("type tunnel hello-interval 1" in t for t in tunnels)


def test_a_member_does_not_announce_default_routes_and_its_vxlan_is_wired():
    resource = babel_resource("rack0")
    text = babel.config_text(resource)
    assert "::/0" not in text and "interface %s type wired" % resource["vxlan"]["name"] in text


@pytest.mark.parametrize("change, message", [
    ({"router_id_prefix": "02:00\nredistribute"}, "router_id_prefix"),
    ({"router_id_prefix": "02:00:00:00:00:00:00:01"}, "router_id_prefix"),
    ({"announce": ["2001:db8::/64 eq 64 allow\nredistribute"]}, "is not a prefix"),
    ({"interfaces": [{"name": "wg0\nredistribute", "type": "tunnel"}]}, "babel interface"),
    ({"interfaces": [{"name": "gtwabc", "type": "wireless"}]}, "type must be one of"),
])
def test_input_that_would_become_other_configuration_lines_is_refused(change, message):
    resource = babel_resource()
    resource["babel"] = dict(resource["babel"], **change)
    with pytest.raises(InputError, match=message):
        babel.check(resource)


def test_only_link_changes_go_live_anything_else_restarts():
    resource = babel_resource()
    have = babel.config_text(resource)
    fewer = dict(resource, babel=dict(resource["babel"], interfaces=resource["babel"]["interfaces"][1:]))
    gone = resource["babel"]["interfaces"][0]["name"]
    assert babel._interface_delta(have, babel.config_text(fewer)) == ([], [gone])
    added, removed = babel._interface_delta(babel.config_text(fewer), have)
    assert [name for name, _line in added] == [gone] and removed == []
    other = dict(resource, babel=dict(resource["babel"], announce=[resource["prefix"]]))
    assert babel._interface_delta(have, babel.config_text(other)) is None
    live = babel.changes(resource, {"config": have, "running": True}, babel.desired(fewer))
    assert [c.text for c in live] == ["babeld in %s: stop speaking on %s" % (resource["namespace"], gone)]
    restart = babel.changes(resource, {"config": have, "running": True}, babel.desired(other))
    assert [c.text for c in restart] == ["restart babeld in %s with its new configuration" % resource["namespace"]]


def test_a_node_without_babeld_is_refused_before_anything_changes(monkeypatch):
    monkeypatch.setattr(babel, "BINARY", "no-such-babeld")
    with pytest.raises(NodeError, match="apt install babeld"):
        babel.node_check(babel_resource())


def test_every_start_of_babeld_is_a_new_router_id(tmp_path, monkeypatch):
    """A crashed babeld lost its sequence number: its next start must be a new source for its neighbours, even
    across a reboot (the incarnation is kept in PERSISTENT_DIR) and when the counter wraps."""
    monkeypatch.setattr(babel, "PERSISTENT_DIR", str(tmp_path))
    prefix = babel_resource()["babel"]["router_id_prefix"]
    first = babel.next_router_id("ns1", prefix)  # no record yet: anywhere in the range
    assert first.startswith(prefix + ":") and len(first.split(":")) == 8
    (tmp_path / "ns1.incarnation").write_text("65534\n")
    assert [babel.next_router_id("ns1", prefix) for _unused in range(3)] == [
        prefix + ":ff:ff", prefix + ":00:00", prefix + ":00:01"]
    assert (tmp_path / "ns1.incarnation").read_text() == "1\n"


def test_failover_fast_says_hello_five_times_a_second_and_keeps_full_dumps_every_4_s():
    networks, hostvars, groups, keys = farm(dc_nodes=3, segment_nodes=2)
    networks[0].update(routing="babel", failover="fast")
    resource = next(r for r in plan(networks, hostvars, groups, keys)["nodes"]["gw1"]["resources"])
    lines = [line for line in babel.config_text(resource).splitlines() if line.startswith("interface ")]
    assert lines and all(line.endswith(" hello-interval 0.2 update-interval 4") for line in lines)
    babel.check(resource)
    for bad in (0, 0.01, 11, True, "0.2"):
        resource["babel"]["interfaces"][0]["hello"] = bad
        with pytest.raises(InputError, match="hello must be a number of seconds"):
            babel.check(resource)


def test_failover_fast_needs_babel_and_normal_plans_are_unchanged():
    networks, hostvars, groups, keys = farm(dc_nodes=3)
    networks[0]["failover"] = "fast"
    with pytest.raises(Exception, match="failover fast needs routing babel"):
        plan(networks, hostvars, groups, keys)
    networks[0].update(routing="babel", failover="normal")
    normal = plan(networks, hostvars, groups, keys)
    del networks[0]["failover"]
    assert plan(networks, hostvars, groups, keys) == normal
    networks[0]["failover"] = "sometimes"
    with pytest.raises(Exception, match="failover"):
        plan(networks, hostvars, groups, keys)
