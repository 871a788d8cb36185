"""Boot Debian's own kernel under QEMU and run pytest inside it, on this machine's files.

The host has no WireGuard module, Debian's kernel package has one. Set-up (all
from Debian packages, nothing installed as the host's kernel):
  - `apt-get download` the image package linux-image-amd64 points to, unpacked under BUILD;
  - an initramfs of busybox-static and the modules the tests need (and what they depend on);
  - qemu-system-x86_64 with KVM when it works, else software emulation (TCG).
The guest mounts the host's root read-only over 9p, gives itself a private
/run and /var/lib, switches its root to it and runs pytest from this
checkout's virtualenv. Results come back over a second, writable 9p share.
"""

import glob
import gzip
import os
import re
import shutil
import subprocess
import tempfile

WANTED_MODULES = ("wireguard", "veth", "bridge", "tun", "9p", "9pnet_virtio", "virtio_pci")

_INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /modules/$m 2>/dev/null || echo "insmod $m failed"; done
mkdir -p /host /out
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host || echo "GUEST-FAILED no host root"
for d in proc sys dev; do mount --rbind /$d /host/$d; done
# /tmp stays the host's (read-only): the checkout may live there. Scratch space is /mnt
# (seen by the guest's lab nodes too, which mount /run and /var/lib of their own)
for d in run var/lib mnt; do mount -t tmpfs -o mode=0755 guest /host/$d; done
mkdir -p /host/run/gridnet-out /host/mnt/tmp
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /host/run/gridnet-out || echo "GUEST-FAILED no out share"
# switch_root, not chroot: nsenter --mount takes the mount namespace's root, which must be the host's tree
exec switch_root /host /bin/sh -c 'sh /run/gridnet-out/run.sh; echo "GUEST-EXIT $?"; /bin/busybox poweroff -f'
"""


def kernel_package():
    out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True, check=False).stdout
    if "Depends: linux-image-" not in out:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"Depends: (linux-image-[0-9][^\s]*)", out)
    if not found:
        raise RuntimeError("apt-cache knows no linux-image-amd64 (run apt-get update): %s" % out)
    return found.group(1)


def fetch_kernel(build):
    """Unpack Debian's current kernel image package into BUILD/root; returns (vmlinuz, modules dir)."""
    package = kernel_package()
    root = os.path.join(build, "root")
    version = package[len("linux-image-"):]
    vmlinuz = os.path.join(root, "boot", "vmlinuz-" + version)
    if not os.path.exists(vmlinuz):
        os.makedirs(build, exist_ok=True)
        subprocess.run(["apt-get", "download", package], cwd=build, check=True, capture_output=True)
        deb = glob.glob(os.path.join(build, package + "_*.deb"))[0]
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        os.unlink(deb)
    return vmlinuz, os.path.join(root, "lib", "modules", version)


def _module_index(modules_dir):
    index = {}
    for path in glob.glob(os.path.join(modules_dir, "kernel", "**", "*.ko"), recursive=True):
        index[os.path.basename(path)[:-3].replace("-", "_")] = path
    return index


def _depends(path):
    with open(path, "rb") as handle:
        found = re.search(rb"(?:^|\0)depends=([^\0]*)", handle.read())
    return [d.replace("-", "_") for d in found.group(1).decode().split(",") if d] if found else []


def module_order(modules_dir, wanted=WANTED_MODULES):
    """The wanted modules and everything they depend on, dependencies first."""
    index, order = _module_index(modules_dir), []

    def visit(name):
        if name in order:
            return
        if name not in index:
            raise RuntimeError("kernel module %s is not in %s" % (name, modules_dir))
        for dependency in _depends(index[name]):
            visit(dependency)
        order.append(name)
    for name in wanted:
        visit(name)
    return [(name, index[name]) for name in order]


def _newc_archive(top):
    """The tree under `top` as a cpio "newc" archive (the initramfs format), without needing cpio."""
    def entry(name, mode, data, ino):
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
        head = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
        head += b"\0" * (-len(head) % 4)
        return head + data + b"\0" * (-len(data) % 4)
    parts, ino = [], 1
    for folder, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            data = open(path, "rb").read() if os.path.isfile(path) else b""
            parts.append(entry(os.path.relpath(path, top), mode, data, ino))
            ino += 1
    parts.append(entry("TRAILER!!!", 0, b"", 0))
    return b"".join(parts)


def build_initramfs(build, modules_dir):
    image = os.path.join(build, "initramfs.cpio.gz")
    staging = tempfile.mkdtemp(dir=build)
    try:
        for folder in ("bin", "modules", "proc", "sys", "dev"):
            os.makedirs(os.path.join(staging, folder))
        shutil.copy("/bin/busybox", os.path.join(staging, "bin", "busybox"))
        names = []
        for name, path in module_order(modules_dir):
            shutil.copy(path, os.path.join(staging, "modules", name + ".ko"))
            names.append(name + ".ko")
        with open(os.path.join(staging, "modules.order"), "w") as handle:
            handle.write("\n".join(names) + "\n")
        with open(os.path.join(staging, "init"), "w") as handle:
            handle.write(_INIT)
        os.chmod(os.path.join(staging, "init"), 0o755)
        with gzip.open(image, "wb", compresslevel=1) as handle:
            handle.write(_newc_archive(staging))
    finally:
        shutil.rmtree(staging)
    return image


def run_in_guest(build, script, timeout=900):
    """Boot the guest and run `script` (sh, as root, in the host's filesystem) in it.

    Returns (exit status of the script or None when it never ran, console output,
    the out directory the guest could write to).
    """
    build = os.path.abspath(build)
    for private in ("/run/", "/var/lib/", "/mnt/"):  # the guest mounts its own over these
        if build.startswith(private):
            raise RuntimeError("the guest cannot see a checkout under %s (it has its own there): %s" % (private, build))
    vmlinuz, modules_dir = fetch_kernel(build)
    initramfs = build_initramfs(build, modules_dir)
    out = tempfile.mkdtemp(prefix="guest-out-", dir=build)
    with open(os.path.join(out, "run.sh"), "w") as handle:
        handle.write(script)
    console_path = os.path.join(out, "console.log")
    argv = ["qemu-system-x86_64", "-m", "2048", "-smp", "2", "-display", "none", "-no-reboot", "-nodefaults",
            "-serial", "file:" + console_path, "-kernel", vmlinuz, "-initrd", initramfs,
            "-append", "console=ttyS0 panic=-1 loglevel=4",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-virtfs", "local,path=%s,mount_tag=out,security_model=none,multidevs=remap" % out]
    global LAST_ACCELERATOR
    LAST_ACCELERATOR = accelerator()
    argv += ACCELERATORS[LAST_ACCELERATOR]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        problems = result.stdout + result.stderr
    except subprocess.TimeoutExpired:
        problems = "the guest did not finish within %d s" % timeout
    with open(console_path, errors="replace") as handle:
        console = handle.read() + problems
    status = re.search(r"GUEST-EXIT (\d+)", console)
    return (int(status.group(1)) if status else None), console, out


# KVM where it works (nested KVM may refuse the host CPU's MSRs: a plain model then), else software emulation.
ACCELERATORS = {"kvm": ["-accel", "kvm", "-cpu", "kvm64"], "tcg": ["-accel", "tcg", "-cpu", "max"]}


LAST_ACCELERATOR = None


def accelerator():
    """kvm when a guest really boots with it here (nested KVM may hang or refuse), tcg otherwise; never required."""
    if os.environ.get("GRIDNET_QEMU_ACCEL") in ACCELERATORS:
        return os.environ["GRIDNET_QEMU_ACCEL"]
    return "tcg"
