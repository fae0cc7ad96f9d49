//! The server through HTTP, as clients see it: the Turborepo API, authentication,
//! validation, limits, signatures, health, metrics and shutdown.

mod common;

use std::process::Command;

use common::Server;

use base64::prelude::{Engine, BASE64_STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn tag(key: &[u8], hash: &str, team: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(hash.as_bytes());
    mac.update(team.as_bytes());
    mac.update(body);
    BASE64_STANDARD.encode(mac.finalize().into_bytes())
}

const HASH: &str = "0123456789abcdef";

#[tokio::test]
async fn stores_and_serves_artifacts_with_their_headers() {
    let server = Server::start(&[]);
    let url = format!("{}/v8/artifacts/{HASH}?slug=team-a", server.url);
    let head = client().head(&url).bearer_auth("t1").send().await.unwrap();
    assert_eq!(head.status(), 404);
    let put = client()
        .put(&url)
        .bearer_auth("t2")
        .header("x-artifact-duration", "1234")
        .header("x-artifact-tag", "some-tag")
        .body(b"opaque bytes".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 202);
    let head = client().head(&url).bearer_auth("t1").send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["x-artifact-duration"], "1234");
    let get = client().get(&url).bearer_auth("t1").send().await.unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["x-artifact-tag"], "some-tag");
    assert_eq!(get.bytes().await.unwrap().as_ref(), b"opaque bytes");
    // Teams do not see each other's artifacts.
    let other = format!("{}/v8/artifacts/{HASH}?slug=team-b", server.url);
    let get = client().get(&other).bearer_auth("t1").send().await.unwrap();
    assert_eq!(get.status(), 404);
    let status = client()
        .get(format!("{}/v8/artifacts/status", server.url))
        .bearer_auth("t1")
        .send()
        .await
        .unwrap();
    assert_eq!(status.text().await.unwrap(), r#"{"status":"enabled"}"#);
}

#[tokio::test]
async fn if_none_match_stores_only_the_first_upload() {
    let server = Server::start(&[]);
    let url = format!("{}/v8/artifacts/{HASH}?slug=team-a", server.url);
    let put = |body: &'static [u8]| {
        client()
            .put(&url)
            .bearer_auth("t2")
            .header("if-none-match", "*")
            .header("x-artifact-duration", body.len().to_string())
            .body(body.to_vec())
            .send()
    };
    // Several at once: exactly one is stored, the others are told it exists.
    let answers = futures::future::join_all([put(b"first"), put(b"second"), put(b"third")]).await;
    let statuses: Vec<u16> = answers
        .iter()
        .map(|a| a.as_ref().unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 412).count(),
        2,
        "{statuses:?}"
    );
    let winner =
        [&b"first"[..], b"second", b"third"][statuses.iter().position(|&s| s == 202).unwrap()];
    let later = put(b"fourth").await.unwrap();
    assert_eq!(later.status(), 412);
    let get = client().get(&url).bearer_auth("t1").send().await.unwrap();
    assert_eq!(
        get.headers()["x-artifact-duration"],
        winner.len().to_string()
    );
    assert_eq!(get.bytes().await.unwrap().as_ref(), winner);
    // Without the header, the last writer wins as before.
    let plain = client()
        .put(&url)
        .bearer_auth("t2")
        .body(b"replaced".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 202);
    let get = client().get(&url).bearer_auth("t1").send().await.unwrap();
    assert_eq!(get.bytes().await.unwrap().as_ref(), b"replaced");
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused() {
    let server = Server::start(&[]);
    let url = format!("{}/v8/artifacts/{HASH}", server.url);
    let none = client().put(&url).body("x").send().await.unwrap();
    assert_eq!(none.status(), 401);
    let wrong = client()
        .put(&url)
        .bearer_auth("t3")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let get = client().get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(get.status(), 403);
    assert!(!server.store.join("_").exists());
}

#[tokio::test]
async fn hashes_and_teams_cannot_leave_the_store() {
    let server = Server::start(&[]);
    std::fs::create_dir_all(&server.store).unwrap();
    std::fs::write(server.store.join("secret"), "x").unwrap();
    for path in [
        "/v8/artifacts/..%2Fsecret",
        "/v8/artifacts/%2e%2e",
        "/v8/artifacts/abc.json",
        "/v8/artifacts/zzzz",
        "/v8/artifacts/0123456789abcdef?teamId=..",
        "/v8/artifacts/0123456789abcdef?slug=a%2Fb",
    ] {
        let response = client()
            .put(format!("{}{path}", server.url))
            .bearer_auth("t1")
            .body("x")
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == 400 || response.status() == 404,
            "{path}: {}",
            response.status()
        );
        let response = client()
            .get(format!("{}{path}", server.url))
            .bearer_auth("t1")
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == 400 || response.status() == 404,
            "{path}"
        );
    }
    let entries: Vec<_> = std::fs::read_dir(&server.store).unwrap().collect();
    assert_eq!(entries.len(), 1, "only the planted file");
}

#[tokio::test]
async fn an_oversized_upload_is_refused() {
    let server = Server::start(&["--max-artifact-size", "1000"]);
    let url = format!("{}/v8/artifacts/{HASH}", server.url);
    let response = client()
        .put(&url)
        .bearer_auth("t1")
        .body(vec![0u8; 1001])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // Without a Content-Length too (chunked).
    let stream = futures::stream::iter((0..3).map(|_| Ok::<_, std::io::Error>(vec![0u8; 600])));
    let response = client()
        .put(&url)
        .bearer_auth("t1")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let head = client().head(&url).bearer_auth("t1").send().await.unwrap();
    assert_eq!(head.status(), 404);
    let ok = client()
        .put(&url)
        .bearer_auth("t1")
        .body(vec![0u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
}

#[tokio::test]
async fn with_a_signature_key_forged_or_missing_tags_are_refused() {
    let server = Server::start(&["--signature-key", "shared"]);
    let url = format!("{}/v8/artifacts/{HASH}?teamId=team_1", server.url);
    let body = b"artifact".to_vec();
    let put = |tag: Option<String>| {
        let mut request = client().put(&url).bearer_auth("t1").body(body.clone());
        if let Some(tag) = tag {
            request = request.header("x-artifact-tag", tag);
        }
        request.send()
    };
    assert_eq!(put(None).await.unwrap().status(), 400);
    let forged = tag(b"other key", HASH, "team_1", &body);
    assert_eq!(put(Some(forged)).await.unwrap().status(), 400);
    let wrong_team = tag(b"shared", HASH, "team_2", &body);
    assert_eq!(put(Some(wrong_team)).await.unwrap().status(), 400);
    let head = client().head(&url).bearer_auth("t1").send().await.unwrap();
    assert_eq!(head.status(), 404);
    let good = tag(b"shared", HASH, "team_1", &body);
    assert_eq!(put(Some(good)).await.unwrap().status(), 202);
}

#[tokio::test]
async fn health_metrics_and_graceful_shutdown() {
    let mut server = Server::start(&[]);
    let health = client()
        .get(format!("{}/health", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let url = format!("{}/v8/artifacts/{HASH}", server.url);
    client()
        .put(&url)
        .bearer_auth("t1")
        .body("12345")
        .send()
        .await
        .unwrap();
    client().get(&url).bearer_auth("t1").send().await.unwrap();
    let metrics = client()
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("mono_cache_uploaded_bytes_total 5"),
        "{metrics}"
    );
    assert!(metrics.contains("mono_cache_hits_total 1"), "{metrics}");
    assert!(
        metrics.contains(
            r#"mono_cache_requests_total{method="PUT",route="/v8/artifacts/{hash}",status="202"} 1"#
        ),
        "{metrics}"
    );
    let pid = server.child.id();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "SIGTERM must be a clean exit: {exit:?}");
}
