"""The ledger writes clear text only when plaintext is really true, however "no" is spelled."""

import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
NETWORKS = [{"netid": "acme", "members": ["gw"], "exit": {"node": "gw", "ipv6": "2001:db8:ff::10/64"}}]
HOSTS = {"all": {"hosts": {"gw": {"gridnet_tenant_underlay": {"ipv6": "2001:db8:10::12"}, "gridnet_tenant_exit": {
    "allocation": "2001:db8:100::/40", "network_prefixlen": 48, "uplink": {"parent": "uplink0"}},
    "gridnet_tenant_public_keys": {"acme": "Yw8hJ0pTHkYXRpB+nFZvz4D0mbJp3QvjpYFAaFyBmHc="}}}}}


def record(tmp_path, plaintext, *extra):
    """Run the ledger once (no vault secret configured); returns (result, the ledger path)."""
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(HOSTS))
    path = tmp_path / "ledger.yml"
    play = [{"hosts": "gw", "gather_facts": False, "tasks": [{"gridnet.tenant.ledger": {
        "path": str(path), "networks": NETWORKS, "plaintext": plaintext}, "delegate_to": "localhost"}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    result = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                             str(tmp_path / "play.yml")] + list(extra), capture_output=True, text=True, env=env, check=False)
    return result, path


@pytest.mark.parametrize("spelling", ["no", "false", False, "{{ gridnet_tenant_ledger_plaintext }}"],
                         ids=["string-no", "string-false", "bool-false", "extra-var-false"])
def test_no_clear_text_ledger_unless_plaintext_is_true(tmp_path, spelling):
    result, path = record(tmp_path, spelling, "-e", "gridnet_tenant_ledger_plaintext=false")
    assert result.returncode != 0, result.stdout
    assert "no vault secret" in result.stdout, result.stdout[-2000:]
    assert not path.exists()


def test_clear_text_when_plaintext_is_true(tmp_path):
    result, path = record(tmp_path, "yes")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "2001:db8:" in path.read_text()


def test_diff_shows_the_ledger_table_as_text_without_a_warning(tmp_path):
    result, path = record(tmp_path, "yes", "--diff")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "[WARNING]" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert "+acme" in result.stdout and "NETWORK" in result.stdout, result.stdout[-2000:]


def test_the_ledger_is_encrypted_with_the_configured_encrypt_identity(tmp_path, monkeypatch):
    for vault_id in ("alpha", "beta"):
        (tmp_path / vault_id).write_text("password of %s\n" % vault_id)
    ids = ["--vault-id", "alpha@%s" % (tmp_path / "alpha"), "--vault-id", "beta@%s" % (tmp_path / "beta")]
    monkeypatch.setenv("ANSIBLE_VAULT_ENCRYPT_IDENTITY", "beta")
    result, path = record(tmp_path, False, *ids)
    assert result.returncode == 0, result.stdout[-2000:]
    assert path.read_text().splitlines()[0] == "$ANSIBLE_VAULT;1.2;AES256;beta"
    # what ansible-vault decrypts with that identity's password alone
    shown = subprocess.run([os.path.join(BIN, "ansible-vault"), "view", "--vault-id", "beta@%s" % (tmp_path / "beta"),
                            str(path)], capture_output=True, text=True, check=False)
    assert shown.returncode == 0 and "gridnet_tenant_ledger:" in shown.stdout, shown.stderr


def test_several_vault_ids_and_no_encrypt_identity_is_refused(tmp_path, monkeypatch):
    for vault_id in ("alpha", "beta"):
        (tmp_path / vault_id).write_text("password of %s\n" % vault_id)
    monkeypatch.delenv("ANSIBLE_VAULT_ENCRYPT_IDENTITY", raising=False)
    result, path = record(tmp_path, False, "--vault-id", "alpha@%s" % (tmp_path / "alpha"),
                          "--vault-id", "beta@%s" % (tmp_path / "beta"))
    assert result.returncode != 0 and "vault ids alpha, beta are available" in result.stdout, result.stdout[-2000:]
    assert not path.exists()


def test_a_controller_without_netaddr_is_told_to_install_it(tmp_path, monkeypatch):
    hidden = tmp_path / "hide"
    hidden.mkdir()
    (hidden / "netaddr.py").write_text("raise ImportError('netaddr hidden by the test')\n")
    monkeypatch.setenv("PYTHONPATH", str(hidden))
    result, path = record(tmp_path, "yes")
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Failed to import the required Python library (netaddr)" in result.stdout, result.stdout[-2000:]
    assert "AttributeError" not in result.stdout + result.stderr
    assert not path.exists()


def default_ledger_run(tmp_path, content, *extra):
    """The ledger at its default place beside the inventory, holding `content` (bytes); run the ledger action."""
    (tmp_path / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(HOSTS))
    path = tmp_path / "group_vars" / "all" / "gridnet_tenant_ledger.vault"
    if content is not None:
        path.write_bytes(content)
    play = [{"hosts": "gw", "gather_facts": False, "tasks": [{"gridnet.tenant.ledger": {
        "path": "{{ inventory_dir }}/group_vars/all/gridnet_tenant_ledger.vault", "networks": NETWORKS},
        "delegate_to": "localhost"}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "pass").write_text("lab password\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_VAULT_PASSWORD_FILE=str(tmp_path / "pass"))
    result = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                             str(tmp_path / "play.yml")] + list(extra), capture_output=True, text=True, env=env,
                            check=False)
    return result, path


def vault_of(tmp_path, text):
    from ansible.parsing.vault import VaultLib, VaultSecret
    secret = VaultSecret(b"lab password")
    return VaultLib([("default", secret)]).encrypt(text.encode(), secret=secret)


@pytest.mark.parametrize("content, problem", [
    (b"$ANSIBLE_VAULT;1.1;AES256\n6162633\n", "its vault envelope cannot be read"),
    ("list", "no gridnet_tenant_ledger mapping of version 1 (found list)"),
    ("wrong shape", "networks is a list, not a mapping"),
], ids=["corrupt-envelope", "vault-holding-a-list", "wrong-shape"])
def test_every_corrupt_ledger_fails_naming_the_file_and_what_is_wrong(tmp_path, content, problem):
    if content == "list":
        content = vault_of(tmp_path, "- a\n- b\n")
    elif content == "wrong shape":
        content = vault_of(tmp_path, "gridnet_tenant_ledger: {version: 1, networks: [acme]}\n")
    result, path = default_ledger_run(tmp_path, content)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "ledger %s is corrupt: %s" % (path, problem) in result.stdout, result.stdout[-2000:]


def test_a_ledger_of_an_earlier_version_moves_out_of_ansibles_vars(tmp_path):
    first, path = default_ledger_run(tmp_path, None)
    assert first.returncode == 0, first.stdout[-2000:]
    legacy = path.parent / "gridnet_tenant_ledger.yml"
    path.rename(legacy)  # where versions before 0.2.0 kept it
    moved, path = default_ledger_run(tmp_path, None)
    assert moved.returncode == 0 and "changed=1" in moved.stdout, moved.stdout[-2000:]
    assert path.exists() and not legacy.exists()
    again, path = default_ledger_run(tmp_path, None)
    assert "changed=0" in again.stdout, again.stdout[-2000:]
