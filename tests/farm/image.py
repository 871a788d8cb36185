"""The farm's Debian 12 root image, built from Debian packages and cached under .build/farm.

A real node, not a lab namespace: Debian's kernel and systemd as PID 1, sshd,
Python with the collection's node requirements, kernel WireGuard (no
wireguard-go), babeld, nftables, iptables and Docker. Built once with
mmdebstrap (no network beyond the package mirror), then `mkfs.ext4 -d`; each
guest boots a copy-on-write overlay of it (its own persistent disk).

The image is keyed by a digest of what goes in (packages, the node
requirements, the public key the tests log in with, the boot-time script), so a
change to any of them builds a new one.
"""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

PACKAGES = ("systemd-sysv", "udev", "linux-image-amd64", "initramfs-tools", "openssh-server", "python3", "iproute2",
            "kmod", "ifupdown", "babeld", "nftables", "iptables", "docker.io", "procps", "iputils-ping",
            "wireguard-tools", "netcat-openbsd", "dbus")
# Python packages a node needs (requirements/node.txt), copied from the checkout's virtualenv: pure Python
NODE_PYTHON = ("pyroute2",)
IMAGE_SIZE = "3G"

# Run once at every boot, before the network is up: the guest's underlay addresses come from the kernel
# command line (farm.net=BASE64 of shell lines), as a cloud image takes them from its metadata.
FARM_NET = r"""#!/bin/sh
set -e
for word in $(cat /proc/cmdline); do
  case "$word" in farm.net=*) echo "${word#farm.net=}" | base64 -d > /run/farm-net ;; esac
done
[ -s /run/farm-net ] || exit 0
sh -e /run/farm-net
"""
FARM_NET_UNIT = """[Unit]
Description=Underlay addresses of this farm guest (from the kernel command line)
DefaultDependencies=no
After=systemd-udev-settle.service systemd-udevd.service
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/farm-net

[Install]
WantedBy=multi-user.target
"""


def digest(public_key, venv_site):
    parts = {"packages": PACKAGES, "key": public_key, "script": FARM_NET, "unit": FARM_NET_UNIT,
             "python": [_distribution(venv_site, name) for name in NODE_PYTHON]}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def _distribution(site, name):
    found = sorted(glob.glob(os.path.join(site, "%s-*.dist-info" % name)))
    if not found:
        raise RuntimeError("%s is not installed in %s (make setup)" % (name, site))
    return os.path.basename(found[-1])


def venv_site_packages():
    import sysconfig
    return sysconfig.get_paths()["purelib"]


def ssh_key(build):
    """The key pair the tests log in with (made once, kept with the image)."""
    os.makedirs(build, exist_ok=True)
    key = os.path.join(build, "id_ed25519")
    if not os.path.exists(key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gridnet-farm-tests", "-f", key],
                       check=True)
    with open(key + ".pub") as handle:
        return key, handle.read().strip()


def _customize(root, public_key, site):
    def write(path, text, mode=0o644):
        full = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(text)
        os.chmod(full, mode)

    write("/root/.ssh/authorized_keys", public_key + "\n", 0o600)
    os.chmod(os.path.join(root, "root/.ssh"), 0o700)
    write("/etc/fstab", "/dev/vda / ext4 rw,errors=remount-ro 0 1\n")
    write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    write("/usr/local/sbin/farm-net", FARM_NET, 0o755)
    write("/etc/systemd/system/farm-net.service", FARM_NET_UNIT)
    os.symlink("/etc/systemd/system/farm-net.service",
               os.path.join(root, "etc/systemd/system/multi-user.target.wants/farm-net.service"))
    # a farm node's own software is started by the tests, as an operator would: Docker stays off until then
    for unit in ("docker.service", "docker.socket", "containerd.service"):
        for link in glob.glob(os.path.join(root, "etc/systemd/system/*.wants", unit)):
            os.unlink(link)
    # no password, no first-boot questions; the serial console is where a failed boot shows
    write("/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf",
          "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200 %I $TERM\n")
    target = os.path.join(root, "usr/local/lib/python3.11/dist-packages")
    os.makedirs(target, exist_ok=True)
    for name in NODE_PYTHON:
        shutil.copytree(os.path.join(site, name), os.path.join(target, name), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(os.path.join(site, _distribution(site, name)),
                        os.path.join(target, _distribution(site, name)), dirs_exist_ok=True)


def build(build_dir, log=sys.stderr):
    """Path of the cached image (and its kernel and initrd), built when missing. Returns a dict."""
    key, public_key = ssh_key(build_dir)
    site = venv_site_packages()
    name = "debian12-%s" % digest(public_key, site)
    image = os.path.join(build_dir, name + ".img")
    result = {"image": image, "kernel": os.path.join(build_dir, name + ".vmlinuz"),
              "initrd": os.path.join(build_dir, name + ".initrd"), "key": key}
    if all(os.path.exists(p) for p in (image, result["kernel"], result["initrd"])):
        return result
    for stale in glob.glob(os.path.join(build_dir, "debian12-*")):
        os.unlink(stale) if os.path.isfile(stale) else shutil.rmtree(stale)
    root = os.path.join(build_dir, name + ".root")
    log.write("building the farm's Debian 12 image (mmdebstrap, once)\n")
    log.flush()
    subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "--aptopt=APT::Install-Recommends \"false\"", "--include=" + ",".join(PACKAGES),
                    "bookworm", root], check=True, stdin=subprocess.DEVNULL)
    try:
        _customize(root, public_key, site)
        kernel = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))[-1]
        initrd = sorted(glob.glob(os.path.join(root, "boot", "initrd.img-*")))[-1]
        shutil.copy(kernel, result["kernel"] + ".tmp")
        shutil.copy(initrd, result["initrd"] + ".tmp")
        subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "farmroot", "-d", root, image + ".tmp", IMAGE_SIZE],
                       check=True)
        for path in (result["kernel"], result["initrd"], image):
            os.replace(path + ".tmp", path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return result


if __name__ == "__main__":
    print(json.dumps(build(sys.argv[1] if len(sys.argv) > 1 else ".build/farm")))
