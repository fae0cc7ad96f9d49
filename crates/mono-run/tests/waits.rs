//! Jobs that wait for another machine ([`Job::waits_elsewhere`]) and jobs the hooks fail
//! without running ([`Before::Failed`]): what a CI shard's run is made of.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{job, options, run};
use mono_run::{Before, Failure, Hooks, Job, JobResult, SkipReason};

/// Hooks for which `remote#build` waits (in `before`) until `flag` exists, and
/// `broken#build` is refused.
struct Elsewhere {
    flag: PathBuf,
}

impl Hooks for Elsewhere {
    fn before(&self, job: &Job) -> Before {
        match job.id.to_string().as_str() {
            "remote#build" => {
                let deadline = Instant::now() + Duration::from_secs(20);
                while !self.flag.exists() {
                    if Instant::now() > deadline {
                        return Before::Failed {
                            reason: "the flag never came".to_owned(),
                        };
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Before::Cached {
                    log: b"restored\n".to_vec(),
                    time_saved: Duration::from_secs(1),
                }
            }
            "broken#build" => Before::Failed {
                reason: "broken#build is built by shard 2/2, which failed".to_owned(),
            },
            _ => Before::Run,
        }
    }

    fn after_success(&self, _job: &Job, _log: &[u8], _duration: Duration) {}
}

#[test]
fn a_job_waiting_elsewhere_holds_no_slot() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("flag");
    // One slot. The waiting job comes first; the job that ends its wait needs the slot.
    let mut waiting = job("remote#build", dir.path(), Some("false"), &[]);
    waiting.waits_elsewhere = true;
    let local = job("local#build", dir.path(), Some("touch flag"), &[]);
    let after = job("app#build", dir.path(), Some("true"), &[0, 1]);
    let (summary, out) = run(
        vec![waiting, local, after],
        Arc::new(Elsewhere { flag }),
        options(1),
    );
    assert!(
        matches!(summary.results[0], JobResult::Cached { .. }),
        "{:?}\n{out}",
        summary.results
    );
    assert!(matches!(summary.results[1], JobResult::Succeeded { .. }));
    assert!(matches!(summary.results[2], JobResult::Succeeded { .. }));
}

#[test]
fn a_refused_job_fails_with_its_reason_and_skips_its_dependents() {
    let dir = tempfile::tempdir().unwrap();
    let mut refused = job("broken#build", dir.path(), Some("true"), &[]);
    refused.waits_elsewhere = true;
    let dependent = job("app#build", dir.path(), Some("true"), &[0]);
    let (summary, out) = run(
        vec![refused, dependent],
        Arc::new(Elsewhere {
            flag: dir.path().join("unused"),
        }),
        options(2),
    );
    match &summary.results[0] {
        JobResult::Failed {
            failure: Failure::Refused(reason),
            ..
        } => assert!(reason.contains("shard 2/2")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        summary.results[1],
        JobResult::Skipped {
            reason: SkipReason::DependencyFailed { failed: 0 }
        }
    ));
    assert!(
        out.contains("ERROR: broken#build is built by shard 2/2, which failed"),
        "{out}"
    );
    assert!(!out.contains("command finished"), "{out}");
}
