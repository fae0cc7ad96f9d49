#!/usr/bin/env node
// The `mono` command of the npm package mono-build. The binary itself comes in one package per
// platform (mono-build-linux-x64, ...), all listed as optionalDependencies: npm installs only
// the one whose `os` and `cpu` match this machine, and this script runs it, passing arguments,
// standard streams and the exit code through (the way turbo, esbuild and biome ship).
"use strict";

const { spawnSync } = require("child_process");

// `${process.platform}-${process.arch}` -> the package with that platform's binary.
const PLATFORMS = {
  "darwin-arm64": "mono-build-darwin-arm64",
  "darwin-x64": "mono-build-darwin-x64",
  "linux-arm64": "mono-build-linux-arm64",
  "linux-x64": "mono-build-linux-x64",
  "win32-x64": "mono-build-win32-x64",
};

const FROM_SOURCE =
  "or build mono from source: `cargo install --locked --path crates/mono` in a clone of its repository";

function fail(message, hints) {
  process.stderr.write(`error: ${message}\n${hints.map((h) => `\nhelp: ${h}`).join("")}\n`);
  process.exit(1);
}

// Whether this Linux has glibc (npm skips the linux packages, which say `"libc": ["glibc"]`,
// on musl).
function glibc() {
  try {
    return Boolean(process.report.getReport().header.glibcVersionRuntime);
  } catch (e) {
    return true;
  }
}

function binaryPath() {
  const platform = `${process.platform}-${process.arch}`;
  const pkg = PLATFORMS[platform];
  if (!pkg) {
    fail(`mono-build has no binary for this platform (${platform})`, [
      `the platforms with a binary: ${Object.keys(PLATFORMS).join(", ")}`,
      FROM_SOURCE,
    ]);
  }
  const exe = process.platform === "win32" ? "mono.exe" : "mono";
  try {
    return require.resolve(`${pkg}/bin/${exe}`);
  } catch (e) {
    if (process.platform === "linux" && !glibc()) {
      fail(`mono's Linux binaries need glibc, and this system has another C library (musl?)`, [
        FROM_SOURCE,
      ]);
    }
    fail(`the package ${pkg}, which holds mono's binary for ${platform}, is not installed`, [
      "npm installs it as an optional dependency of mono-build: it is left out by `--omit=optional` " +
        "(`--no-optional`), and by a lockfile written on another platform without it; " +
        `install it: \`npm install ${pkg}\`, or reinstall mono-build with optional dependencies`,
      FROM_SOURCE,
    ]);
  }
}

const binary = binaryPath();
const result = spawnSync(binary, process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
  fail(`failed to run ${binary}: ${result.error.message}`, [FROM_SOURCE]);
}
if (result.signal) {
  // Die of the same signal, so that the caller sees what mono saw.
  process.kill(process.pid, result.signal);
}
process.exit(result.status === null ? 1 : result.status);
