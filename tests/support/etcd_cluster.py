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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificates(directory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, with openssl: {ca, cert, key,
    client_cert, client_key} paths."""
    paths = {name: os.path.join(directory, name + ".pem") for name in
             ("ca", "ca_key", "cert", "key", "client_cert", "client_key")}

    def openssl(*argv):
        subprocess.run(["openssl"] + list(argv), capture_output=True, check=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=gridnet-test-ca",
            "-keyout", paths["ca_key"], "-out", paths["ca"])
    for cert, key, subject, extension in (("cert", "key", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"),
                                          ("client_cert", "client_key", "/CN=gridnet", "extendedKeyUsage=clientAuth")):
        request = os.path.join(directory, cert + ".csr")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", paths[key], "-out", request)
        extfile = os.path.join(directory, cert + ".ext")
        with open(extfile, "w") as handle:
            handle.write(extension + "\n")
        openssl("x509", "-req", "-in", request, "-CA", paths["ca"], "-CAkey", paths["ca_key"], "-CAcreateserial",
                "-days", "1", "-out", paths[cert], "-extfile", extfile)
    return paths


class EtcdCluster(object):
    def __init__(self, directory, size=3, tls=None, extra=()):
        """tls: make_certificates()' paths: clients then speak https and must show a certificate of the CA.
        extra: more etcd flags (limits, say)."""
        self.extra = list(extra)
        self.directory, self.tag = directory, "gridnet-test-%d-%d" % (os.getpid(), free_port())
        self.tls, self.scheme = tls, "https" if tls else "http"
        self.members = [{"name": "%s-%d" % (self.tag, i), "client": free_port(), "peer": free_port(),
                         "process": None} for i in range(size)]
        self.initial = ",".join("%s=http://127.0.0.1:%d" % (m["name"], m["peer"]) for m in self.members)

    @property
    def endpoints(self):
        return ["%s://127.0.0.1:%d" % (self.scheme, m["client"]) for m in self.members]

    def start(self, index=None):
        for i, m in enumerate(self.members):
            if index is not None and i != index:
                continue
            data = os.path.join(self.directory, m["name"])
            log = open(os.path.join(self.directory, m["name"] + ".log"), "ab")
            m["process"] = subprocess.Popen(
                ["etcd", "--name", m["name"], "--data-dir", data,
                 "--listen-client-urls", "%s://127.0.0.1:%d" % (self.scheme, m["client"]),
                 "--advertise-client-urls", "%s://127.0.0.1:%d" % (self.scheme, m["client"]),
                 "--listen-peer-urls", "http://127.0.0.1:%d" % m["peer"],
                 "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % m["peer"],
                 "--initial-cluster", self.initial, "--initial-cluster-token", self.tag,
                 "--initial-cluster-state", "new" if not os.path.isdir(data) else "existing"]
                + (["--cert-file", self.tls["cert"], "--key-file", self.tls["key"], "--client-cert-auth",
                    "--trusted-ca-file", self.tls["ca"]] if self.tls else []) + self.extra,
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
                result = subprocess.run(self.etcdctl("endpoint", "health", endpoint="%s://127.0.0.1:%d"
                                                     % (self.scheme, m["client"])), capture_output=True, check=False,
                                        env=dict(os.environ, ETCDCTL_API="3"))
                healthy += result.returncode == 0
            if healthy == sum(1 for m in self.members if m["process"] and m["process"].poll() is None):
                return
            time.sleep(0.2)
        raise RuntimeError("etcd cluster %s did not become healthy" % self.tag)

    def kill(self, index):
        process = self.members[index]["process"]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.members[index]["process"] = None

    def etcdctl(self, *argv, endpoint=None):
        tls = ["--cacert", self.tls["ca"], "--cert", self.tls["client_cert"], "--key", self.tls["client_key"]] \
            if self.tls else []
        return ["etcdctl", "--endpoints", endpoint or ",".join(self.endpoints)] + tls + list(argv)

    def raw(self, prefix="/"):
        """Every key and value under prefix, as etcd holds them."""
        out = subprocess.run(self.etcdctl("get", "--prefix", prefix, "-w", "json"), capture_output=True, text=True,
                             check=True, env=dict(os.environ, ETCDCTL_API="3")).stdout

        return [(base64.b64decode(kv["key"]), base64.b64decode(kv.get("value", "")))
                for kv in json.loads(out).get("kvs") or []]

    def stop(self):
        for i, m in enumerate(self.members):
            if m["process"] is not None:
                self.kill(i)
