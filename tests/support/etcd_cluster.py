"""A real etcd cluster of three members (Debian's etcd-server) on loopback ports, for one test.

Every member is this test's own: its ports are free ones picked now, its name and
cluster token carry this process's PID, its data lives in the test's directory,
and it is stopped by PID. Nothing another test run or lab uses is touched.
"""

import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EtcdCluster(object):
    def __init__(self, directory, size=3):
        self.directory, self.tag = directory, "gridnet-test-%d-%d" % (os.getpid(), free_port())
        self.members = [{"name": "%s-%d" % (self.tag, i), "client": free_port(), "peer": free_port(),
                         "process": None} for i in range(size)]
        self.initial = ",".join("%s=http://127.0.0.1:%d" % (m["name"], m["peer"]) for m in self.members)

    @property
    def endpoints(self):
        return ["http://127.0.0.1:%d" % m["client"] for m in self.members]

    def start(self, index=None):
        for i, m in enumerate(self.members):
            if index is not None and i != index:
                continue
            data = os.path.join(self.directory, m["name"])
            log = open(os.path.join(self.directory, m["name"] + ".log"), "ab")
            m["process"] = subprocess.Popen(
                ["etcd", "--name", m["name"], "--data-dir", data,
                 "--listen-client-urls", "http://127.0.0.1:%d" % m["client"],
                 "--advertise-client-urls", "http://127.0.0.1:%d" % m["client"],
                 "--listen-peer-urls", "http://127.0.0.1:%d" % m["peer"],
                 "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % m["peer"],
                 "--initial-cluster", self.initial, "--initial-cluster-token", self.tag,
                 "--initial-cluster-state", "new" if not os.path.isdir(data) else "existing"],
                stdout=log, stderr=log, start_new_session=True)
            log.close()
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            healthy = 0
            for m in self.members:
                if m["process"] is None or m["process"].poll() is not None:
                    continue
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/health" % m["client"], timeout=1) as r:
                        healthy += json.loads(r.read()).get("health") in ("true", True)
                except OSError:
                    pass
            if healthy == sum(1 for m in self.members if m["process"] and m["process"].poll() is None):
                return
            time.sleep(0.2)
        raise RuntimeError("etcd cluster %s did not become healthy" % self.tag)

    def kill(self, index):
        process = self.members[index]["process"]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.members[index]["process"] = None

    def raw(self, prefix="/"):
        """Every key and value under prefix, as etcd holds them."""
        out = subprocess.run(["etcdctl", "--endpoints", ",".join(self.endpoints), "get", "--prefix", prefix,
                              "-w", "json"], capture_output=True, text=True, check=True,
                             env=dict(os.environ, ETCDCTL_API="3")).stdout

        return [(base64.b64decode(kv["key"]), base64.b64decode(kv.get("value", "")))
                for kv in json.loads(out).get("kvs") or []]

    def stop(self):
        for i, m in enumerate(self.members):
            if m["process"] is not None:
                self.kill(i)
