"""The allocation ledger: locking, atomic writes, vault, release and never renumbering."""

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.gridnet.tenant.plugins.action import ledger as ledger_action
from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger_file, ledger_table

from inventory_factory import fake_public_key, farm


def vault(password=b"correct horse"):
    return VaultLib([("default", VaultSecret(password))])


def inventory(nodes, netid="net1", allocation="2001:db8:100::/40"):
    """networks, hostvars, groups with public keys as facts for `nodes` (plus the exit gw1)."""
    networks, hostvars, groups, keys = farm(dc_nodes=nodes, netid=netid, allocation=allocation)
    for node in hostvars:
        hostvars[node]["gridnet_tenant_public_keys"] = {netid: fake_public_key(node, netid)}
    return networks, hostvars, groups


def test_encrypted_file_shows_no_prefix_netid_or_key(tmp_path):
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups = inventory(3, netid="acme-secret")
    planned, _unused, after, changed = ledger_action.allocate(path, networks, hostvars, groups, vault())
    raw = open(path).read()
    assert changed and raw.startswith("$ANSIBLE_VAULT;1.1;AES256")
    for clear in ["acme-secret", "2001:db8", "10.40.", fake_public_key("dc0", "acme-secret")] + \
            [r["prefix"].split("::")[0] for r in planned["assignments"]["networks"]["acme-secret"]["resources"].values()]:
        assert clear not in raw
    assert ledger_file.read(path, vault()) == after
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_plaintext_only_when_asked(tmp_path):
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups = inventory(2)
    with pytest.raises(ledger_file.LedgerError, match="no vault secret is configured.*gridnet_tenant_ledger_plaintext"):
        ledger_action.allocate(path, networks, hostvars, groups, None)
    assert not os.path.exists(path)
    ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
    assert "net1" in open(path).read()


def test_wrong_vault_password_fails_clearly_and_writes_nothing(tmp_path):
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups = inventory(2)
    ledger_action.allocate(path, networks, hostvars, groups, vault())
    before = open(path, "rb").read()
    networks, hostvars, groups = inventory(3)
    with pytest.raises(ledger_file.LedgerError, match="cannot be decrypted with the configured vault secret"):
        ledger_action.allocate(path, networks, hostvars, groups, vault(b"wrong"))
    with pytest.raises(ledger_file.LedgerError, match="encrypted with Ansible Vault and no vault secret"):
        ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
    assert open(path, "rb").read() == before


def test_corrupt_ledger_fails_clearly_and_is_left_alone(tmp_path):
    path = tmp_path / "ledger.yml"
    path.write_text("gridnet_tenant_ledger: [unclosed\n")
    networks, hostvars, groups = inventory(2)
    with pytest.raises(ledger_file.LedgerError, match="is corrupt"):
        ledger_action.allocate(str(path), networks, hostvars, groups, None, plaintext=True)
    assert path.read_text() == "gridnet_tenant_ledger: [unclosed\n"


def test_check_mode_writes_nothing(tmp_path):
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups = inventory(2)
    _unused, _unused, _unused, changed = ledger_action.allocate(path, networks, hostvars, groups, vault(), check=True)
    assert changed and not os.path.exists(path)


def test_check_mode_creates_no_lock_file_or_directory(tmp_path):
    path = str(tmp_path / "group_vars" / "all" / "ledger.yml")
    networks, hostvars, groups = inventory(2)
    ledger_action.allocate(path, networks, hostvars, groups, vault(), check=True)
    ledger_action.settle_file(path, [], list(hostvars), vault(), check=True)
    assert os.listdir(str(tmp_path)) == []


def _allocate_many(path, worker, rounds, queue):
    """One controller: each round adds a network of its own to the shared allocation."""
    handed = []
    mine = []
    for round_number in range(rounds):
        netid = "w%d-r%d" % (worker, round_number)
        networks, hostvars, groups = inventory(1, netid=netid, allocation="2001:db8:100::/44")
        mine.append(networks[0])
        planned, _unused, _unused, _unused = ledger_action.allocate(path, list(mine), hostvars, groups, None, plaintext=True)
        handed += [(n, planned["assignments"]["networks"][n]["block"]) for n in [m["netid"] for m in mine]]
    queue.put(handed)


def test_concurrent_allocations_never_hand_out_the_same_prefix(tmp_path):
    path = str(tmp_path / "ledger.yml")
    queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_allocate_many, args=(path, w, 3, queue)) for w in range(4)]
    for w in workers:
        w.start()
    handed = [queue.get(timeout=120) for _unused in workers]
    for w in workers:
        w.join(timeout=30)
    owner = {}
    for block_of in handed:
        for netid, block in block_of:
            assert owner.setdefault(block, netid) == netid, "%s handed to %s and %s" % (block, owner[block], netid)
    final = ledger_file.read(path)
    assert len(final["networks"]) == 12 and len({n["block"] for n in final["networks"].values()}) == 12


def test_a_run_killed_mid_write_leaves_the_previous_ledger_intact(tmp_path):
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups = inventory(2)
    ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
    before = open(path).read()
    # A writer that stops for good between writing its new file and putting it in place.
    script = textwrap.dedent("""
        import os, sys, time
        sys.path[:0] = %r
        from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger_file as ledger
        real = os.fsync
        def stall(fd):
            real(fd)
            print("writing", flush=True)
            time.sleep(60)
        os.fsync = stall
        current = ledger.read(%r)
        current["networks"]["net1"]["block"] = "2001:db8:ffff::/48"
        ledger.write(%r, current, plaintext=True)
    """ % (sys.path, path, path))
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert open(path).read() == before
    assert ledger_file.read(path)["networks"]["net1"]["block"] != "2001:db8:ffff::/48"


def test_removal_is_reserved_until_applied_then_released_and_reused_last(tmp_path):
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups = inventory(4)
    first, _unused, _unused, _unused = ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
    gone_prefix = first["assignments"]["networks"]["net1"]["resources"]["dc3"]["prefix"]
    networks[0]["members"] = ["dc0", "dc1", "dc2", "gw1"]
    groups["dc"].remove("dc3")
    ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
    assert ledger_file.read(path)["networks"]["net1"]["resources"]["dc3"]["state"] == "removing"
    # not applied on dc3 (not in the play): still reserved
    released, _unused, _unused, _unused = ledger_action.settle_file(path, ["dc0", "dc1", "dc2", "gw1"], list(hostvars), None, True)
    assert released == []
    released, _unused, after, _unused = ledger_action.settle_file(path, ["dc0", "dc1", "dc2", "dc3", "gw1"], list(hostvars), None, True)
    assert released == ["net1/dc3 %s" % gone_prefix] and after["released"]["prefixes"]["net1"] == [gone_prefix]
    assert "dc3" not in after["ports"] and all("dc3" not in p.get("net1", {}) for p in after["ports"].values())
    # a newcomer whose preferred slot is the released one gets another
    hostvars["dc3-again"] = dict(hostvars["dc3"], gridnet_tenant_public_keys={"net1": fake_public_key("x", "net1")})
    networks[0]["members"].append("dc3-again")
    again, _unused, _unused, _unused = ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
    assert again["assignments"]["networks"]["net1"]["resources"]["dc3-again"]["prefix"] != gone_prefix


def test_ten_runs_of_adding_and_removing_nodes_never_renumber_a_survivor(tmp_path):
    path = str(tmp_path / "ledger.yml")
    rng = random.Random(7)
    networks, hostvars, groups = inventory(12)
    pool = sorted(n for n in hostvars if n != "gw1")
    members = set(pool[:6])
    seen = {}
    for run in range(10):
        networks[0]["members"] = sorted(members | {"gw1"})
        planned, _unused, _unused, _unused = ledger_action.allocate(path, networks, hostvars, groups, vault(), plaintext=False)
        ledger_action.settle_file(path, sorted(hostvars), list(hostvars), vault())
        net = planned["assignments"]["networks"]["net1"]
        ports = planned["assignments"]["ports"]
        for node in members | {"gw1"}:
            now = (net["resources"][node]["prefix"], net["resources"][node]["ipv4"])
            if node in seen:
                assert seen[node][0] == now, "run %d renumbered %s" % (run, node)
                for peer, port in seen[node][1].items():
                    if peer in members | {"gw1"}:
                        assert ports[node]["net1"][peer] == port, "run %d moved a port of %s" % (run, node)
            seen[node] = (now, dict(ports[node]["net1"]))
        for node in list(seen):
            if node not in members | {"gw1"}:
                del seen[node]
        leaving = rng.sample(sorted(members), 2)
        joining = rng.sample(sorted(set(pool) - members), 2)
        members = (members - set(leaving)) | set(joining)
    prefixes = [r["prefix"] for r in ledger_file.read(path, vault())["networks"]["net1"]["resources"].values()]
    assert len(prefixes) == len(set(prefixes))


def test_table_has_network_node_prefix_subnet_ports_state(tmp_path):
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups = inventory(2)
    ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
    lines = ledger_table.table_lines(ledger_file.read(path))
    assert lines[0].split() == ["NETWORK", "NODE", "PREFIX", "IPV4", "PORTS", "STATE"]
    assert any(line.startswith("net1") and "dc0" in line and "active" in line for line in lines)


def test_a_network_without_wireguard_links_settles_and_then_changes_nothing(tmp_path):
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups = inventory(2)
    networks = [dict(networks[0], members=[networks[0]["exit"]["node"]])]  # the exit alone: no link, no port
    for _unused in range(2):
        ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
        ledger_action.settle_file(path, list(hostvars), list(hostvars), None, True)
    for _unused in range(2):
        assert ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)[3] is False
        assert ledger_action.settle_file(path, list(hostvars), list(hostvars), None, True)[3] is False


def test_the_ledger_is_written_as_one_json_mapping_and_a_block_yaml_ledger_of_before_is_still_read(tmp_path):
    """A million listen ports (a full mesh of 1,000) read as JSON in a second, not as YAML in half a minute."""
    import json
    import yaml
    path = tmp_path / "ledger.yml"
    networks, hostvars, groups = inventory(3)
    ledger_action.allocate(str(path), networks, hostvars, groups, None, plaintext=True)
    text = path.read_text()
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(body) == 1 and body[0].startswith("gridnet_tenant_ledger: {")
    written = json.loads(body[0][len("gridnet_tenant_ledger: "):])
    assert yaml.safe_load(text) == {"gridnet_tenant_ledger": written}  # still YAML: ansible-vault view, diffs
    legacy = tmp_path / "legacy.yml"
    legacy.write_text(yaml.safe_dump({"gridnet_tenant_ledger": written}, default_flow_style=False))
    assert ledger_file.read(str(legacy)) == ledger_file.read(str(path))
    _unused, _unused, _unused, changed = ledger_action.allocate(str(legacy), networks, hostvars, groups, None,
                                                                plaintext=True)
    assert not changed  # the same content: an earlier version's file is left as it is until something changes


def test_a_removed_node_releases_the_relay_ports_of_its_pairs(tmp_path):
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups, _keys = farm(dc_nodes=1, home_nodes=3)
    for node in hostvars:
        hostvars[node]["gridnet_tenant_public_keys"] = {"net1": fake_public_key(node, "net1")}
    ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
    held = ledger_file.read(path)["ports"]["gw1"]["net1"]
    assert {"home0>home1", "home0>home2", "home1>home2"} <= set(held)
    networks[0]["members"] = ["dc", "gw1", "home0", "home1"]
    groups["home"].remove("home2")
    ledger_action.allocate(path, networks, hostvars, groups, None, plaintext=True)
    assert "home1>home2" in ledger_file.read(path)["ports"]["gw1"]["net1"]  # reserved until removed there
    _released, _unused, after, _unused = ledger_action.settle_file(path, sorted(hostvars), list(hostvars), None, True)
    kept = after["ports"]["gw1"]["net1"]
    assert "home0>home1" in kept and not [k for k in kept if "home2" in k]


def test_slices_plan_from_keys_the_keys_playbook_recorded_and_settle_a_removal_slice_by_slice(tmp_path):
    """What a job sliced by host needs: each slice knows only its own hosts' published keys, and applies only
    its own hosts' converge."""
    from ansible_collections.gridnet.tenant.plugins.plugin_utils.ledger import ledger
    path = str(tmp_path / "ledger.yml")
    networks, hostvars, groups = inventory(4)
    slices = [["dc0", "dc2", "gw1"], ["dc1", "dc3"]]

    def only(hosts):  # the facts of one slice's run: the others published nothing in it
        return {h: v if h in hosts else {k: x for k, x in v.items() if k != "gridnet_tenant_public_keys"}
                for h, v in hostvars.items()}
    with pytest.raises(Exception, match="no public key for node 'dc1'.*gridnet.tenant.keys"):
        ledger_action.allocate(path, networks, only(slices[0]), groups, None, plaintext=True)
    for hosts in slices:  # the keys playbook, sliced
        ledger_action._cycle(ledger_file.FileStore(path, plaintext=True), lambda current, h=hosts: (ledger.publish(
            current, {n: ledger.published_keys(only(h), n) for n in h}), None), False)
    assert sorted(ledger_file.read(path)["keys"]) == sorted(hostvars)
    whole = ledger_action.allocate(str(tmp_path / "whole.yml"), networks, hostvars, groups, None, plaintext=True)[0]
    for hosts in slices:
        planned = ledger_action.allocate(path, networks, only(hosts), groups, None, plaintext=True)[0]
        assert planned == whole
    recorded = ledger_file.read(path)
    assert "keys" not in recorded  # every key now lives in its resource
    assert recorded == ledger_file.read(str(tmp_path / "whole.yml"))
    # dc3 leaves; the converge runs slice by slice: released only once every slice has applied it
    networks[0]["members"] = ["dc0", "dc1", "dc2", "gw1"]
    groups["dc"].remove("dc3")
    for hosts in slices:
        ledger_action.allocate(path, networks, only(hosts), groups, None, plaintext=True)
    released = [ledger_action.settle_file(path, hosts, list(hostvars), None, True)[0] for hosts in slices]
    assert released[0] == [] and released[1] == ["net1/dc3 %s" % recorded["networks"]["net1"]["resources"]["dc3"]["prefix"]]
