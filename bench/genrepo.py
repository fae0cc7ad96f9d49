#!/usr/bin/env python3
"""Generate a synthetic npm-workspaces monorepo, deterministically.

    bench/genrepo.py OUT_DIR [--packages N] [--files F] [--seed S]

Package `core` is the root of the dependency DAG: every other package depends on it. The
rest sit in 10 layers, each depending on `core` and up to 3 packages of lower layers. Each
package has F source files of about 1.5 KB and build/test/lint scripts that use only the
shell, so a task's own time is a few milliseconds and a run's time is the orchestrator's.
The repository gets a turbo.json and the same configuration as turbo.toml, a
package-lock.json when npm can write one offline, and one git commit.
"""
import argparse
import json
import os
import random
import subprocess

BUILD = "mkdir -p dist && cat src/*.js > dist/index.js"
TEST = "test -s dist/index.js"
LINT = "grep -q export src/file0.js"
# Source files per package: enough weight that listing and stat-ing files shows in a run.
FILES = 50


def npm_version():
    try:
        return subprocess.run(["npm", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "10.0.0"


def package_names(count):
    return ["core"] + [f"pkg-{i:05d}" for i in range(1, count)]


def dependencies(names, rng):
    """Per package, its sorted internal dependencies."""
    layers = 10
    rest = names[1:]
    per_layer = max(1, len(rest) // layers)
    deps = {names[0]: []}
    for i, name in enumerate(rest):
        lower = rest[: (i // per_layer) * per_layer]
        picked = rng.sample(lower, min(3, len(lower))) if lower else []
        deps[name] = sorted(["core"] + picked)
    return deps


def leaf_packages(deps):
    """Packages nothing depends on, sorted."""
    used = {d for ds in deps.values() for d in ds}
    return sorted(n for n in deps if n not in used)


def generate(out, packages=1000, files=FILES, seed=1):
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    names = package_names(packages)
    deps = dependencies(names, rng)
    for name in names:
        pkg_dir = os.path.join(out, "packages", name)
        os.makedirs(os.path.join(pkg_dir, "src"), exist_ok=True)
        manifest = {
            "name": name,
            "version": "1.0.0",
            "private": True,
            "dependencies": {d: "*" for d in deps[name]},
            "scripts": {"build": BUILD, "test": TEST, "lint": LINT},
        }
        with open(os.path.join(pkg_dir, "package.json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        for n in range(files):
            body = "".join(f"export const v{k} = {rng.randint(0, 10**6)};\n" for k in range(60))
            with open(os.path.join(pkg_dir, "src", f"file{n}.js"), "w") as f:
                f.write(body)
    root = {
        "name": "synthetic",
        "private": True,
        "packageManager": f"npm@{npm_version()}",
        "workspaces": ["packages/*"],
    }
    with open(os.path.join(out, "package.json"), "w") as f:
        json.dump(root, f, indent=2)
        f.write("\n")
    tasks = {
        "build": {"dependsOn": ["^build"], "outputs": ["dist/**"]},
        "test": {"dependsOn": ["build"]},
        "lint": {},
    }
    with open(os.path.join(out, "turbo.json"), "w") as f:
        json.dump({"$schema": "https://turborepo.com/schema.json", "tasks": tasks}, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "turbo.toml"), "w") as f:
        f.write('[tasks.build]\ndependsOn = ["^build"]\noutputs = ["dist/**"]\n\n')
        f.write('[tasks.test]\ndependsOn = ["build"]\n\n[tasks.lint]\n')
    with open(os.path.join(out, ".gitignore"), "w") as f:
        f.write("node_modules/\ndist/\ncache/\n.turbo/\n")
    subprocess.run(
        ["npm", "install", "--package-lock-only", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"],
        cwd=out, check=False, capture_output=True,
    )
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@mono.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@mono.invalid")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=out, check=True)
    subprocess.run(["git", "add", "-A"], cwd=out, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "generated"], cwd=out, check=True, env=env)
    return deps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.packages, args.files, args.seed)


if __name__ == "__main__":
    main()
