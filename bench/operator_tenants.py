"""Operator benchmark: 100 Tenants created at once, against a baseline measured in the same run.

    .venv/bin/python -m bench.operator_tenants [--tenants 100] [--record]

On the harness's real control plane (`hack/cluster up`: etcd, kube-apiserver, controller-
manager, scheduler, kwok) and FerretDB with authentication (`hack/ferretdb up --auth`), it runs
`python -m mozaiks_operator` with the chart's RBAC and ServiceAccount token, creates N Tenants
concurrently and reports:

- time until every Tenant has all its children applied (status.observedGeneration, Degraded
  False) and until every Tenant is Ready (its Deployment available on the kwok node);
- reconcile time per pass (from the operator's log: one line per pass) and passes per Tenant;
- the operator's peak memory (VmHWM);
- the time to delete them all (finalizer: children removed, databases dropped).

Baseline: the same child manifests (the operator's own pure builders, owner references
stripped) server-side applied by a bare client with the same concurrency, with no database
work, no reads and no status: the floor of the API traffic. Ratio = operator / baseline.
Services it started (cluster, FerretDB) are stopped at the end; running ones are reused.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.harness.kube import KubeCluster
from tests.integration.operator.kapi import Api, path

from mozaiks_operator.model.tenant import Tenant
from mozaiks_operator.specs.credentials import DatabaseCredentials
from mozaiks_operator.specs.desired import Environment, desired_children
from mozaiks_operator.specs.workflows import Selection

ROOT = Path(__file__).resolve().parent.parent
BIN = Path.home() / ".cache" / "mozaiks" / "bin"
SYSTEM_NS, SA = "mozaiks-system", "mzbench-operator"
CONCURRENCY = 16
PASS_LINE = re.compile(r"tenant (\S+)/(\S+) reconciled in ([0-9.]+) ms \((\w+)\)")


def sh(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> str:
    return subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
        env={**os.environ, **(env or {})},
        input=input,
    ).stdout


def exports(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            out[key] = value.strip("'\"")
    return out


class Service:
    """A hack/ script's service: reused when running, else started and stopped by us."""

    def __init__(self, script: str, *flags: str) -> None:
        self.cmd, self.flags = [str(ROOT / "hack" / script)], list(flags)
        status = subprocess.run(
            [*self.cmd, "status", *flags], capture_output=True, text=True, check=False
        )
        self.started = status.returncode != 0
        self.env = (
            exports(status.stdout) if not self.started else exports(sh(*self.cmd, "up", *flags))
        )

    def down(self) -> None:
        if self.started:
            sh(*self.cmd, "down", *self.flags)


def setup_operator_access(cluster: KubeCluster, workdir: Path) -> Path:
    kubectl = [str(BIN / "kubectl"), "--kubeconfig", str(cluster.kubeconfig)]
    sh(*kubectl, "apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    sh(*kubectl, "wait", "--for", "condition=established", "crd/tenants.mozaiks.ai")
    if subprocess.run(
        [*kubectl, "get", "ns", SYSTEM_NS], capture_output=True, check=False
    ).returncode:
        sh(*kubectl, "create", "ns", SYSTEM_NS)
    rbac = sh(
        str(BIN / "helm"),
        "template",
        "mzbench",
        str(ROOT / "charts" / "mozaiks"),
        "--namespace",
        SYSTEM_NS,
        "--show-only",
        "templates/rbac.yaml",
        "--show-only",
        "templates/serviceaccount.yaml",
    )
    sh(*kubectl, "apply", "-f", "-", input=rbac)
    token = cluster.service_account_token(SYSTEM_NS, SA, duration=3600)
    return cluster.write_kubeconfig(workdir / "operator.kubeconfig", token)


def tenant(ns: str, i: int, tag: str) -> dict[str, Any]:
    return {
        "apiVersion": "mozaiks.ai/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": f"t{i:03d}", "namespace": ns},
        "spec": {
            "appId": f"b{tag}-{i:03d}",
            "deletionPolicy": "Delete",
            "auth": {"secretRef": {"name": "jwt", "key": "secret"}},
            "ingress": {"host": f"t{i:03d}.bench.example"},
        },
    }


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tally(api: Api, ns: str) -> tuple[int, int]:
    applied = ready = 0
    for item in api.list("Tenant", ns):
        status = item.get("status") or {}
        conds = {c["type"]: c["status"] for c in status.get("conditions") or []}
        if status.get("observedGeneration") == 1 and conds.get("Degraded") == "False":
            applied += 1
        if conds.get("Ready") == "True":
            ready += 1
    return applied, ready


def baseline(api: Api, ns: str, n: int, tag: str) -> float:
    """Server-side apply of the same children with no operator logic around it."""
    objs = []
    for i in range(n):
        body = tenant(ns, i, tag)
        body["metadata"].update(uid=f"base-{i}", generation=1)
        t = Tenant.from_body(body)
        creds = DatabaseCredentials(
            t.spec.database_name,
            t.spec.database_user,
            secrets.token_urlsafe(24),
            "mongodb://u:p@h:27017/db",
        )
        for child in desired_children(
            t, Selection((), {}), Environment("img", "ingress-nginx", 27017, None, creds)
        ).children:
            child["metadata"].pop("ownerReferences")
            objs.append(child)
    http = api._http  # the same connection pool settings as the measurement client

    def apply(obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        resp = http.patch(
            path(obj["kind"], meta["namespace"], meta["name"]),
            json=obj,
            params={"fieldManager": "bench-baseline", "force": "true"},
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        resp.raise_for_status()

    # In tenant order, like the operator (each tenant's children one after another).
    started = time.perf_counter()
    per_tenant = len(objs) // n
    groups = [objs[i * per_tenant : (i + 1) * per_tenant] for i in range(n)]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda g: [apply(o) for o in g], groups))
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run(n: int, workdir: Path) -> dict[str, Any]:
    cluster_svc = Service("cluster")
    ferret = Service("ferretdb", "--auth")
    cluster = KubeCluster.from_state(Path(cluster_svc.env["MOZAIKS_KUBE_STATE"]), BIN)
    api = Api(cluster)
    tag = secrets.token_hex(2)
    ns, base_ns = f"bench-op-{tag}", f"bench-base-{tag}"
    proc = None
    try:
        kubeconfig = setup_operator_access(cluster, workdir)
        for name in (ns, base_ns):
            cluster.create_namespace(name)
        api.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "jwt"},
                "stringData": {"secret": "bench-secret-0123456789abcdef0123"},
            },
            ns,
        )
        log = workdir / "operator.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOZAIKS_OPERATOR_")}
        env.update(
            {
                "KUBECONFIG": str(kubeconfig),
                "MOZAIKS_OPERATOR_ADMIN_MONGO_URI": ferret.env["MOZAIKS_MONGO_ADMIN_URI"],
                "MOZAIKS_OPERATOR_NAMESPACE": SYSTEM_NS,
                "MOZAIKS_OPERATOR_LEASE_NAME": f"bench-{tag}",
                "MOZAIKS_OPERATOR_DRIFT_SECONDS": "600",  # the timer must not pad the figures
            }
        )
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mozaiks_operator", "-n", ns],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
            )
        deadline = time.monotonic() + 60
        while "acquired" not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("operator did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.2)
        time.sleep(2)  # kopf's watches are up
        idle_kib = vm_hwm_kib(proc.pid)
        cpu_before = cpu_seconds(proc.pid)

        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(lambda i: api.create(tenant(ns, i, tag)), range(n)))
        created = time.perf_counter() - started
        t_applied = t_ready = None
        ready = 0
        # Ready needs every pod Ready on the kwok node; under heavy load the node's heartbeat
        # can lapse and the node controller marks pods NotReady for good, so Ready has a cap.
        while time.perf_counter() - started < (t_applied or 600) + 300:
            applied, ready = tally(api, ns)
            now = time.perf_counter() - started
            if t_applied is None and applied == n:
                t_applied = now
            if ready == n:
                t_ready = now
                break
            time.sleep(0.5)
        peak_kib = vm_hwm_kib(proc.pid)
        cpu = cpu_seconds(proc.pid) - cpu_before

        passes: dict[str, list[float]] = {}
        for m in PASS_LINE.finditer(log.read_text(errors="replace")):
            if m.group(1) == ns:
                passes.setdefault(m.group(2), []).append(float(m.group(3)))
        first = [v[0] for v in passes.values()]
        every = [x for v in passes.values() for x in v]

        del_started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(lambda i: api.delete("Tenant", ns, f"t{i:03d}"), range(n)))
        while api.list("Tenant", ns) and time.perf_counter() - del_started < 600:
            time.sleep(0.5)
        deleted = time.perf_counter() - del_started

        base = baseline(api, base_ns, n, tag)
        return {
            "tenants": n,
            "create_s": created,
            "applied_s": t_applied,
            "ready_s": t_ready,
            "delete_s": deleted,
            "ready": ready,
            "cpu_s": cpu,
            "baseline_s": base,
            "first_pass_ms": (
                statistics.median(first) if first else 0,
                pct(first, 0.95),
                max(first, default=0),
            ),
            "pass_ms": (statistics.median(every) if every else 0, pct(every, 0.95)),
            "passes_per_tenant": len(every) / max(1, len(passes)),
            "idle_mib": idle_kib / 1024,
            "peak_mib": peak_kib / 1024,
        }
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        for item in api.list("Tenant", ns):  # interrupted: let the namespace go without us
            api.patch("Tenant", ns, item["metadata"]["name"], {"metadata": {"finalizers": None}})
        for name in (ns, base_ns):
            cluster.delete_namespace(name)
        api.close()
        ferret.down()
        cluster_svc.down()


def report(r: dict[str, Any]) -> str:
    ratio = (r["applied_s"] / r["baseline_s"]) if r["applied_s"] and r["baseline_s"] else 0
    fp, ap = r["first_pass_ms"], r["pass_ms"]
    return "\n".join(
        [
            f"tenants created at once:            {r['tenants']} "
            f"(POSTs took {r['create_s']:.1f} s)",
            f"all children applied (status):      {r['applied_s']:.1f} s"
            if r["applied_s"]
            else "all children applied (status):      not reached",
            f"all Ready (Deployments available):  {r['ready_s']:.1f} s"
            if r["ready_s"]
            else f"all Ready (Deployments available):  not reached ({r['ready']} Ready)",
            f"baseline: bare SSA of same children: {r['baseline_s']:.1f} s  -> ratio x{ratio:.1f}",
            f"first reconcile pass per tenant:    p50 {fp[0]:.0f} ms, p95 {fp[1]:.0f} ms, "
            f"max {fp[2]:.0f} ms",
            f"every pass (incl. child events):    p50 {ap[0]:.0f} ms, p95 {ap[1]:.0f} ms, "
            f"{r['passes_per_tenant']:.1f} passes per tenant",
            f"operator memory:                    {r['idle_mib']:.0f} MiB idle, "
            f"{r['peak_mib']:.0f} MiB peak (VmHWM)",
            f"operator CPU until then:            {r['cpu_s']:.1f} s "
            f"({r['cpu_s'] / r['tenants'] * 1000:.0f} ms per tenant)",
            f"delete all (finalizer, DB dropped): {r['delete_s']:.1f} s",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mozaiks-bench-operator-"))
    text = report(run(args.tenants, workdir))
    sys.stdout.write(text + "\n")
    if args.record:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(
                f"\n## Operator: {args.tenants} Tenants at once ({when})\n\n"
                f"    .venv/bin/python -m bench.operator_tenants --tenants {args.tenants}"
                f" --record\n\n```text\n{text}\n```\n"
            )


if __name__ == "__main__":
    main()
