#!/usr/bin/env python3
"""Benchmark mono against Turborepo on generated monorepos, in the same run, beside the floor.

    bench/bench.py [--quick] [--sizes 100,300,1000,3000] [--files 50] [--main-size 100]
                   [--cached-only-from 3000] [--reps 3] [--cold-reps 1] [--no-parity]
                   [--mono PATH] [--turbo PATH] [--workdir DIR [--reuse]]
                   [--out-md FILE] [--out-json FILE]

For each repository size it generates a repository (bench/genrepo.py, 50 source files per
package) and measures, for mono and for turbo alternately (mono, turbo, mono, turbo, ...):

  plan      `build --dry=json`
  cached    `build` when every task is cached (fully cached run)
  leaf      `build` after changing one file of a package nothing depends on
  cold      `build` with an empty cache and no outputs          (main size only)
  core      `build` after changing the package everything depends on (main size only)

From --cached-only-from packages up (3,000 by default) only plan and cached are measured:
each tool's cache is filled once (one full build, not measured) and reused by every run.

Beside the two tools, in the same alternation, the floor of a run that must know which
files changed: `git status` (a whole process: git reads its index, lstat-s every tracked
file and walks the work tree for untracked ones) and one `lstat` of every file git lists
(`git ls-files --cached --others --exclude-standard`), timed in this Python process around
a loop of `os.lstat`, so without any process start: the cost of stat-ing the files alone,
on one core.

Every repository of the real-world parity suite (fixtures/parity/*.tar.zst: 13 public
Turborepo monorepos, only their manifests and turbo.json, so few files) is unpacked and
committed, and its plan (`build --dry=json`) is measured the same way (their scripts need
node_modules, so nothing is built); the largest, astro (543 packages), also joins the size
tables.

The defaults take hours on a 2-core machine: turbo runs every task through `npm run`, so
filling its cache at 3,000 packages takes most of an hour. `--workdir DIR --reuse` keeps the
generated repositories (and the caches in them) between runs: a repository whose
`repo-N.json` matches is reset to its commit and reused instead of generated and built again.

Each measurement is a fresh process: wall time, and peak RSS from wait4(2). The cache size on
disk is measured after a cold build. A cold build's overhead is its time minus the tasks' own
time (every build script run one after the other with `sh -c`, divided by the cores).

It prints a table of medians with min and max and the ratios (mono/turbo, mono/git status),
and writes it as JSON and Markdown, with SVG plots: time against the number of files (linear
axes, to show linear growth) for the cached run and the plan, with the floor. `--quick` runs
a small repository once per scenario, to prove the harness works (CI runs it), and writes to
a temp dir unless --out-md/--out-json are given.
"""
import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genrepo  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = ["plan", "cached", "leaf", "cold", "core"]
DESCRIPTIONS = {
    "plan": "`build --dry=json`",
    "cached": "fully cached `build`",
    "leaf": "`build` after changing one leaf package",
    "cold": "cold `build` (empty cache, no outputs)",
    "core": "`build` after changing the package everything depends on",
}
QUIET_ENV = {
    "TURBO_TELEMETRY_DISABLED": "1",
    "DO_NOT_TRACK": "1",
    "TURBO_NO_UPDATE_NOTIFIER": "1",
    "TURBO_PRINT_VERSION_DISABLED": "1",
    "NO_COLOR": "1",
    "CI": "true",
}


class Tool:
    def __init__(self, name, binary, run_args, cache_dir):
        self.name = name
        self.binary = binary
        self.run_args = run_args
        self.cache_dir = cache_dir

    def command(self, *args):
        return [self.binary, *self.run_args, *args]


def measure(cmd, cwd):
    """Runs cmd; returns (seconds, peak RSS in KiB). Fails loudly if cmd fails."""
    env = dict(os.environ, **QUIET_ENV)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd} ({proc.returncode}):\n{stderr[-3000:]}")
    return elapsed, usage.ru_maxrss


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def clean(repo, tool_list):
    for tool in tool_list:
        shutil.rmtree(os.path.join(repo, tool.cache_dir), ignore_errors=True)
    packages = os.path.join(repo, "packages")
    for name in os.listdir(packages):
        shutil.rmtree(os.path.join(packages, name, "dist"), ignore_errors=True)


def touch(repo, package, counter):
    path = os.path.join(repo, "packages", package, "src", "file0.js")
    with open(path, "a") as f:
        f.write(f"// bench change {counter}\n")


def own_time(repo):
    """Seconds the build scripts take by themselves, one after the other."""
    start = time.perf_counter()
    packages = os.path.join(repo, "packages")
    for name in sorted(os.listdir(packages)):
        subprocess.run(["sh", "-c", genrepo.BUILD], cwd=os.path.join(packages, name), check=True)
    return time.perf_counter() - start


def stats(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def listed_files(repo):
    """The files git lists (tracked and untracked, not ignored): what a run may hash."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo, check=True, capture_output=True,
    ).stdout
    return [os.path.join(repo, os.fsdecode(p)) for p in out.split(b"\0") if p]


def lstat_all(paths):
    """Seconds to lstat every path once, one after the other, in this process."""
    start = time.perf_counter()
    for path in paths:
        try:
            os.lstat(path)
        except OSError:
            pass
    return time.perf_counter() - start


class Floor:
    """The floor measured beside the tools: `git status` and one lstat of every file."""

    name = "floor"

    def __init__(self, repo):
        self.files = listed_files(repo)

    def measure(self, repo):
        status = measure(["git", "status"], repo)
        return {"git status": status, "lstat": (lstat_all(self.files), 0)}


def prepare_repo(workdir, size, files, reuse):
    """The repository of `size` packages: reused when --reuse finds one made with the same
    parameters (reset to its commit), else generated. Returns (path, deps, reused)."""
    repo = os.path.join(workdir, f"repo-{size}")
    stamp = os.path.join(workdir, f"repo-{size}.json")
    params = {"packages": size, "files": files, "seed": 1}
    if reuse and os.path.isdir(os.path.join(repo, ".git")):
        try:
            with open(stamp) as f:
                same = json.load(f) == params
        except (OSError, ValueError):
            same = False
        if same:
            print(f"== {size} packages: reusing {repo}", flush=True)
            subprocess.run(["git", "checkout", "-q", "HEAD", "--", "."], cwd=repo, check=True)
            deps = genrepo.dependencies(genrepo.package_names(size), genrepo.random.Random(1))
            return repo, deps, True
    shutil.rmtree(repo, ignore_errors=True)
    print(f"== {size} packages: generating", flush=True)
    deps = genrepo.generate(repo, packages=size, files=files)
    with open(stamp, "w") as f:
        json.dump(params, f)
    return repo, deps, False


def bench_size(size, tools, reps, cold_reps, full, cached_only, counter):
    workdir = tools["workdir"]
    repo, deps, _ = prepare_repo(workdir, size, tools["files"], tools["reuse"])
    leaf = genrepo.leaf_packages(deps)[-1]
    tool_list = [t for t in tools["list"] if t.name == "mono" or size <= tools["turbo_max"]]
    results = {}
    floor = Floor(repo)
    floor_runs = {}

    def record(scenario, tool, seconds, rss):
        entry = results.setdefault(scenario, {}).setdefault(tool.name, {"time": [], "rss": []})
        entry["time"].append(seconds)
        entry["rss"].append(rss)

    def record_floor():
        for name, (seconds, _) in floor.measure(repo).items():
            floor_runs.setdefault(name, []).append(seconds)

    # Warm both caches once (not measured), so that "cached" means fully cached.
    for tool in tool_list:
        measure(tool.command("build"), repo)

    for rep in range(reps):
        for tool in tool_list:
            record("plan", tool, *measure(tool.command("build", "--dry=json"), repo))
        record_floor()
        for tool in tool_list:
            record("cached", tool, *measure(tool.command("build"), repo))
        if not cached_only:
            for tool in tool_list:
                counter[0] += 1
                touch(repo, leaf, counter[0])
                record("leaf", tool, *measure(tool.command("build"), repo))
        print(f"   rep {rep + 1}/{reps}: plan, cached{'' if cached_only else ', leaf'}", flush=True)

    extra = {"files": len(floor.files), "floor": {name: stats(v) for name, v in floor_runs.items()}}
    if full:
        extra["ownTime"] = own_time(repo)
        sizes = {}
        for rep in range(cold_reps):
            for tool in tool_list:
                clean(repo, tool_list)
                record("cold", tool, *measure(tool.command("build"), repo))
                sizes[tool.name] = du(os.path.join(repo, tool.cache_dir))
            for tool in tool_list:
                counter[0] += 1
                touch(repo, "core", counter[0])
                record("core", tool, *measure(tool.command("build"), repo))
            print(f"   rep {rep + 1}/{cold_reps}: cold, core", flush=True)
        extra["cacheBytes"] = sizes
    return {"packages": size, "scenarios": summarize(results), **extra}


def summarize(results):
    return {
        scenario: {name: {"time": stats(v["time"]), "peakRssKiB": stats(v["rss"])} for name, v in per_tool.items()}
        for scenario, per_tool in results.items()
    }


def bench_parity(name, tools, reps):
    """The plan of a real repository of the parity suite (unpacked and committed)."""
    archive = os.path.join(REPO, "fixtures", "parity", f"{name}.tar.zst")
    unpacked = os.path.join(tools["workdir"], f"parity-{name}")
    shutil.rmtree(unpacked, ignore_errors=True)
    os.makedirs(unpacked)
    print(f"== {name} (parity fixture): unpacking", flush=True)
    unpack = subprocess.run(f"zstd -dc {shlex.quote(archive)} | tar -x -C {shlex.quote(unpacked)}", shell=True)
    if unpack.returncode != 0:
        raise SystemExit(f"failed to unpack {archive} (zstd and tar must be installed)")
    # The archive holds one folder named after the repository.
    repo = os.path.join(unpacked, name)
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@mono.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@mono.invalid")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "fixture"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    # Its package.json files, less the root's.
    packages = len(listed_manifests(repo)) - 1
    results = {}
    floor = Floor(repo)
    floor_runs = {}
    for tool in tools["list"]:
        measure(tool.command("build", "--dry=json"), repo)
    for rep in range(reps):
        for tool in tools["list"]:
            seconds, rss = measure(tool.command("build", "--dry=json"), repo)
            entry = results.setdefault("plan", {}).setdefault(tool.name, {"time": [], "rss": []})
            entry["time"].append(seconds)
            entry["rss"].append(rss)
        for floor_name, (seconds, _) in floor.measure(repo).items():
            floor_runs.setdefault(floor_name, []).append(seconds)
        print(f"   rep {rep + 1}/{reps}: plan", flush=True)
    return {
        "packages": packages,
        "name": name,
        "files": len(floor.files),
        "floor": {n: stats(v) for n, v in floor_runs.items()},
        "scenarios": summarize(results),
    }


def parity_names():
    """The repositories of the parity suite, by their archives' names."""
    folder = os.path.join(REPO, "fixtures", "parity")
    return sorted(f[: -len(".tar.zst")] for f in os.listdir(folder) if f.endswith(".tar.zst"))


def parity_table(suite, tool_names):
    """One row per parity repository: the plan's median per tool and their ratio."""
    first, second = tool_names
    header = ["repository", "packages", f"{second} median (min–max)", f"{first} median (min–max)", f"{first}/{second}"]
    rows = []
    for result in suite:
        plan = result["scenarios"]["plan"]
        a, b = plan[first]["time"], plan[second]["time"]
        rows.append([
            result["name"],
            str(result["packages"]),
            f"{b['median'] * 1000:.0f} ms ({b['min'] * 1000:.0f}–{b['max'] * 1000:.0f})",
            f"{a['median'] * 1000:.0f} ms ({a['min'] * 1000:.0f}–{a['max'] * 1000:.0f})",
            f"{a['median'] / b['median']:.2f}×",
        ])
    return header, rows


def listed_manifests(repo):
    return [f for f in listed_files(repo) if os.path.basename(f) == "package.json"]


def ensure_turbo(path):
    if path:
        return path
    if os.environ.get("MONO_TEST_TURBO"):
        return os.environ["MONO_TEST_TURBO"]
    # What scripts/bootstrap-tools installed (`make test` runs it first).
    tools = os.environ.get("MONO_TOOLS") or os.path.join(os.path.expanduser("~"), ".cache", "mono-tools")
    try:
        with open(os.path.join(tools, "tools.env")) as f:
            for line in f:
                if line.startswith("MONO_TEST_TURBO="):
                    return line.rstrip("\n").split("=", 1)[1]
    except FileNotFoundError:
        pass
    tool_dir = os.path.join(os.path.expanduser("~"), ".cache", "mono-tools", "turbo")
    wrapper = os.path.join(tool_dir, "node_modules", ".bin", "turbo")
    if not os.path.exists(wrapper):
        os.makedirs(tool_dir, exist_ok=True)
        with open(os.path.join(tool_dir, "package.json"), "w") as f:
            f.write('{ "name": "mono-bench-tools", "private": true }\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "turbo@2.11"], cwd=tool_dir, check=True)
    return wrapper


def native_turbo(wrapper):
    """The platform binary behind npm's `turbo` wrapper, so that node's start-up is not
    counted against turbo."""
    modules = os.path.dirname(os.path.dirname(os.path.realpath(wrapper)))
    for base in [modules, os.path.dirname(modules), os.path.join(os.path.dirname(wrapper), "..")]:
        candidate = os.path.join(base, "@turbo", "linux-64", "bin", "turbo")
        if os.path.exists(candidate):
            return os.path.realpath(candidate)
    return wrapper


def version(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout.strip() or out.stderr.strip()).splitlines()[-1] if (out.stdout or out.stderr) else "?"


def fmt_time(s):
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def label(result):
    return f"{result['name']} ({result['packages']})" if result.get("name") else str(result["packages"])


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "–"


def table(results, tool_names):
    """Medians per size and scenario, the floor beside the plan and the cached run, and the
    ratios measured in the same run."""
    both = len(tool_names) == 2
    header = ["packages", "files", "scenario"] + [f"{t} median (min–max)" for t in tool_names]
    if both:
        header.append(f"{tool_names[0]}/{tool_names[1]}")
    header += ["git status", "lstat every file", f"{tool_names[0]}/git status"]
    rows = []
    for size_result in results:
        floor = size_result.get("floor", {})
        for scenario in SCENARIOS:
            per_tool = size_result["scenarios"].get(scenario)
            if not per_tool:
                continue
            row = [label(size_result), str(size_result.get("files", "")), scenario]
            for t in tool_names:
                if t not in per_tool:
                    row.append("not measured")
                    continue
                s = per_tool[t]["time"]
                row.append(f"{fmt_time(s['median'])} ({fmt_time(s['min'])}–{fmt_time(s['max'])})")
            first = per_tool[tool_names[0]]["time"]["median"]
            if both:
                other = per_tool.get(tool_names[1])
                row.append(ratio(first, other["time"]["median"]) if other else "–")
            if scenario in ("plan", "cached") and floor:
                status = floor["git status"]["median"]
                row += [fmt_time(status), fmt_time(floor["lstat"]["median"]), ratio(first, status)]
            else:
                row += ["", "", ""]
            rows.append(row)
    return header, rows


def targets(results):
    """Each target of issue 19 against this run's ratios: the worst one over the sizes."""
    def worst(scenarios, value):
        found = [(value(r, sc), label(r), sc) for r in results for sc in scenarios
                 if sc in r["scenarios"] and "turbo" in r["scenarios"][sc]]
        return max(found) if found else None

    def vs_turbo(r, sc):
        per = r["scenarios"][sc]
        return per["mono"]["time"]["median"] / per["turbo"]["time"]["median"]

    def vs_status(r, sc):
        return r["scenarios"][sc]["mono"]["time"]["median"] / r["floor"]["git status"]["median"]

    def memory(r, sc):
        per = r["scenarios"][sc]
        return per["mono"]["peakRssKiB"]["median"] / per["turbo"]["peakRssKiB"]["median"]

    rows = []
    checks = [
        ("cached run and `--dry=json` ≤ 0.25× turbo, every size", 0.25, worst(["plan", "cached"], vs_turbo)),
        ("one-package change (leaf) ≤ 0.2× turbo", 0.2, worst(["leaf"], vs_turbo)),
        ("peak memory ≤ 0.3× turbo, every scenario", 0.3, worst(SCENARIOS, memory)),
    ]
    at_1000 = [r for r in results if r["packages"] == 1000 and not r.get("name") and r.get("floor")]
    if at_1000:
        checks.insert(1, ("cached run and `--dry=json` ≤ 1.5× `git status` at 1,000 packages", 1.5,
                          worst_of(at_1000, ["plan", "cached"], vs_status)))
    for what, bound, found in checks:
        if found is None:
            continue
        value, where, scenario = found
        rows.append([what, f"{value:.2f}x ({where}, {scenario})", "yes" if value <= bound else "no"])
    return ["target", "worst ratio (where)", "met"], rows


def worst_of(results, scenarios, value):
    found = [(value(r, sc), label(r), sc) for r in results for sc in scenarios if sc in r["scenarios"]]
    return max(found) if found else None


def per_file(results):
    rows = []
    for r in results:
        if "cached" not in r["scenarios"] or not r.get("files"):
            continue
        t = r["scenarios"]["cached"]["mono"]["time"]["median"]
        status = r["floor"]["git status"]["median"]
        rows.append([label(r), str(r["files"]), f"{t / r['files'] * 1e6:.1f} µs", f"{status / r['files'] * 1e6:.1f} µs"])
    return ["packages", "files", "mono cached / file", "git status / file"], rows


def memory_table(results, tool_names):
    header = ["packages", "scenario"] + [f"{t} peak RSS" for t in tool_names]
    if len(tool_names) == 2:
        header.append("ratio")
    rows = []
    for size_result in results:
        for scenario in SCENARIOS:
            per_tool = size_result["scenarios"].get(scenario)
            if not per_tool:
                continue
            values = [per_tool[t]["peakRssKiB"]["median"] if t in per_tool else None for t in tool_names]
            row = [label(size_result), scenario] + [f"{v / 1024:.0f} MiB" if v else "not measured" for v in values]
            if len(tool_names) == 2:
                row.append(f"{values[0] / values[1]:.2f}x" if values[1] else "–")
            rows.append(row)
    return header, rows


def markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def plain(header, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def svg_plot(results, scenario, tool_names, title):
    """A line chart of median time against the number of files, on linear axes (a straight
    line is linear growth), with the floor (`git status`, one lstat of every file)."""
    series = {
        t: [(r["files"], r["scenarios"][scenario][t]["time"]["median"]) for r in results
            if t in r["scenarios"].get(scenario, {})]
        for t in tool_names
    }
    for name in ("git status", "lstat"):
        series[name] = [(r["files"], r["floor"][name]["median"]) for r in results if r.get("floor")]
    series = {k: sorted(v) for k, v in series.items() if v}
    xs = [x for pts in series.values() for x, _ in pts] or [1]
    ys = [y for pts in series.values() for _, y in pts] or [1]
    w, h, m = 640, 400, 64
    x1 = nice_ceiling(max(xs))
    y1 = nice_ceiling(max(ys))

    def px(x):
        return m + x / x1 * (w - 2 * m)

    def py(y):
        return h - m - y / y1 * (h - 2 * m)

    colors = {"mono": "#1f77b4", "turbo": "#d62728", "git status": "#2ca02c", "lstat": "#7f7f7f"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="24" text-anchor="middle" font-size="15">{title}</text>',
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>',
        f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">files in the repository</text>',
        f'<text x="15" y="{h / 2}" text-anchor="middle" transform="rotate(-90 15 {h / 2})">median time, s</text>',
    ]
    for i in range(6):
        x = x1 * i / 5
        parts.append(f'<text x="{px(x):.1f}" y="{h - m + 16}" text-anchor="middle">{x:g}</text>')
        y = y1 * i / 5
        parts.append(f'<line x1="{m - 4}" y1="{py(y):.1f}" x2="{w - m}" y2="{py(y):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{m - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.3g}</text>')
    for i, (name, pts) in enumerate(series.items()):
        color = colors.get(name, "#333")
        dash = ' stroke-dasharray="5,4"' if name in ("git status", "lstat") else ""
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y in pts:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}"/>')
        legend = "lstat every file" if name == "lstat" else name
        parts.append(f'<text x="{m + 12}" y="{m + 16 * i}" fill="{color}">{legend}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def nice_ceiling(value):
    """The smallest 1, 2 or 5 times a power of ten at least `value`."""
    import math

    if value <= 0:
        return 1
    e = math.floor(math.log10(value))
    for mult in (1, 2, 5, 10):
        if mult * 10**e >= value:
            return mult * 10**e
    return 10 ** (e + 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small repository, one run per scenario")
    parser.add_argument("--sizes", default="100,300,1000,3000")
    parser.add_argument("--files", type=int, default=genrepo.FILES, help="source files per package")
    parser.add_argument("--cached-only-from", type=int, default=3000,
                        help="from this many packages up, measure only the plan and the cached run")
    parser.add_argument("--no-parity", action="store_true", help="skip the repositories of the real-world parity suite")
    parser.add_argument("--main-size", type=int, default=100, help="size for cold and core scenarios")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cold-reps", type=int, default=1, help="runs of the cold and core scenarios")
    parser.add_argument("--mono", help="mono binary (default: build it in release mode)")
    parser.add_argument("--turbo", help="turbo binary (default: MONO_TEST_TURBO, else the one scripts/bootstrap-tools installed, else npm install turbo@2.11)")
    parser.add_argument("--no-turbo", action="store_true", help="measure mono alone")
    parser.add_argument("--turbo-max", type=int, default=10**9,
                        help="measure turbo only up to this many packages (larger: mono and the floor)")
    parser.add_argument("--workdir", help="where repositories are generated (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the repositories (and their caches) a previous run left in --workdir")
    parser.add_argument("--parity-only", action="store_true",
                        help="measure only the parity suite's plans and print their table (writes no file)")
    parser.add_argument("--out-md")
    parser.add_argument("--out-json")
    args = parser.parse_args()

    if args.reuse and not args.workdir:
        parser.error("--reuse needs --workdir")
    parity = not (args.quick or args.no_parity)
    if args.quick:
        sizes, main_size, reps, cold_reps = [40], 40, 1, 1
    else:
        sizes, main_size, reps = [int(s) for s in args.sizes.split(",")], args.main_size, args.reps
        cold_reps = args.cold_reps
    out_dir = None if (args.out_md or not args.quick) else tempfile.mkdtemp(prefix="mono-bench-")
    out_md = args.out_md or (os.path.join(out_dir, "benchmarks.md") if out_dir else os.path.join(REPO, "docs", "benchmarks.md"))
    out_json = args.out_json or os.path.join(os.path.dirname(out_md), "benchmarks.json")

    mono = args.mono
    if not mono:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "mono", "--quiet"], cwd=REPO, check=True)
        mono = os.path.join(target, "release", "mono")
    mono = os.path.abspath(mono)
    tool_list = [Tool("mono", mono, [], "cache")]
    turbo_version = None
    if not args.no_turbo:
        turbo = native_turbo(ensure_turbo(args.turbo))
        turbo_version = version([turbo, "--version"])
        tool_list.append(Tool("turbo", turbo, ["run"], ".turbo"))
    names = [t.name for t in tool_list]

    workdir = args.workdir or tempfile.mkdtemp(prefix="mono-bench-repos-")
    os.makedirs(workdir, exist_ok=True)
    counter = [0]
    results = []
    context = {"workdir": workdir, "list": tool_list, "files": args.files, "reuse": args.reuse,
               "turbo_max": args.turbo_max}
    if args.parity_only:
        if len(names) != 2:
            parser.error("--parity-only compares mono with turbo: drop --no-turbo")
        suite = [bench_parity(name, context, reps) for name in parity_names()]
        print()
        print(markdown(*parity_table(suite, names)))
        return
    for size in sizes:
        cached_only = size >= args.cached_only_from and size != main_size
        results.append(bench_size(size, context, reps, cold_reps, size == main_size, cached_only, counter))
    suite = [bench_parity(name, context, reps) for name in parity_names()] if parity else []
    # The largest repository joins the size tables; every one is in the suite's own table.
    parity_results = [r for r in suite if r["name"] == "astro"]

    machine = {
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor()),
        "cores": os.cpu_count(),
        "memoryGiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
    }
    doc = {
        "version": 2,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine,
        "monoVersion": version([mono, "--version"]),
        "turboVersion": turbo_version,
        "reps": reps,
        "coldReps": cold_reps,
        "results": results,
    }
    doc["parity"] = suite
    header, rows = table(results + parity_results, names)
    mem_header, mem_rows = memory_table(results + parity_results, names)
    print()
    print(plain(header, rows))
    print()
    print(plain(mem_header, mem_rows))

    os.makedirs(os.path.dirname(os.path.abspath(out_json)), exist_ok=True)
    with open(out_json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    plots = []
    if len(sizes) > 1 or args.quick:
        for scenario, title in [("cached", "Fully cached build"), ("plan", "Plan (--dry=json)")]:
            name = f"benchmarks-{scenario}.svg"
            with open(os.path.join(os.path.dirname(os.path.abspath(out_md)), name), "w") as f:
                f.write(svg_plot(results, scenario, names, f"{title}: median time against files"))
            plots.append((title, name))
    main_result = next((r for r in results if r["packages"] == main_size), None)
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/bench.py` (`make bench`); do not edit by hand. Regenerate with `make bench`.",
        "",
        f"- Date: {doc['date']}; machine: {machine['cpu']}, {machine['cores']} cores, {machine['memoryGiB']} GiB; {machine['os']}",
        f"- mono: {doc['monoVersion']}; turbo: {turbo_version or 'not measured'}",
        f"- {reps} runs per scenario ({cold_reps} for cold and core), alternating the tools; medians with (min–max). Each run is a fresh process.",
        "- Repositories: bench/genrepo.py, npm workspaces; `core` is depended on by every package, the rest",
        f"  in 10 layers each depending on up to 3 lower packages; {args.files} source files per package; shell-only",
        "  build scripts, so the time measured is the orchestrator's."
        + (f" From {args.cached_only_from} packages up, only the plan and the cached run." if max(sizes) >= args.cached_only_from else ""),
        *(["- astro: the parity suite's largest repository (fixtures/parity/astro.tar.zst: its manifests and",
           "  turbo.json, committed); its plan only, since its scripts need node_modules."] if parity_results else []),
        "- Floor, in the same alternation: **git status** (the whole process) and **lstat every file**: one",
        "  `os.lstat` of each file `git ls-files --cached --others --exclude-standard` lists, timed inside the",
        "  harness's Python process (no process start, one core). A run that must notice any edit cannot",
        "  do less than stat every file; `git status` does that plus a walk for untracked files.",
        "",
        "## Time",
        "",
        "Scenarios: " + "; ".join(f"**{s}**: {DESCRIPTIONS[s]}" for s in SCENARIOS) + ".",
        "",
        markdown(header, rows),
        "",
        "## Peak memory",
        "",
        markdown(mem_header, mem_rows),
        "",
    ]
    if suite and len(names) == 2:
        lines += ["## The real-world parity suite: the plan", "",
                  "Each repository of `crates/mono/tests/real_world_parity.rs` (fixtures/parity/), unpacked and",
                  "committed: `build --dry=json` with both tools, medians with (min–max).", ""]
        lines += [markdown(*parity_table(suite, names)), ""]
    if len(names) == 2:
        lines += ["## Against the targets (issue 19)", "", markdown(*targets(results + parity_results)), ""]
        lines += ["Cost per file of mono's cached run (median time / files), to read linear growth off:", ""]
        lines += [markdown(*per_file(results)), ""]
    if main_result and "ownTime" in main_result:
        lines += ["## Cold build overhead and cache size", ""]
        own = main_result["ownTime"]
        cores = machine["cores"] or 1
        lines.append(
            f"The {main_size} build scripts take {own:.2f} s one after the other ({own / cores:.2f} s over {cores} cores). "
            "Overhead = cold build time − that."
        )
        lines.append("")
        over_rows = []
        for t in names:
            cold = main_result["scenarios"]["cold"][t]["time"]["median"]
            over_rows.append([t, fmt_time(cold), fmt_time(max(cold - own / cores, 0.0)), f"{main_result['cacheBytes'][t] / 2**20:.1f} MiB"])
        lines.append(markdown(["tool", "cold build", "overhead", "cache on disk"], over_rows))
        if len(names) == 2:
            a = max(main_result["scenarios"]["cold"]["mono"]["time"]["median"] - own / cores, 1e-9)
            b = max(main_result["scenarios"]["cold"]["turbo"]["time"]["median"] - own / cores, 1e-9)
            lines += ["", f"Overhead ratio mono/turbo: {a / b:.2f}x."]
        lines.append("")
    for title, name in plots:
        lines += [f"## {title}", "", f"![{title}]({name})", ""]
    with open(out_md, "w") as f:
        f.write("\n".join(lines))
    print(f"\nwrote {out_md} and {out_json}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
