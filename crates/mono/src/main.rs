//! The `mono` binary. Keep this a shim: logic belongs in the library (`mono::run`) and the
//! crates below it.

fn main() -> std::process::ExitCode {
    mono::run()
}
