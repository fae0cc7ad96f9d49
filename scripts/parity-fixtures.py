#!/usr/bin/env python3
"""Builds fixtures/parity/*.tar.zst: real public Turborepo monorepos, stripped to what planning
reads (package.json files, turbo.json / turbo.jsonc, pnpm-workspace.yaml, .npmrc, .yarnrc.yml).

Each repository is read from a bare git mirror (`git show COMMIT:PATH`), so the fixture is
exactly that commit's files. Lockfiles are left out: neither turbo nor mono needs one to plan,
and they are most of a repository's manifest bytes. Every package.json is kept whole (scripts
are the commands compared), minus `node_modules`.

    python3 scripts/parity-fixtures.py MIRRORS_DIR

MIRRORS_DIR holds `OWNER+NAME/repo` bare clones. The list below is the suite's: the name, the
mirror, the commit, and the folder of the mirror that is the monorepo's root.
"""

import io
import os
import subprocess
import sys
import tarfile

REPOS = [
    # name, mirror, commit, root folder in the repository ("" for the top)
    ("astro", "withastro+astro", "99d3d3dbbfa4fd7b128a056337f1a719437a7377", ""),
    ("create-t3-turbo", "t3-oss+create-t3-turbo", "e69b5858fc4259fbd44af96eaf774a90dee0adcd", ""),
    ("documenso", "documenso+documenso", "75330166cc00b29c14399bc2e391e4b4d8080c00", ""),
    ("graphiql", "graphql+graphiql", "277cddad169962a580b0aa71e08f5ea3a29ffd01", ""),
    ("hydrogen", "Shopify+hydrogen", "9c715c1743cc3ce87dc927d7d4ad0c02f9482e74", ""),
    ("formbricks", "formbricks+formbricks", "b66c1dd978af618a0e402bd3343b456bed68594c", ""),
    ("langchainjs", "langchain-ai+langchainjs", "62fc484b2a0d1ec5b8bebff4a8a0efe6300ada72", ""),
    ("midday", "midday-ai+midday", "47d252aab7e3ab28a0027376cfdd6ee83d2e5ccf", ""),
    ("next-forge", "vercel+next-forge", "f189de79ceef7c1ef69f61f12e272f99b4cdb699", ""),
    ("plane", "makeplane+plane", "4ca6d6c7b807ad09bb571af2c43e85bf47c3ec6b", ""),
    ("trpc", "trpc+trpc", "340811ba5320637fbaf48fccf3dbfdd258bd34db", ""),
    ("unkey", "unkeyed+unkey", "fc99b6b925b9f455886832261883f4086eb64d3d", "web"),
    ("vercel-ai", "vercel+ai", "ed857f50f112e23930b0c2dd8d532cc8bebbc911", ""),
]

KEEP_NAMES = {
    "package.json",
    "turbo.json",
    "turbo.jsonc",
    "pnpm-workspace.yaml",
    ".npmrc",
    ".yarnrc.yml",
}


def git(mirror, *args):
    return subprocess.run(
        ["git", "--git-dir", mirror, *args], check=True, capture_output=True
    ).stdout


def build(mirrors, name, mirror_name, commit, root):
    mirror = os.path.join(mirrors, mirror_name, "repo")
    commit = commit or git(mirror, "rev-parse", "HEAD").decode().strip()
    listing = git(mirror, "ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0")
    prefix = (root + "/") if root else ""
    buffer = io.BytesIO()
    kept = 0
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in sorted(listing):
            if not entry:
                continue
            meta, path = entry.decode().split("\t", 1)
            mode, kind, _sha = meta.split()
            if kind != "blob" or mode == "120000" or not path.startswith(prefix):
                continue
            rel = path[len(prefix):]
            parts = rel.split("/")
            if parts[-1] not in KEEP_NAMES or "node_modules" in parts:
                continue
            data = git(mirror, "show", f"{commit}:{path}")
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
            kept += 1
    out = os.path.join("fixtures", "parity", f"{name}.tar.zst")
    subprocess.run(
        ["zstd", "-q", "-19", "-f", "-o", out], input=buffer.getvalue(), check=True
    )
    print(f"{name}: {commit} {kept} files, {os.path.getsize(out)} bytes")
    return commit


def main():
    mirrors = sys.argv[1]
    for name, mirror, commit, root in REPOS:
        build(mirrors, name, mirror, commit, root)


if __name__ == "__main__":
    main()
