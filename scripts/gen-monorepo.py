#!/usr/bin/env python3
"""Generate a synthetic npm-workspaces monorepo for measuring mono (and turbo).

    scripts/gen-monorepo.py OUT_DIR [--packages N] [--files F] [--seed S]

N packages in layers; each depends on up to 3 packages of lower layers (a layered DAG),
has F source files and build/test/lint scripts. The repository gets a turbo.json and an
equivalent turbo.toml, and one git commit. Deterministic for a given seed.
"""
import argparse
import json
import os
import random
import subprocess


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    layers = 10
    per_layer = max(1, args.packages // layers)
    names = [f"pkg-{i:05d}" for i in range(args.packages)]
    for i, name in enumerate(names):
        layer = i // per_layer
        candidates = names[: layer * per_layer]
        deps = sorted(rng.sample(candidates, min(3, len(candidates)))) if candidates else []
        pkg_dir = os.path.join(args.out, "packages", name)
        os.makedirs(os.path.join(pkg_dir, "src"), exist_ok=True)
        manifest = {
            "name": name,
            "version": "1.0.0",
            "private": True,
            "dependencies": {d: "*" for d in deps},
            "scripts": {
                "build": "node -e \"require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/index.js','')\"",
                "test": "node -e 0",
                "lint": "node -e 0",
            },
        }
        with open(os.path.join(pkg_dir, "package.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        for n in range(args.files):
            body = "".join(f"export const v{k} = {rng.randint(0, 10**6)};\n" for k in range(40))
            with open(os.path.join(pkg_dir, "src", f"file{n}.js"), "w") as f:
                f.write(body)
    root = {
        "name": "synthetic",
        "private": True,
        "packageManager": "npm@10.0.0",
        "workspaces": ["packages/*"],
    }
    with open(os.path.join(args.out, "package.json"), "w") as f:
        json.dump(root, f, indent=2)
    tasks = {
        "build": {"dependsOn": ["^build"], "outputs": ["dist/**"]},
        "test": {"dependsOn": ["build"]},
        "lint": {},
    }
    with open(os.path.join(args.out, "turbo.json"), "w") as f:
        json.dump({"tasks": tasks}, f, indent=2)
    with open(os.path.join(args.out, "turbo.toml"), "w") as f:
        f.write('[tasks.build]\ndependsOn = ["^build"]\noutputs = ["dist/**"]\n\n')
        f.write('[tasks.test]\ndependsOn = ["build"]\n\n[tasks.lint]\n')
    with open(os.path.join(args.out, ".gitignore"), "w") as f:
        f.write("node_modules/\ndist/\ncache/\n.turbo/\n")
    env = dict(os.environ, GIT_AUTHOR_NAME="gen", GIT_AUTHOR_EMAIL="gen@mono.invalid",
               GIT_COMMITTER_NAME="gen", GIT_COMMITTER_EMAIL="gen@mono.invalid")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=args.out, check=True)
    subprocess.run(["git", "add", "-A"], cwd=args.out, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "generated"], cwd=args.out, check=True, env=env)


if __name__ == "__main__":
    main()
