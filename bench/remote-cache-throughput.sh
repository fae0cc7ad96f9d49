#!/usr/bin/env bash
# Throughput of a 100 MB (incompressible) output through a remote cache.
# usage: MONO_REMOTE_CACHE=URL [MONO_REMOTE_CACHE_TOKEN=... or AWS_*=...] bench/remote-cache-throughput.sh
# Needs a release build (make build) and a running remote; prints per-repetition timings.
set -euo pipefail
M=${MONO:-${CARGO_TARGET_DIR:-$HOME/.cache/mono-target}/release/mono}
base=${TMPDIR:-/tmp}/mono-remote-throughput
rm -rf "$base"; mkdir -p "$base"
make_repo() {
  local d=$1; mkdir -p "$d/pkgs/big"
  printf 'workspaces = ["pkgs/*"]\n\n[tasks.build]\noutputs = ["out/**"]\n' > "$d/turbo.toml"
  printf 'name = "big"\n\n[tasks.build]\ncommand = "mkdir -p out && head -c 104857600 /dev/urandom > out/big.bin"\n' > "$d/pkgs/big/turbo.toml"
  (cd "$d" && git init -q -b main && git add -A && git -c user.name=x -c user.email=x@x commit -qm x)
}
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>"$base/err" || { cat "$base/err"; exit 1; }; echo "$(date +%s.%N) - $s" | bc; }
for i in 1 2 3; do
  make_repo $base/l$i; make_repo $base/r$i; make_repo $base/p$i
  tl=$(cd $base/l$i && t $M build --cache=local:rw)
  # fresh hash each rep: the random bytes differ anyway, but the key is the same: force a new key
  echo "# rep $i" > $base/r$i/pkgs/big/rep.txt; (cd $base/r$i && git add -A && git -c user.name=x -c user.email=x@x commit -qm rep)
  echo "# rep $i" > $base/p$i/pkgs/big/rep.txt; (cd $base/p$i && git add -A && git -c user.name=x -c user.email=x@x commit -qm rep)
  tr=$(cd $base/r$i && t $M build --cache=local:rw,remote:rw)
  grep -i warn "$base/err" || true
  s=$(date +%s.%N); (cd $base/p$i && $M cache pull build 2>&1 | tail -1); e=$(date +%s.%N)
  echo "rep $i: local-only build ${tl}s, build+upload ${tr}s, pull wall $(echo "$e - $s" | bc)s"
done
