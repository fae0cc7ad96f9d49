# mono's everyday commands. CARGO_TARGET_DIR lives outside the clone so that a second build,
# and a second CI run on the same machine, is incremental.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/mono-target
MONO := $(CARGO_TARGET_DIR)/release/mono
DEMO_DIR ?= $(or $(TMPDIR),/tmp)/mono-demo
# Where scripts/bootstrap-tools installs the tools the tests run (and the tests find them).
export MONO_TOOLS ?= $(HOME)/.cache/mono-tools

.PHONY: demo test lint build fmt bench bench-quick npm-pack

## Build mono and show it on the bundled polyglot example (Node, Rust, Go, a plain folder).
## The example's Go service needs Go: installed from Debian (golang-go) when missing.
demo: build
	@command -v go >/dev/null 2>&1 || { \
		echo "installing Go (Debian's golang-go): the example has a Go service"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq golang-go >/dev/null; }
	@rm -rf "$(DEMO_DIR)" && mkdir -p "$(DEMO_DIR)"
	@cp -R fixtures/polyglot/. "$(DEMO_DIR)/"
	@cd "$(DEMO_DIR)" && git init -q -b main && git add -A \
		&& git -c user.name=demo -c user.email=demo@mono.invalid commit -q -m demo
	@echo "== mono ls  (in $(DEMO_DIR))"
	@cd "$(DEMO_DIR)" && "$(MONO)" ls
	@echo
	@echo "== mono build --dry"
	@cd "$(DEMO_DIR)" && "$(MONO)" build --dry
	@echo
	@echo "== mono build --graph=mermaid --filter=@polyglot/web..."
	@cd "$(DEMO_DIR)" && "$(MONO)" build --graph=mermaid --filter=@polyglot/web...
	@echo
	@echo "== mono build  (first run: everything builds)"
	@cd "$(DEMO_DIR)" && "$(MONO)" build
	@echo
	@echo "== mono build  (second run: everything comes from the cache)"
	@cd "$(DEMO_DIR)" && "$(MONO)" build

build:
	cargo build --release --locked -p mono

## The npm packages (packages/): mono-build and this platform's binary package, as tarballs in
## $(CARGO_TARGET_DIR)/npm, from the stripped `dist` build.
npm-pack:
	cargo build --profile dist --locked -p mono
	scripts/npm-pack "$(CARGO_TARGET_DIR)/dist/mono" "$(CARGO_TARGET_DIR)/npm"

## Every test: unit tests of each crate, integration tests that run the real binary, and the
## benchmark harness in its quick mode (a small repository, to prove it still works). First,
## scripts/bootstrap-tools installs what the tests run into $(MONO_TOOLS) (a second in later runs).
test: export TURBO_TELEMETRY_DISABLED := 1
test: export DO_NOT_TRACK := 1
test:
	scripts/bootstrap-tools
	cargo build --locked -p mono
	python3 bench/bench.py --quick --mono "$(CARGO_TARGET_DIR)/debug/mono"
	cargo test --workspace --locked
	cargo test --locked -p mono-cache --no-default-features --lib

## The benchmarks against Turborepo: writes docs/benchmarks.md, .json and the plots.
bench: build
	python3 bench/bench.py --mono "$(MONO)"

bench-quick: build
	python3 bench/bench.py --quick --mono "$(MONO)"

## Formatting, clippy, docs, then cargo deny (licenses, duplicate versions, sources: deny.toml;
## advisories need the advisory database from the network, so they are left to CI with network
## access) and cargo machete (unused dependencies). The two cargo tools are installed into
## $(MONO_TOOLS)/lint the first time (cargo-shear needs a newer Rust than the workspace's).
LINT_TOOLS := $(MONO_TOOLS)/lint
lint: export PATH := $(LINT_TOOLS)/bin:$(PATH)
lint:
	@command -v cargo-deny >/dev/null && command -v cargo-machete >/dev/null || \
		cargo install --locked --root "$(LINT_TOOLS)" cargo-deny cargo-machete
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
	cargo clippy -p mono --no-default-features --locked -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
	cargo deny --locked check bans licenses sources
	cargo machete

fmt:
	cargo fmt --all
