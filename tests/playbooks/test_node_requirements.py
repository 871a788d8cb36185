"""A node whose Python has Debian 12's own pyroute2 (0.7.2) is told what it needs, before anything is touched."""

import glob
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
CACHE = os.path.join(ROOT, ".build", "debian-pyroute2")


def debian_pyroute2():
    """Debian 12's python3-pyroute2, unpacked (downloaded once into .build)."""
    site = os.path.join(CACHE, "root", "usr", "lib", "python3", "dist-packages")
    if not os.path.isdir(os.path.join(site, "pyroute2")):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run(["apt-get", "download", "-q", "python3-pyroute2"], cwd=CACHE, check=True, capture_output=True)
        deb = glob.glob(os.path.join(CACHE, "python3-pyroute2_*.deb"))[0]
        subprocess.run(["dpkg-deb", "-x", deb, os.path.join(CACHE, "root")], check=True)
    return site


def test_debian_12_pyroute2_is_refused_naming_what_is_needed(tmp_path):
    site = debian_pyroute2()
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "Read the node's network resources", "gridnet.tenant.network_resource_info": {}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", PYTHONPATH=site)
    result = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(tmp_path / "play.yml"),
                             "-e", "ansible_python_interpreter=%s" % sys.executable],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "pyroute2 >= 0.9.7 is needed on this node; found 0.7.2" in result.stdout, result.stdout[-2000:]
