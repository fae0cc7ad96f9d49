#!/usr/bin/env python3
"""Benchmark mono against Turborepo on generated monorepos, in the same run.

    bench/bench.py [--quick] [--sizes 100,300,1000] [--main-size 100] [--reps 3] [--cold-reps 1]
                   [--mono PATH] [--turbo PATH] [--workdir DIR] [--out-md FILE] [--out-json FILE]

For each repository size it generates a repository (bench/genrepo.py) and measures, for mono
and for turbo alternately (mono, turbo, mono, turbo, ...):

  plan      `build --dry=json`
  cached    `build` when every task is cached (fully cached run)
  leaf      `build` after changing one file of a package nothing depends on
  cold      `build` with an empty cache and no outputs          (main size only)
  core      `build` after changing the package everything depends on (main size only)

The defaults fit a 2-core machine in about half an hour: turbo runs every task through
`npm run`, so each of its full builds of 1,000 packages takes about a quarter of an hour
there, and the cold and core scenarios run at the main size only. Larger runs:
`--sizes 100,300,1000,3000 --main-size 1000 --reps 5 --cold-reps 3` (hours).

Each measurement is a fresh process: wall time, and peak RSS from wait4(2). The cache size on
disk is measured after a cold build. A cold build's overhead is its time minus the tasks' own
time (every build script run one after the other with `sh -c`, divided by the cores).

It prints a table of medians with min and max and the mono/turbo ratio, and writes it as
JSON and Markdown, with SVG plots of time against repository size for the plan and the
cached run. `--quick` runs a small repository once per scenario, to prove the harness works
(CI runs it), and writes to a temp dir unless --out-md/--out-json are given.
"""
import argparse
import json
import os
import platform
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


def bench_size(size, tools, reps, cold_reps, full, counter):
    workdir = tools["workdir"]
    repo = os.path.join(workdir, f"repo-{size}")
    shutil.rmtree(repo, ignore_errors=True)
    print(f"== {size} packages: generating", flush=True)
    deps = genrepo.generate(repo, packages=size)
    leaf = genrepo.leaf_packages(deps)[-1]
    tool_list = tools["list"]
    results = {}

    def record(scenario, tool, seconds, rss):
        entry = results.setdefault(scenario, {}).setdefault(tool.name, {"time": [], "rss": []})
        entry["time"].append(seconds)
        entry["rss"].append(rss)

    # Warm both caches once (not measured), so that "cached" means fully cached.
    for tool in tool_list:
        measure(tool.command("build"), repo)

    for rep in range(reps):
        for tool in tool_list:
            record("plan", tool, *measure(tool.command("build", "--dry=json"), repo))
        for tool in tool_list:
            record("cached", tool, *measure(tool.command("build"), repo))
        for tool in tool_list:
            counter[0] += 1
            touch(repo, leaf, counter[0])
            record("leaf", tool, *measure(tool.command("build"), repo))
        print(f"   rep {rep + 1}/{reps}: plan, cached, leaf", flush=True)

    extra = {}
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
    summary = {}
    for scenario, per_tool in results.items():
        summary[scenario] = {
            name: {"time": stats(v["time"]), "peakRssKiB": stats(v["rss"])} for name, v in per_tool.items()
        }
    return {"packages": size, "scenarios": summary, **extra}


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


def table(results, tool_names):
    rows = []
    header = ["packages", "scenario"] + [f"{t} median (min–max)" for t in tool_names]
    if len(tool_names) == 2:
        header.append(f"{tool_names[0]}/{tool_names[1]}")
    for size_result in results:
        for scenario in SCENARIOS:
            per_tool = size_result["scenarios"].get(scenario)
            if not per_tool:
                continue
            row = [str(size_result["packages"]), scenario]
            for t in tool_names:
                s = per_tool[t]["time"]
                row.append(f"{fmt_time(s['median'])} ({fmt_time(s['min'])}–{fmt_time(s['max'])})")
            if len(tool_names) == 2:
                a, b = (per_tool[t]["time"]["median"] for t in tool_names)
                row.append(f"{a / b:.2f}x")
            rows.append(row)
    return header, rows


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
            values = [per_tool[t]["peakRssKiB"]["median"] for t in tool_names]
            row = [str(size_result["packages"]), scenario] + [f"{v / 1024:.0f} MiB" for v in values]
            if len(tool_names) == 2:
                row.append(f"{values[0] / values[1]:.2f}x")
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
    """A log-log line chart of median time against repository size."""
    import math

    points = {
        t: [(r["packages"], r["scenarios"][scenario][t]["time"]["median"]) for r in results if scenario in r["scenarios"]]
        for t in tool_names
    }
    xs = [x for pts in points.values() for x, _ in pts]
    ys = [y for pts in points.values() for _, y in pts]
    if not xs or min(xs) == max(xs):
        xs = xs + [max(xs or [1]) * 10]
    w, h, m = 640, 400, 60
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    ly0, ly1 = math.log10(min(ys) / 1.5), math.log10(max(ys) * 1.5)

    def px(x):
        return m + (math.log10(x) - lx0) / (lx1 - lx0) * (w - 2 * m)

    def py(y):
        return h - m - (math.log10(y) - ly0) / (ly1 - ly0) * (h - 2 * m)

    colors = {"mono": "#1f77b4", "turbo": "#d62728"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="24" text-anchor="middle" font-size="15">{title}</text>',
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>',
        f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">packages (log scale)</text>',
        f'<text x="15" y="{h / 2}" text-anchor="middle" transform="rotate(-90 15 {h / 2})">median time, s (log scale)</text>',
    ]
    for x in sorted({r["packages"] for r in results}):
        parts.append(f'<text x="{px(x):.1f}" y="{h - m + 16}" text-anchor="middle">{x}</text>')
    for e in range(math.floor(ly0), math.ceil(ly1) + 1):
        for mult in (1, 2, 5):
            y = mult * 10**e
            if ly0 <= math.log10(y) <= ly1:
                parts.append(f'<line x1="{m - 4}" y1="{py(y):.1f}" x2="{w - m}" y2="{py(y):.1f}" stroke="#ddd"/>')
                parts.append(f'<text x="{m - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    for i, (tool, pts) in enumerate(points.items()):
        color = colors.get(tool, "#333")
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in pts:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}"/>')
        parts.append(f'<text x="{w - m - 70}" y="{m + 16 * i}" fill="{color}">{tool}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small repository, one run per scenario")
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--main-size", type=int, default=100, help="size for cold and core scenarios")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cold-reps", type=int, default=1, help="runs of the cold and core scenarios")
    parser.add_argument("--mono", help="mono binary (default: build it in release mode)")
    parser.add_argument("--turbo", help="turbo binary (default: MONO_TEST_TURBO, else the one scripts/bootstrap-tools installed, else npm install turbo@2.11)")
    parser.add_argument("--no-turbo", action="store_true", help="measure mono alone")
    parser.add_argument("--workdir", help="where repositories are generated (default: a temp dir)")
    parser.add_argument("--out-md")
    parser.add_argument("--out-json")
    args = parser.parse_args()

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
    for size in sizes:
        results.append(bench_size(size, {"workdir": workdir, "list": tool_list}, reps, cold_reps, size == main_size, counter))

    machine = {
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor()),
        "cores": os.cpu_count(),
        "memoryGiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
    }
    doc = {
        "version": 1,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine,
        "monoVersion": version([mono, "--version"]),
        "turboVersion": turbo_version,
        "reps": reps,
        "coldReps": cold_reps,
        "results": results,
    }
    header, rows = table(results, names)
    mem_header, mem_rows = memory_table(results, names)
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
                f.write(svg_plot(results, scenario, names, f"{title}: median time against size"))
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
        "  in 10 layers each depending on up to 3 lower packages; 5 source files per package; shell-only",
        "  build scripts, so the time measured is the orchestrator's.",
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
