//! The server under slow, idle, hung and heavy clients (issue 16): header-read timeouts,
//! the connection limit, shutdown with a deadline, header validation, bounded upload
//! memory, staging-file cleanup and eviction. Loopback only.

mod common;

use std::time::{Duration, SystemTime};

use common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HASH: &str = "0123456789abcdef";
/// A guard against a hang, far above any timeout the tests configure; not a measurement.
const HANG_GUARD: Duration = Duration::from_secs(120);

async fn health(url: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{url}/health"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("/health answers")
        .status()
        .as_u16()
}

/// Keeps sending a header line every 200 ms (never the blank line that ends the headers)
/// until the server closes the connection. Returns whether it did.
async fn trickle_until_closed(addr: String) -> bool {
    let Ok(mut stream) = TcpStream::connect(&addr).await else {
        return true;
    };
    if stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .is_err()
    {
        return true;
    }
    let closed = async {
        let mut buf = [0u8; 256];
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => match read {
                    // EOF, a reset, or the server's 408: closed either way.
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::time::timeout(HANG_GUARD, closed).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_and_health_keeps_answering() {
    let server = Server::start(&["--header-read-timeout", "2"]);
    let attackers: Vec<_> = (0..200)
        .map(|_| tokio::spawn(trickle_until_closed(server.addr.clone())))
        .collect();
    // During the attack.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..5 {
        assert_eq!(health(&server.url).await, 200);
    }
    let mut closed = 0;
    for attacker in attackers {
        if attacker.await.unwrap() {
            closed += 1;
        }
    }
    assert_eq!(closed, 200, "every trickling connection is closed");
    assert_eq!(health(&server.url).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_cannot_starve_health_under_a_low_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    // 256 descriptors: at most 192 connections; 300 idle sockets would hold them all.
    let server = Server::start_with(
        &dir.path().join("store"),
        Some(256),
        &["--header-read-timeout", "600", "--idle-timeout", "600"],
    );
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    for _ in 0..3 {
        assert_eq!(health(&server.url).await, 200);
    }
    // The server closed idle sockets to make room: some of ours read EOF.
    let reads = idle.into_iter().map(|mut stream| async move {
        let mut buf = [0u8; 16];
        matches!(
            tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    });
    let closed = futures::future::join_all(reads)
        .await
        .into_iter()
        .filter(|closed| *closed)
        .count();
    assert!(
        closed >= 300 - 192,
        "only {closed} idle connections were closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::print_stderr, reason = "the figure for docs/reliability.md")]
async fn sigterm_exits_within_the_deadline_despite_hung_clients() {
    let mut server = Server::start(&[
        "--header-read-timeout",
        "600",
        "--idle-timeout",
        "600",
        "--shutdown-timeout",
        "2",
    ]);
    // Never finishes its headers.
    let mut headers = TcpStream::connect(&server.addr).await.unwrap();
    headers
        .write_all(b"PUT /v8/artifacts/0123456789abcdef HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Starts an upload and stalls in its body: a request in progress.
    let mut body = TcpStream::connect(&server.addr).await.unwrap();
    body.write_all(
        format!(
            "PUT /v8/artifacts/{HASH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t1\r\nContent-Length: 1000\r\n\r\n0123456789"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // Requests are served in order of arrival on a multi-threaded runtime; /health
    // answering on a third connection means the server is up and serving.
    assert_eq!(health(&server.url).await, 200);
    let started = std::time::Instant::now();
    server.terminate();
    let status = tokio::task::block_in_place(|| server.wait_exit(HANG_GUARD))
        .expect("the server exits after SIGTERM despite hung clients");
    eprintln!("exited {:?} after SIGTERM", started.elapsed());
    assert!(status.success(), "{status:?}");
    assert_eq!(
        server
            .logged("stopped: closed the connections still busy at the shutdown deadline")
            .len(),
        1,
        "the stalled upload was cut at the deadline"
    );
    // Nothing half-stored.
    assert!(!server.store.join("_").join(HASH).exists());
}

#[tokio::test]
async fn oversized_or_malformed_stored_headers_are_refused() {
    let server = Server::start(&[]);
    let url = format!("{}/v8/artifacts/{HASH}", server.url);
    let client = reqwest::Client::new();
    let put = |name: &'static str, value: String| {
        client
            .put(&url)
            .bearer_auth("t1")
            .header(name, value)
            .body("bytes")
            .send()
    };
    let response = put("x-artifact-tag", "a".repeat(5000)).await.unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("bad_tag"), "{text}");
    assert_eq!(
        put("x-artifact-tag", "two words".into())
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        put("x-artifact-duration", "soon".into())
            .await
            .unwrap()
            .status(),
        400
    );
    let head = client.head(&url).bearer_auth("t1").send().await.unwrap();
    assert_eq!(head.status(), 404, "nothing was stored");
    // The longest tag accepted comes back on GET.
    let tag = "b".repeat(1024);
    assert_eq!(
        put("x-artifact-tag", tag.clone()).await.unwrap().status(),
        202
    );
    let get = client.get(&url).bearer_auth("t1").send().await.unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["x-artifact-tag"], tag.as_str());
}

/// A body of `len` bytes made as it is sent, so that the test holds none of it.
fn generated_body(len: usize) -> reqwest::Body {
    const CHUNK: usize = 1 << 20;
    let chunks = len.div_ceil(CHUNK);
    let stream = futures::stream::iter((0..chunks).map(move |i| {
        let size = CHUNK.min(len - i * CHUNK);
        Ok::<_, std::io::Error>(vec![(i % 251) as u8; size])
    }));
    reqwest::Body::wrap_stream(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::print_stderr, reason = "the figure for docs/reliability.md")]
async fn concurrent_large_uploads_are_streamed_with_bounded_memory() {
    const SIZE: usize = 150 << 20;
    let server = Server::start(&[
        "--max-artifact-size",
        "1GiB",
        "--max-concurrent-uploads",
        "4",
    ]);
    let before = server.peak_rss();
    let uploads: Vec<_> = (0..4)
        .map(|i| {
            let url = format!("{}/v8/artifacts/{i:016x}", server.url);
            tokio::spawn(async move {
                reqwest::Client::new()
                    .put(url)
                    .bearer_auth("t1")
                    .header("content-length", SIZE.to_string())
                    .body(generated_body(SIZE))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for upload in uploads {
        assert_eq!(upload.await.unwrap(), 202);
    }
    let peak = server.peak_rss();
    eprintln!(
        "4 x {} MiB uploads: server peak RSS {} MiB (before: {} MiB)",
        SIZE >> 20,
        peak >> 20,
        before >> 20
    );
    // Held in memory, one upload alone would be 150 MiB; streamed, all four fit in a
    // few MiB each.
    assert!(
        peak < 100 << 20,
        "peak RSS {} MiB: uploads are not streamed",
        peak >> 20
    );
    let head = reqwest::Client::new()
        .head(format!("{}/v8/artifacts/{:016x}", server.url, 3))
        .bearer_auth("t1")
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["content-length"], SIZE.to_string().as_str());
}

fn set_used(path: &std::path::Path, when: SystemTime) {
    std::fs::File::open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

#[tokio::test]
async fn restart_cleans_partial_uploads_and_evicts_by_age_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let hashes = ["aaaa", "bbbb", "cccc", "dddd"];
    {
        let server = Server::start_with(&store, None, &[]);
        for hash in hashes {
            let put = reqwest::Client::new()
                .put(format!("{}/v8/artifacts/{hash}", server.url))
                .bearer_auth("t1")
                .body(vec![1u8; 1000])
                .send()
                .await
                .unwrap();
            assert_eq!(put.status(), 202);
        }
    }
    let day = Duration::from_secs(86_400);
    let now = SystemTime::now();
    let team = store.join("_");
    // aaaa: unused for 3 days; bbbb, cccc, dddd: used 3, 2 and 1 hours ago.
    set_used(&team.join("aaaa"), now - 3 * day);
    set_used(&team.join("bbbb"), now - Duration::from_secs(3 * 3600));
    set_used(&team.join("cccc"), now - Duration::from_secs(2 * 3600));
    set_used(&team.join("dddd"), now - Duration::from_secs(3600));
    // A partial upload a killed server left behind.
    std::fs::write(team.join("eeee#3"), vec![0u8; 5000]).unwrap();
    let server = Server::start_with(&store, None, &["--max-age", "2d", "--max-size", "2200"]);
    assert!(!team.join("eeee#3").exists(), "partial upload removed");
    let cleaned = server.logged("removed the partial uploads of an earlier run");
    assert_eq!(cleaned[0]["files"], 1);
    // aaaa is too old; of the rest (~1040 bytes each), the least recently used goes until
    // two fit in 2200 bytes.
    let left: Vec<_> = hashes.iter().filter(|h| team.join(h).exists()).collect();
    assert_eq!(left, [&"cccc", &"dddd"]);
    let eviction = server.logged("eviction");
    assert_eq!(eviction[0]["evicted"], 2);
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("mono_cache_evicted_artifacts_total 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn reading_an_artifact_makes_it_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let team = store.join("_");
    {
        let server = Server::start_with(&store, None, &[]);
        let client = reqwest::Client::new();
        for hash in ["aaaa", "bbbb"] {
            client
                .put(format!("{}/v8/artifacts/{hash}", server.url))
                .bearer_auth("t1")
                .body(vec![1u8; 1000])
                .send()
                .await
                .unwrap();
        }
        let old = SystemTime::now() - Duration::from_secs(3600);
        set_used(&team.join("aaaa"), old - Duration::from_secs(60));
        set_used(&team.join("bbbb"), old);
        // aaaa was written first but read last.
        let get = client
            .get(format!("{}/v8/artifacts/aaaa", server.url))
            .bearer_auth("t1")
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 200);
        get.bytes().await.unwrap();
    }
    let _server = Server::start_with(&store, None, &["--max-size", "1500"]);
    assert!(team.join("aaaa").exists());
    assert!(!team.join("bbbb").exists());
}
