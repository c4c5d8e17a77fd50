"""What a deploy costs the plugin, measured on the sandbox (medians of several runs); not a test.

    .venv/bin/python bench/run.py [--runs N] [--apps N] [--out docs/benchmark.md]

Every figure comes from the Dokku test double's trace (DOKKU_DOUBLE_TRACE: one line per trigger call, with its
wall time and the peak RSS of its process tree, and one per `dokku` command, its word only) and from the plugin's
own run records (each run's time split into Ansible's start, each role, the packager's steps).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ansible_dokku_deploy import COLLECTIONS_PATH
from ansible_dokku_deploy.packaging import ENV_FILE, TREES
from ansible_dokku_deploy.runner import strategy_env

REPO = Path(__file__).resolve().parent.parent
SANDBOX = REPO / "scripts" / "sandbox"
PLUGIN = "ansible-deploy"
READS = re.compile(r"(:(report|export|get|exists|list|linked|info|keys|list-entries)|^git-hook|^ansible-deploy:.*)$")
VAULT_PASSWORD = "hello-vault-demo"  # noqa: S105  # the example's published demo password (examples/hello)


class Box:
    """One sandbox Dokku with a trace file."""

    def __init__(self, *, services: bool, strategy: str = "mitogen") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ansible-deploy-bench-"))
        self.root.chmod(0o755)
        self.trace = self.root / "trace.jsonl"
        self.trace.touch()
        self.trace.chmod(0o666)  # written by the dokku user's processes too
        os.environ["DOKKU_DOUBLE_TRACE"] = str(self.trace)
        subprocess.run([sys.executable, SANDBOX, "init", self.root], check=True, capture_output=True)
        if services:
            subprocess.run([sys.executable, SANDBOX, "services", self.root, "up"], check=True, capture_output=True)
        self.dokku("ansible-deploy:set", "--global", "ansible-strategy", strategy)

    def dokku(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [self.root / "bin" / "dokku", *args], input=stdin, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            sys.exit(f"dokku {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def admit(self, app: str) -> None:
        self.dokku("apps:create", app)
        self.dokku("ansible-deploy:set", app, "allow-custom-steps", "true")
        self.dokku("ansible-deploy:vault-password", app, stdin=VAULT_PASSWORD)

    def push(self, app: str, src: Path) -> tuple[float, float, list[dict[str, Any]]]:
        """Push src; the wall time, the CPU time of the push's process tree (hooks, Ansible, the double, git: all
        but the app's own processes and nginx, which run detached) and the trace events it caused."""
        mark = self.trace.stat().st_size
        took, cpu = timed([sys.executable, SANDBOX, "push", self.root, app, src])
        with self.trace.open() as f:
            f.seek(mark)
            return took, cpu, [json.loads(line) for line in f]

    def timed(self, *args: str) -> tuple[float, float]:
        """A dokku command's wall time and the CPU time of its process tree."""
        return timed([self.root / "bin" / "dokku", *args])

    def runs(self, app: str) -> list[dict[str, Any]]:
        folder = self.root / "var" / "lib" / "dokku" / "data" / "ansible" / app / "runs"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]

    def down(self) -> None:
        subprocess.run([sys.executable, SANDBOX, "down", self.root], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def timed(argv: list[Any]) -> tuple[float, float]:
    """Run argv to its end: its wall time and the CPU time of its process tree (what it waited for); its output
    is shown only when it fails."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as said:
        process = subprocess.Popen(argv, stdout=said, stderr=said)
        _pid, status, usage = os.wait4(process.pid, 0)
        took, cpu = time.monotonic() - started, usage.ru_utime + usage.ru_stime
        if status:
            said.seek(0)
            sys.exit(f"{' '.join(map(str, argv[1:]))} failed:\n{said.read()}")
    return took, cpu


def app_source(tmp: Path, name: str, base: str = "hello", **changes: Any) -> Path:
    src = tmp / name
    shutil.copytree(REPO / "examples" / base, src)
    spec = {**yaml.safe_load((src / "env.yml").read_text()), **changes}  # a None value drops the key
    (src / "env.yml").write_text(yaml.safe_dump({k: v for k, v in spec.items() if v is not None}, sort_keys=False))
    return src


def plain_source(tmp: Path, name: str) -> Path:
    """The example's app without its packaging files: an app the plugin does not provision."""
    src = tmp / name
    shutil.copytree(REPO / "examples" / "hello", src, ignore=shutil.ignore_patterns(ENV_FILE, *TREES))
    return src


def plugin_seconds(events: list[dict[str, Any]]) -> float:
    return sum(e["seconds"] for e in events if e.get("plugin") == PLUGIN)


def seconds_by_trigger(events: list[dict[str, Any]]) -> dict[str, float]:
    return {e["trigger"]: e["seconds"] for e in events if e.get("plugin") == PLUGIN}


def writes(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["command"] for e in events if "command" in e and not READS.search(e["command"]))


def peak_mb(events: list[dict[str, Any]]) -> float:
    return max((e["maxrss_kb"] for e in events if e.get("plugin") == PLUGIN), default=0) / 1024


KEEP = 3  # the full example's backups.keep


def full_deploy(tmp: Path, runs: int, strategy: str = "mitogen") -> dict[str, Any]:
    """The full example: ports, domains, settings, snippets, DNS, TLS from Pebble, database, backups, monitoring;
    then its backups, up to keep and one past it."""
    firsts, noops, plains, breakdowns, backups = [], [], [], [], []
    for i in range(runs):
        box = Box(services=True, strategy=strategy)
        try:
            app = f"full{strategy}{i}"
            src = app_source(
                tmp,
                app,
                domains=[f"{app}.example.test"],
                database={"engine": "postgres"},
                backups={"schedule": "30 3 * * *", "keep": KEEP},
            )
            box.admit(app)
            took, cpu, events = box.push(app, src)
            records = box.runs(app)
            firsts.append(
                {
                    "push": took,
                    "cpu": cpu,
                    "plugin": plugin_seconds(events),
                    "runs": Counter(r["phase"] for r in records),
                    "writes": writes(events),
                    "peak_mb": peak_mb(events),
                }
            )
            breakdowns.append(
                {r["phase"]: {**r["timings"], "run": r["finished_at"] - r["started_at"]} for r in records}
            )
            for _ in range(3):
                took, cpu, events = box.push(app, src)  # the same tree again: nothing changed
                noops.append(
                    {
                        "push": took,
                        "cpu": cpu,
                        "plugin": plugin_seconds(events),
                        "by_trigger": seconds_by_trigger(events),
                        "runs": len(box.runs(app)) - len(records),
                        "writes": writes(events),
                        "peak_mb": peak_mb(events),
                    }
                )
            for n in range(KEEP + 1):  # restic is asked to forget old ones only past keep
                took, cpu = box.timed("ansible-deploy:backup", app)
                backups.append({"past_keep": n == KEEP, "took": took, "cpu": cpu})
            plain = f"plain{strategy}{i}"
            box.dokku("apps:create", plain)
            for n in range(3):
                _, _, events = box.push(plain, plain_source(tmp, f"{plain}-{n}"))
                plains.append(
                    {
                        "plugin": plugin_seconds(events),
                        "by_trigger": seconds_by_trigger(events),
                    }
                )
        finally:
            box.down()
    return {"first": firsts, "noop": noops, "plain": plains, "breakdown": breakdowns, "backups": backups}


TASKS = 40


def per_task(tmp: Path, runs: int) -> dict[str, dict[str, list[float]]]:
    """Ansible's own cost by strategy, with the plugin's own settings for it: per task (a run of TASKS `ping`
    tasks less a run of one, over the TASKS - 1 more: ping does nothing in its module, so what is left is Ansible's)
    and per run (a run of one `ping`: the start, the strategy's set-up, its first connection and the exit, which
    every run pays however small)."""

    def playbook(n: int) -> Path:
        path = tmp / f"tasks-{n}.yml"
        tasks = [{"name": f"Ping {i}", "ansible.builtin.ping": {}} for i in range(n)]
        path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        return path

    def runs_at_once(env: dict[str, str], n: int, count: int = 1) -> tuple[float, float]:
        """Wall time of count runs of n tasks started together, and the CPU time they used."""
        argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                "-e", f"ansible_python_interpreter={sys.executable}", str(playbook(n))]  # fmt: skip
        started = time.monotonic()
        procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(count)]  # fmt: skip
        ended = [os.wait4(p.pid, 0) for p in procs]
        if any(status for _pid, status, _usage in ended):
            sys.exit(f"a run of {n} tasks failed")
        return time.monotonic() - started, sum(u.ru_utime + u.ru_stime for _pid, _status, u in ended)

    costs: dict[str, dict[str, list[float]]] = {}
    for strategy in ("mitogen", "linear"):
        env = {**os.environ, **strategy_env(strategy), "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
               "ANSIBLE_HOME": str(tmp / "ansible"), "ANSIBLE_NOCOLOR": "1"}  # fmt: skip
        for _ in range(runs):
            (one, one_cpu), (many, _) = runs_at_once(env, 1), runs_at_once(env, TASKS)
            costs.setdefault(strategy, {}).setdefault("task", []).append((many - one) / (TASKS - 1))
            costs[strategy].setdefault("run", []).append(one)
            costs[strategy].setdefault("run_cpu", []).append(one_cpu)
            costs[strategy].setdefault("alone", []).append(many)
            costs[strategy].setdefault("two", []).append(runs_at_once(env, TASKS, count=2)[0])
    return costs


def scale(tmp: Path, runs: int) -> dict[str, Any]:
    """1,000 settings and 100 domains against 10 settings and one domain: a pre-deploy run each, no TLS."""
    box = Box(services=False)
    results: dict[str, list[dict[str, Any]]] = {"small": [], "large": []}
    try:
        for i in range(runs):
            for size, settings, domains in (("small", 10, 1), ("large", 1000, 100)):
                app = f"{size}{i}"
                src = app_source(
                    tmp,
                    app,
                    base="notes",
                    env={f"SETTING_{n:04d}": f"value {n}" for n in range(settings)},
                    domains=[f"d{n}.{app}.example.test" for n in range(domains)],
                    tls="none",
                    database=None,
                    backups=None,
                    storage=None,
                )
                took, cpu, events = box.push(app, src)
                pre = next(r for r in box.runs(app) if r["phase"] == "pre-deploy")
                results[size].append(
                    {
                        "push": took,
                        "cpu": cpu,
                        "pre_deploy": pre["finished_at"] - pre["started_at"],
                        "writes": writes(events),
                        "peak_mb": peak_mb(events),
                    }
                )
    finally:
        box.down()
    return results


def report(tmp: Path, runs: int, apps: int) -> dict[str, Any]:
    """ansible-deploy:report for every app of a server with `apps` apps, each with a staged release and runs."""
    box = Box(services=False)
    try:
        src = app_source(tmp, "r0", base="notes", database=None, backups=None, tls="none", domains=["r0.example.test"])
        box.push("r0", src)
        data = box.root / "var" / "lib" / "dokku" / "data" / "ansible"
        for i in range(1, apps):
            box.dokku("apps:create", f"r{i}")
            shutil.copytree(data / "r0", data / f"r{i}", symlinks=True)
        subprocess.run(["chown", "-R", "dokku:dokku", data], check=False)
        times, json_times, peaks = [], [], []
        for _ in range(runs):
            for fmt, into in ((("--format", "stdout"), times), (("--format", "json"), json_times)):
                started = time.monotonic()
                process = subprocess.Popen(
                    [box.root / "bin" / "dokku", "ansible-deploy:report", *fmt], stdout=subprocess.DEVNULL
                )
                _pid, _status, usage = os.wait4(process.pid, 0)
                into.append(time.monotonic() - started)
                peaks.append(usage.ru_maxrss / 1024)
        return {"apps": apps, "stdout": times, "json": json_times, "peak_mb": max(peaks)}
    finally:
        box.down()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _joined(values: dict[str, Any], fmt: str = "{}") -> str:
    return ", ".join(f"{key} {fmt.format(value)}" for key, value in values.items())


def _hooks(pushes: list[dict[str, Any]]) -> str:
    """The median of the plugin's time across a push's hooks, then each hook's median."""
    by_trigger: dict[str, list[float]] = {}
    for push in pushes:
        for trigger, seconds in push["by_trigger"].items():
            by_trigger.setdefault(trigger, []).append(seconds)
    split = _joined({t: median(v) for t, v in sorted(by_trigger.items())}, "{:.2f}")
    return f"{median([p['plugin'] for p in pushes]):.2f} ({split})"


def _wall_cpu(pushes: list[dict[str, Any]]) -> str:
    return f"{median([p['push'] for p in pushes]):.2f}, {median([p['cpu'] for p in pushes]):.2f}"


def table(results: dict[str, Any], runs: int) -> str:
    full, noop, plain = results["full"]["first"], results["full"]["noop"], results["full"]["plain"]
    backups = results["full"]["backups"]
    sc, rep = results["scale"], results["report"]
    first_writes: Counter[str] = Counter()
    for f in full:
        first_writes |= f["writes"]
    phases: dict[str, dict[str, list[float]]] = {}
    for b in results["full"]["breakdown"]:
        for phase, timing in b.items():
            for key, value in timing.items():
                phases.setdefault(phase, {}).setdefault(key, []).append(value)
    small, large = median([r["pre_deploy"] for r in sc["small"]]), median([r["pre_deploy"] for r in sc["large"]])
    large_writes = sc["large"][0]["writes"]
    rows = [
        ("no-op redeploy: the plugin's time across its hooks, seconds", "<= 0.15", _hooks(noop)),
        ("push of an app without packaging files: the plugin's time across its hooks, seconds", "", _hooks(plain)),
        (
            "no-op redeploy: Ansible runs, Dokku write commands",
            "0, 0",
            f"{max(n['runs'] for n in noop)}, {sum(sum(n['writes'].values()) for n in noop)}",
        ),
        (
            "no-op redeploy: whole push (the double's build and container start too), seconds (wall, CPU)",
            "",
            _wall_cpu(noop),
        ),
        (
            "small first deploy (10 settings, one domain, no TLS): whole push, seconds (wall, CPU)",
            "",
            _wall_cpu(sc["small"]),
        ),
        ("full first deploy: whole push, seconds (wall, CPU)", "", _wall_cpu(full)),
        ("full first deploy: Ansible runs per phase", "1", _joined(dict(sorted(full[0]["runs"].items())))),
        ("full first deploy: Dokku write commands per kind", "<= 1", _joined(dict(sorted(first_writes.items())))),
        (
            f"backup of the full example (`ansible-deploy:backup`), up to keep ({KEEP}); past it: seconds (wall, CPU)",
            "",
            "; ".join(
                f"{median([b['took'] for b in done]):.2f}, {median([b['cpu'] for b in done]):.2f}"
                for done in ([b for b in backups if b["past_keep"] == past] for past in (False, True))
            ),
        ),
    ]
    targets = {"pre-deploy": "<= 2.0", "post-deploy": "<= 2.5"}
    for phase, timing in sorted(phases.items()):
        spent = {k: median(v) for k, v in sorted(timing.items(), key=lambda kv: -median(kv[1]))}
        rows.append((f"full first deploy: {phase} run, seconds", targets.get(phase, ""), _joined(spent, "{:.2f}")))
    for phase in sorted(phases):
        linear = median([b[phase]["run"] for b in results["full_linear"]["breakdown"] if phase in b])
        rows.append((f"full first deploy, `ansible-strategy linear`: {phase} run, seconds", "", f"{linear:.2f}"))
    per = {strategy: median(costs["task"]) for strategy, costs in results["per_task"].items()}
    rows.append((f"Ansible's cost per task ({TASKS} `ping` tasks less one, over {TASKS - 1}), seconds", "<= 0.05",
                 _joined(per, "{:.3f}")))  # fmt: skip
    fixed = {strategy: f"{median(costs['run']):.2f} ({median(costs['run_cpu']):.2f} CPU)"
             for strategy, costs in results["per_task"].items()}  # fmt: skip
    rows.append(("Ansible's cost of the smallest run (one `ping` task, start to exit), seconds (wall, CPU)", "",
                 _joined(fixed)))  # fmt: skip
    pairs = {strategy: f"{median(costs['two']):.2f} against {median(costs['alone']):.2f}"
             for strategy, costs in results["per_task"].items()}  # fmt: skip
    rows.append((f"two runs of {TASKS} `ping` tasks started together, against one run alone, seconds",
                 "", _joined(pairs)))  # fmt: skip
    rows += [
        ("1,000 settings + 100 domains: config:import, domains:set commands", "1, 1",
         f"{large_writes['config:import']}, {large_writes['domains:set']}"),
        ("1,000 settings + 100 domains: pre-deploy run against 10 settings, seconds", "< 2 times",
         f"{large:.2f} against {small:.2f} ({large / small:.2f} times)"),
        (f"ansible-deploy:report for {rep['apps']} apps (stdout, json), seconds", "< 1",
         f"{median(rep['stdout']):.2f}, {median(rep['json']):.2f}"),
        ("peak RSS of a hook without Ansible (no-op redeploy), MB", "< 100", f"{max(n['peak_mb'] for n in noop):.0f}"),
        (f"peak RSS of ansible-deploy:report for {rep['apps']} apps, MB", "< 100", f"{rep['peak_mb']:.0f}"),
        ("peak RSS of a hook's process tree with Ansible (first deploy), MB", "",
         f"{max(f['peak_mb'] for f in full):.0f}"),
    ]  # fmt: skip
    lines = ["| measure | target | result |", "| --- | --- | --- |", *(f"| {m} | {t} | {r} |" for m, t, r in rows)]
    command = " ".join(["bench/run.py", *sys.argv[1:]])
    return "\n".join(lines) + f"\n\nMedians of {runs} runs, `.venv/bin/python {command}`.\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--apps", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "per_task": per_task(Path(tmp), args.runs),
            "full": full_deploy(Path(tmp), args.runs),
            "full_linear": full_deploy(Path(tmp), args.runs, "linear"),
            "scale": scale(Path(tmp), args.runs),
            "report": report(Path(tmp), args.runs, args.apps),
        }
    text = table(results, args.runs)
    print(text)
    if args.out:
        page = args.out.read_text()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        before, _, rest = page.partition(start)
        _, _, after = rest.partition(end)
        args.out.write_text(f"{before}{start}\n{text}{end}{after}")


if __name__ == "__main__":
    main()
