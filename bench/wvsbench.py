"""What bench/run and bench/soak share: the release binary, a fresh server, GraphQL calls."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(base, token, query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(base + "/api/graphql", data=body, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def metric(base, name):
    with urllib.request.urlopen(base + "/-/metrics") as response:
        text = response.read().decode()
    return int(re.search(r"^%s (\d+)$" % re.escape(name), text, re.M).group(1))


def cpu_seconds(pid):
    """The user and system CPU time a process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"%s:\s+(\d+)" % field, f.read()).group(1)) / 1024


class Server:
    """The release binary on a fresh data dir (and WVS_DATABASE_URL's database, if given)."""

    def __init__(self):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        self.binary = os.path.join(ROOT, "target", "release", "wvs")
        self.work = tempfile.mkdtemp(prefix="wvs-bench-")
        port = free_port()
        self.env = dict(os.environ, WVS_DATA_DIR=os.path.join(self.work, "data"),
                        WVS_LISTEN="127.0.0.1:%d" % port, RUST_LOG="warn")
        self.base = "http://127.0.0.1:%d" % port
        self.process = None

    def cli(self, *args):
        return subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True,
                              check=True).stdout.strip()

    def start(self):
        # BENCH_WRAP runs the server under a profiler, e.g. BENCH_WRAP="heaptrack -o /tmp/wvs"
        # (RSS figures are then the wrapper's, not the server's).
        wrap = os.environ.get("BENCH_WRAP", "").split()
        self.process = subprocess.Popen([*wrap, self.binary, "serve"], env=self.env, stderr=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL if wrap else None)
        for _ in range(400):
            try:
                urllib.request.urlopen(self.base + "/-/health")
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("the server did not start")

    def settle(self, quiet_for=0.3, at_most=10):
        """Waits until the server has run no database statement for `quiet_for` seconds
        (background writes queued by the previous load, such as last-used times, are done)."""
        deadline = time.monotonic() + at_most
        last = metric(self.base, "wvs_db_statements_total")
        while time.monotonic() < deadline:
            time.sleep(quiet_for)
            now = metric(self.base, "wvs_db_statements_total")
            if now == last:
                return
            last = now

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait()
        shutil.rmtree(self.work, ignore_errors=True)
