"""The health view's judgement (plugin_utils/verify/health.py), its picture, and the node's metrics text (metrics.py)
as Prometheus' own parser reads it."""

from xml.etree import ElementTree

from hypothesis import given, strategies as st
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.gridnet.tenant.plugins.module_utils.node import metrics
from ansible_collections.gridnet.tenant.plugins.plugin_utils.verify import health, picture

NOW = 1796536000


def wireguard(handshake_age=10, present=True, up=True, routes=("2001:db8:1::/64",), babel=None, keepalive=25):
    return {"interface": "gtwabc", "connection": "wireguard", "present": present, "up": up, "routes": list(routes),
            "babel": babel, "public_key": "A" * 43 + "=", "allowed_ips": ["::/0"],
            "last_handshake": 0 if handshake_age is None else NOW - handshake_age, "rx_bytes": 2048, "tx_bytes": 1024,
            "keepalive": keepalive}


def resource(links, babel=None, exit_counters=None, network="acme"):
    return {"network": network, "namespace": "gt-x", "time": NOW, "links": links, "babel": babel,
            "exit": exit_counters}


def test_a_green_network_is_ok_and_every_link_end_is_a_row():
    judged = health.judge({"a": [resource({"b": wireguard()})], "b": [resource({"a": wireguard(30)})]})
    assert judged["ok"] and judged["problems"] == []
    assert [(r["node"], r["peer"], r["state"], r["handshake_age"]) for r in judged["links"]] == [
        ("a", "b", "up", 10), ("b", "a", "up", 30)]
    assert health.lines(judged)[-1] == "2 link ends, all up"


@given(age=st.integers(min_value=0, max_value=10000), threshold=st.integers(min_value=1, max_value=1000))
def test_a_wireguard_link_is_stale_exactly_when_its_handshake_is_older_than_the_threshold(age, threshold):
    state, why = health.link_state(wireguard(age), None, NOW, threshold)
    assert state == ("stale" if age > threshold else "up")
    assert (str(age) in why) == (state == "stale")


def test_never_a_handshake_is_stale_and_a_missing_or_down_interface_is_down():
    assert health.link_state(wireguard(None), None, NOW)[0] == "stale"
    assert health.link_state(wireguard(present=False), None, NOW) == ("down", "its interface gtwabc is missing")
    assert health.link_state(wireguard(up=False), None, NOW)[0] == "down"


def test_with_babel_a_link_without_a_neighbour_heard_is_down_whatever_its_handshake():
    heard = {"reach": "ffff", "cost": 96, "rxcost": 96, "txcost": 96}
    assert health.link_state(wireguard(babel=heard), True, NOW)[0] == "up"
    assert health.link_state(wireguard(babel=None), True, NOW) == ("down", "babeld has no neighbour on it")
    assert health.link_state(wireguard(babel=None), False, NOW) == ("down", "babeld is not running")
    assert health.link_state(wireguard(babel=dict(heard, reach="0000")), True, NOW)[0] == "down"
    assert health.link_state(wireguard(babel=dict(heard, cost=65535)), True, NOW)[0] == "down"


def test_a_problem_names_the_link_and_each_route_through_a_link_that_is_not_up():
    figures = {"a": [resource({"b": wireguard(500, routes=["2001:db8:2::/64", "10.0.2.0/24"]),
                              "c": wireguard(present=False, routes=[])})]}
    judged = health.judge(figures, threshold=180)
    assert not judged["ok"]
    assert judged["problems"] == [
        "acme: link a -> b (gtwabc) is stale: last handshake 500 s ago (threshold 180 s)",
        "acme: a routes 2001:db8:2::/64, 10.0.2.0/24 through b over that stale link",
        "acme: link a -> c (gtwabc) is down: its interface gtwabc is missing"]
    assert health.lines(judged, 180)[-4] == "2 link ends, 3 problems:"


def test_exit_counters_and_babel_routes_are_reported_per_network():
    counters = {"nat": {"packets": 7, "bytes": 700}, "dropped_in": {"packets": 3, "bytes": 300}}
    heard = {"reach": "ffff", "cost": 96, "rxcost": 96, "txcost": 96}
    babel = {"running": True, "routes_installed": 4}
    judged = health.judge({"gw": [resource({"a": wireguard(babel=heard)}, babel=babel, exit_counters=counters)]})
    assert judged["babel_routes"] == {"acme": {"gw": 4}}
    text = "\n".join(health.lines(judged))
    assert "exit gw: dropped_in 3 packets, nat 7 packets" in text and "routes babeld installed: gw 4" in text


def test_the_picture_colours_a_pair_by_its_worse_end_and_is_well_formed_svg():
    judged = health.judge({"a": [resource({"b": wireguard()})], "b": [resource({"a": wireguard(present=False)})]})
    svg = picture.health_svg(judged)
    lines = [e for e in ElementTree.fromstring(svg).iter() if e.tag.endswith("line")]
    assert len(lines) == 1 and lines[0].get("stroke") == picture.STATE_COLOURS["down"]


def node_figures():
    heard = {"reach": "fff0", "cost": 96, "rxcost": 96, "txcost": 96}
    vxlan = {"interface": "gtx-x", "connection": "localvxlan", "present": True, "up": True, "routes": [],
             "babel": None}
    return [resource({"b": wireguard(babel=heard), "c": dict(vxlan, babel=dict(heard, cost=None))},
                     babel={"running": True, "routes_installed": 2},
                     exit_counters={"nat": {"packets": 7, "bytes": 700}}, network='ac"me\\')]


def test_the_metrics_text_is_read_by_prometheus_own_parser_with_every_link_and_value():
    families = {f.name: f for f in text_string_to_metric_families(metrics.text(node_figures()))}
    # the parser strips _total from a counter family's name; the samples keep it
    assert set(families) >= {"wireguard_latest_handshake_seconds", "wireguard_received_bytes",
                             "wireguard_sent_bytes", "gridnet_tenant_link_up", "gridnet_tenant_babel_neighbour_reach",
                             "gridnet_tenant_exit_packets"}
    handshake = families["wireguard_latest_handshake_seconds"].samples
    assert [(s.labels["friendly_name"], s.labels["network"], s.value) for s in handshake] == [
        ("b", 'ac"me\\', NOW - 10)]
    assert families["wireguard_received_bytes"].samples[0].name == "wireguard_received_bytes_total"
    assert families["wireguard_received_bytes"].type == "counter"
    up = {s.labels["peer"]: s.value for s in families["gridnet_tenant_link_up"].samples}
    assert up == {"b": 1, "c": 1}
    reach = {s.labels["peer"]: s.value for s in families["gridnet_tenant_babel_neighbour_reach"].samples}
    assert reach == {"b": 12, "c": 12}  # fff0: 12 of the last 16 hellos heard
    cost = {s.labels["peer"]: s.value for s in families["gridnet_tenant_babel_neighbour_cost"].samples}
    assert cost == {"b": 96, "c": 65535}
    assert families["gridnet_tenant_exit_packets"].samples[0].labels["counter"] == "nat"


def test_the_metrics_file_is_replaced_whole_and_removed_when_there_is_nothing(tmp_path):
    path = metrics.write(node_figures(), str(tmp_path))
    assert path.endswith(".prom") and sorted(p.name for p in tmp_path.iterdir()) == ["gridnet_tenant.prom"]
    assert (tmp_path / "gridnet_tenant.prom").stat().st_mode & 0o777 == 0o644
    metrics.write([], str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_without_babel_or_a_keepalive_at_either_end_an_old_handshake_is_idle_not_a_failure():
    quiet = dict(wireguard(900), keepalive=0)
    judged = health.judge({"a": [resource({"b": quiet})], "b": [resource({"a": quiet})]})
    assert [r["state"] for r in judged["links"]] == ["idle", "idle"] and judged["ok"]
    assert health.lines(judged)[-1].startswith("2 link ends, 0 problems, 2 idle")
    # a keepalive at one end (a node behind NAT keeps one) makes both ends' old handshakes evidence
    judged = health.judge({"a": [resource({"b": quiet})], "b": [resource({"a": dict(quiet, keepalive=25)})]})
    assert [r["state"] for r in judged["links"]] == ["stale", "stale"] and not judged["ok"]


def test_an_access_peer_that_never_dialled_is_idle_not_a_problem_even_with_babel_but_a_missing_link_is():
    running = {"running": True, "routes_installed": 3}
    fresh = {"b": wireguard(babel={"reach": "ffff", "cost": 96}), "@alice": wireguard(None, keepalive=0)}
    judged = health.judge({"a": [resource(fresh, babel=running)]})
    assert judged["ok"], judged["problems"]
    assert {r["peer"]: r["state"] for r in judged["links"]} == {"b": "up", "@alice": "idle"}
    gone = {"b": wireguard(babel={"reach": "ffff", "cost": 96}), "@alice": wireguard(present=False)}
    judged = health.judge({"a": [resource(gone, babel=running)]})
    assert not judged["ok"] and "a -> @alice (gtwabc) is down" in judged["problems"][0]
