"""An execution environment gets everything the collection imports (ansible-builder, offline)."""

import ast
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PROVIDED = {"ansible", "ansible_collections", "yaml", "jinja2"}  # ansible-core brings these


def third_party_imports():
    found = set()
    for folder, _unused, files in os.walk(os.path.join(ROOT, "plugins")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name)) as handle:
                    tree = ast.parse(handle.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        found.update(alias.name.split(".")[0] for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - PROVIDED - {"__future__"}


def test_introspection_declares_every_third_party_import_and_the_system_tools():
    result = subprocess.run([os.path.join(BIN, "ansible-builder"), "introspect", "--sanitize",
                             os.path.join(ROOT, ".build", "collections")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    declared = yaml.safe_load(result.stdout.split("---", 1)[1])
    python = {line.split()[0].split(">")[0].split("=")[0].lower() for line in declared["python"]}
    assert third_party_imports() == {"netaddr", "pyroute2", "cryptography"}
    assert third_party_imports() <= python
    system = {line.split()[0] for line in declared["system"]}
    assert {"nftables", "iproute2", "util-linux", "wireguard-tools"} <= system


def test_ansible_builder_create_makes_a_build_context(tmp_path):
    built = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path",
                            str(tmp_path), ROOT], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    tarball = [n for n in os.listdir(str(tmp_path)) if n.endswith(".tar.gz")][0]
    (tmp_path / "requirements.yml").write_text(yaml.safe_dump({"collections": [{"name": tarball, "type": "file"}]}))
    (tmp_path / "execution-environment.yml").write_text(yaml.safe_dump({
        "version": 3,
        "dependencies": {"ansible_core": {"package_pip": "ansible-core"}, "ansible_runner": {"package_pip": "ansible-runner"},
                         "galaxy": "requirements.yml"},
        "additional_build_files": [{"src": tarball, "dest": "galaxy"}]}))
    created = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml",
                              "-c", "context"], capture_output=True, text=True, cwd=str(tmp_path), check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    assert os.path.exists(str(tmp_path / "context" / "_build" / "galaxy" / tarball))
