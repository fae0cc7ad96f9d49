//! Fuzzing the config parser and its reporter (issue 16): 10,000 inputs made by mutating the
//! corpus in `tests/corpus/` (real turbo.json and turbo.toml files, valid and not), each
//! parsed as a root and as a package config, in JSON and in TOML, and every error rendered
//! by miette through `mono_config::windowed`, as the binary renders them. A panic anywhere
//! fails the test and prints the seed that reproduces it.
//!
//! Mutational rather than uniformly random: random bytes almost never get past a parser's
//! first byte, while mutations of real files reach the schema checks and the reporter. The
//! generator is a fixed-seed SplitMix64, so a failure reproduces exactly, without a
//! dependency. `MONO_FUZZ_ITERATIONS` runs more.

use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme};
use mono_config::{parse_package, parse_root, windowed, ConfigFormat, SourceFile};
use mono_paths::RepoPath;

/// SplitMix64: small, fast, and good enough to choose mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that steer a JSON or TOML parser somewhere interesting.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    ":",
    "=",
    "\n",
    "#",
    "//",
    "/*",
    "*/",
    "\\u0000",
    "\\",
    "[tasks.x]",
    "[[a]]",
    "\"\"\"",
    "'''",
    "null",
    "true",
    "1e999",
    "-0",
    "\"dependsOn\"",
    "\"outputs\"",
    "\"tasks\"",
    "\"^build\"",
    "\"$TURBO_DEFAULT$\"",
    "\"//#x\"",
    "é",
    "\u{feff}",
    "\r\n",
    "\t",
    "\0",
];

/// One mutation of `input`, or a splice with `other`.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(8) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = [0, 0xff, b'/', b'.', b'"', b'{', b'[', b'\n', b'=', b'\\'][rng.below(10)];
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                out.drain(at..end);
            }
            4 if at < out.len() => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                let copy = out[at..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, copy);
            }
            5 => out.truncate(at),
            6 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(256)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            // Now and then a long run: long lines and long strings reach the reporter's
            // limits (past column 65,535).
            7 if rng.below(16) == 0 => {
                let byte = [b'x', b' ', b'"', b'['][rng.below(4)];
                out.splice(at..at, std::iter::repeat_n(byte, 65_000 + rng.below(6_000)));
            }
            _ => {
                let byte = [b'x', b' ', b'"', b'['][rng.below(4)];
                out.splice(at..at, std::iter::repeat_n(byte, 1 + rng.below(64)));
            }
        }
    }
    out
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let corpus: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(corpus.len() >= 5, "the corpus is in {}", dir.display());
    corpus
}

fn iterations() -> usize {
    std::env::var("MONO_FUZZ_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

fn render(handler: &GraphicalReportHandler, diagnostic: &dyn miette::Diagnostic) -> usize {
    let mut out = String::new();
    handler
        .render_report(&mut out, &windowed(diagnostic))
        .expect("renders");
    out.len()
}

#[test]
fn mutated_configs_never_panic_the_parser_or_the_reporter() {
    let corpus = corpus();
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut rng = Rng(0x0016_1616);
    let (mut parsed, mut errors) = (0usize, 0usize);
    for i in 0..iterations() {
        let seed = rng.0;
        let input = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let bytes = mutate(&mut rng, input, other);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut seen = (0, 0);
            for format in [ConfigFormat::Json, ConfigFormat::Toml] {
                let path = RepoPath::new(format.file_name()).unwrap();
                let source = SourceFile::new(path, text.clone(), format);
                for result in [
                    parse_root(Arc::clone(&source)).map(|_| ()),
                    parse_package(Arc::clone(&source)).map(|_| ()),
                ] {
                    match result {
                        Ok(()) => seen.0 += 1,
                        Err(report) => {
                            seen.1 += 1;
                            // The report renders every problem (its related diagnostics).
                            render(&handler, &report);
                        }
                    }
                }
            }
            seen
        }));
        match outcome {
            Ok((ok, err)) => {
                parsed += ok;
                errors += err;
            }
            Err(_) => {
                let dump = std::env::temp_dir().join(format!("mono-config-fuzz-{i}"));
                std::fs::write(&dump, &bytes).unwrap();
                panic!(
                    "input {i} (rng state {seed:#x}) panicked; it is saved at {}",
                    dump.display()
                );
            }
        }
    }
    // The mutations reach both outcomes, or they test little.
    assert!(
        parsed > 100 && errors > 100,
        "{parsed} parsed, {errors} errors"
    );
}
