#!/usr/bin/env python3
"""Measure the balance of `mono ci plan` and what a transfer between shards costs.

    bench/shard_balance.py [--mono PATH] [--server PATH] [--packages 1000] [--workdir DIR]
                           [--shards 2,4,8] [--out-json FILE]

On the benchmark repository (bench/genrepo.py, where every package depends on `core`):

1. **Record.** `mono build --concurrency 2` against a `mono-cache-server` on loopback, with
   `--profile`: every task's duration lands in the remote's durations index, and the trace
   gives each upload's time.
2. **Restore.** A second clone runs the same build from the remote cache alone (its local
   cache empty), with `--profile`: each task's `remote cache: fetch` and
   `restore outputs` spans give what taking a result from another machine costs, against
   the artifact's size on the server.
3. **Plan.** Another commit (so that every time comes from the durations index, none is a
   hit) is planned with `mono ci plan build --shards N --concurrency 1 --json` for each N:
   the longest shard, the lower bound max(total ÷ N, longest chain) and the bound that also
   counts the first transfer.

It prints the transfer figures and the balance table (docs/ci.md, "Figures") and, with
--out-json, writes everything measured, the plans included. Debug or release binaries both
work; the durations recorded are the shell scripts' own times either way.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import genrepo  # noqa: E402


def run(cmd, cwd, env=None):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def start_server(binary, store):
    server = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--token", "bench", "--dir", store],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    for line in server.stdout:
        # The server logs JSON lines; one says where it listens.
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == "listening":
            # Keep reading its log, so that the pipe never fills.
            threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
            return server, f"http://{entry['addr']}"
    sys.exit("mono-cache-server did not say where it listens")


def spans(trace_path):
    """Per task, the total of each span name inside its slot, in ms."""
    with open(trace_path) as f:
        trace = json.load(f)
    per_task = {}
    for event in trace["traceEvents"]:
        if event.get("ph") != "X":
            continue
        args = event.get("args") or {}
        task = args.get("task")
        name = event["name"]
        if event.get("cat") == "upload":
            task, name = name.removeprefix("upload "), "upload"
        if not task:
            continue
        bucket = per_task.setdefault(task, {})
        bucket[name] = bucket.get(name, 0.0) + event.get("dur", 0.0) / 1000.0
    return per_task


def percentile(values, p):
    values = sorted(values)
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def fixture(path):
    """crates/mono-tasks/tests/data/bench-1000-build.txt from an --out-json file."""
    with open(path) as f:
        plans = json.load(f)["plans"]
    tasks = next(iter(plans.values()))["tasks"]
    index = {t["taskId"]: i for i, t in enumerate(tasks)}
    lines = [
        "# The durations a real `mono build --concurrency 2` of the 1,000-package benchmark repository",
        f"# recorded (bench/genrepo.py; written by bench/shard_balance.py --to-fixture, {time.strftime('%Y-%m-%d')}).",
        "# One task a line, in task-id order: task id, recorded time in ms, indices (0-based lines of",
        "# this list) of the tasks it depends on. Read by tests/balance.rs.",
    ]
    for t in tasks:
        deps = ",".join(str(index[d]) for d in t["dependencies"])
        lines.append(f"{t['taskId']} {t['costMs']} {deps}".rstrip())
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    parser.add_argument("--mono", default=os.path.join(target, "debug", "mono"))
    parser.add_argument("--server", default=os.path.join(target, "debug", "mono-cache-server"))
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--shards", default="2,4,8")
    parser.add_argument("--workdir", help="where the repositories go (default: a temp dir, removed)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep what an earlier run recorded in --workdir (the server's store): plan only")
    parser.add_argument("--out-json")
    parser.add_argument("--to-fixture", metavar="JSON",
                        help="print the recorded durations of an --out-json file as the test fixture and stop")
    args = parser.parse_args()
    if args.to_fixture:
        print(fixture(args.to_fixture), end="")
        return
    mono = os.path.abspath(args.mono)
    workdir = args.workdir or tempfile.mkdtemp(prefix="mono-shard-balance-")
    os.makedirs(workdir, exist_ok=True)
    repo = os.path.join(workdir, "repo")
    if not os.path.exists(repo):
        genrepo.generate(repo, args.packages)
        # A variable of every task's hash, so that a later commit-like change misses all.
        with open(os.path.join(repo, "turbo.toml")) as f:
            config = f.read()
        with open(os.path.join(repo, "turbo.toml"), "w") as f:
            f.write('globalEnv = ["BENCH_ID"]\n' + config)
        os.remove(os.path.join(repo, "turbo.json"))
        run(["git", "commit", "-qam", "bench id"], repo, dict(
            os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@x"))
    store = os.path.join(workdir, "server-store")
    if args.reuse and not args.workdir:
        parser.error("--reuse needs --workdir")
    if not args.reuse:
        shutil.rmtree(store, ignore_errors=True)
    server, url = start_server(os.path.abspath(args.server), store)
    try:
        env = dict(os.environ, TURBO_TOKEN="bench", NO_COLOR="1", CI="1", BENCH_ID="1",
                   MONO_REMOTE_CACHE=url)
        env.pop("MONO_SHARD", None)
        record = os.path.join(workdir, "record")
        restore = os.path.join(workdir, "restore")
        for clone in () if args.reuse else (record, restore):
            shutil.rmtree(clone, ignore_errors=True)
            run(["git", "clone", "-q", repo, clone], workdir)
        if not args.reuse:
            print("recording: mono build --concurrency 2 (every task's duration to the remote)", file=sys.stderr)
            run([mono, "build", "--concurrency", "2", f"--profile={workdir}/record.json"], record, env)
            print("restoring: the same build from the remote cache alone", file=sys.stderr)
            run([mono, "build", "--concurrency", "2", "--cache=local:rw,remote:r",
                 f"--profile={workdir}/restore.json"], restore, env)
        uploads = spans(f"{workdir}/record.json")
        restores = spans(f"{workdir}/restore.json")
        sizes = {}
        for team in os.listdir(store):
            for name in os.listdir(os.path.join(store, team)):
                sizes[name] = os.path.getsize(os.path.join(store, team, name))
        # Each task's hash, to find its artifact's size.
        dry = json.loads(run([mono, "build", "--dry=json"], restore, env).stdout)
        rows = []
        for task in dry["tasks"]:
            tid = task["taskId"]
            fetched = restores.get(tid, {})
            if "remote cache: fetch" not in fetched:
                continue
            rows.append({
                "taskId": tid,
                "bytes": sizes.get(task["hash"], 0),
                "uploadMs": uploads.get(tid, {}).get("upload", 0.0),
                "fetchMs": fetched.get("remote cache: fetch", 0.0),
                "restoreMs": fetched.get("restore outputs", 0.0),
            })
        transfer = {}
        for key in ("bytes", "uploadMs", "fetchMs", "restoreMs"):
            values = [r[key] for r in rows]
            transfer[key] = {"median": percentile(values, 50), "p90": percentile(values, 90),
                             "max": max(values, default=0)}
        print(f"\ntransfers measured: {len(rows)} artifacts")
        print("| | median | p90 | max |\n|---|---|---|---|")
        for key, label in (("bytes", "artifact size (bytes)"), ("uploadMs", "upload (ms, queued to stored)"),
                           ("fetchMs", "remote fetch (ms)"), ("restoreMs", "restore outputs (ms)")):
            t = transfer[key]
            print(f"| {label} | {t['median']:.1f} | {t['p90']:.1f} | {t['max']:.1f} |")

        plans = {}
        # A commit no run built (so every time is a recorded one, none a hit) and no plan
        # stored yet: a fresh value of the variable every task hashes.
        env2 = dict(env, BENCH_ID=f"plan-{time.time_ns()}")
        print("\n| shards | lower bound max(total ÷ N, chain) | with the first transfer | longest shard | over the bound | over the bound with the first transfer |")
        print("|---|---|---|---|---|---|")
        for n in [int(s) for s in args.shards.split(",")]:
            plan = json.loads(run([mono, "ci", "plan", "build", "--shards", str(n), "--concurrency", "1",
                                   "--json"], restore, env2).stdout)
            plans[n] = plan
            bound, with_t, span = plan["lowerBoundMs"], plan["lowerBoundWithTransfersMs"], plan["makespanMs"]
            print(f"| {n} | {bound / 1000:.2f} s | {with_t / 1000:.2f} s | {span / 1000:.2f} s | "
                  f"{(span / bound - 1) * 100:.1f}% | {(span / with_t - 1) * 100:.1f}% |")
        some = next(iter(plans.values()), None)
        if some:
            durations = [t["durationMs"] for t in some["tasks"]]
            print(f"\n{len(durations)} tasks, {sum(durations) / 1000:.1f} s in all, median "
                  f"{percentile(durations, 50)} ms, {min(durations)}–{max(durations)} ms; "
                  f"transfer in the model: {some['transferMs']} ms")
        if some:
            print("\nfor crates/mono-tasks/tests/data/bench-1000-build.txt: --out-json FILE, then"
                  " bench/shard_balance.py --to-fixture FILE")
        if args.out_json:
            with open(args.out_json, "w") as f:
                json.dump({"transfers": rows, "transfer": transfer, "plans": plans}, f, indent=1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
