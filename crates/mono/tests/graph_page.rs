//! `--graph=FILE.html` (issue 15): the page is written for a real fixture, carries the
//! plan's data, and works in a real browser: headless Chromium (Debian's `chromium`) loads
//! it, lays the graph out, and the page reflects what it drew and found into its DOM.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{build, dry_json, fixture, mono};
use serde_json::Value;

/// Writes the page of `mono ARGS --graph=graph.html` at `root` and returns its path.
fn write_page(root: &Path, args: &[&str]) -> PathBuf {
    let out = mono(root)
        .args(args)
        .arg("--graph=graph.html")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("wrote the task graph page to"), "{stderr}");
    root.join("graph.html")
}

/// The JSON document inlined in the page.
fn page_data(page: &Path) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let open = "<script id=\"graph-data\" type=\"application/json\">";
    let at = html.find(open).expect("the data element") + open.len();
    let len = html[at..].find("</script>").expect("its end");
    serde_json::from_str(&html[at..at + len]).expect("the data is JSON")
}

/// Chromium, headless, with a profile folder of its own; `args` then the page's URL.
fn chromium(page: &Path, fragment: &str, args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}{fragment}", page.display());
    let out = Command::new(mono_test_tools::path(mono_test_tools::Tool::Chromium))
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=5000",
            "--window-size=1400,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .env("HOME", profile.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The page's DOM after it ran, as Chromium dumps it.
fn dom(page: &Path, fragment: &str) -> String {
    String::from_utf8(chromium(page, fragment, &["--dump-dom"]).stdout).unwrap()
}

/// The value of `name="..."` on the dumped `<body>` tag.
fn body_attr(dom: &str, name: &str) -> String {
    let body = &dom[dom.find("<body").expect("a body")..];
    let body = &body[..body.find('>').unwrap()];
    let key = format!("{name}=\"");
    let at = body
        .find(&key)
        .unwrap_or_else(|| panic!("{name} in {body}"))
        + key.len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

/// The ids the search results list.
fn results(dom: &str) -> BTreeSet<String> {
    let list = &dom[dom.find("id=\"results\"").expect("the results list")..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("data-id=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

/// A task that misses shows how long it took when it last ran (the head of its local
/// index); one that never ran shows none.
#[test]
fn a_missed_task_shows_its_last_duration() {
    let repo = fixture("node-only");
    let root = &repo.root;
    assert!(build(root, &["--filter=@repo/utils"]).0);
    let source = root.join("packages/utils/src/index.mjs");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, format!("{text}\n// changed\n")).unwrap();
    let page = write_page(root, &["run", "build"]);
    let data = page_data(&page);
    let task = |id: &str| {
        data["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["taskId"] == id)
            .unwrap()
            .clone()
    };
    let utils = task("@repo/utils#build");
    assert_eq!(utils["cache"]["status"], "MISS");
    assert!(utils["durationMs"].is_u64(), "{utils}");
    let web = task("web#build");
    assert!(web["durationMs"].is_null(), "{web}");
}

#[test]
fn the_page_holds_the_plan_and_chromium_draws_and_searches_it() {
    let repo = fixture("node-only");
    let root = &repo.root;
    let args = ["run", "build", "test", "lint"];
    // One task is a hit with a known duration: the page shows what the cache knows.
    assert!(build(root, &["--filter=@repo/utils"]).0);
    let plan = dry_json(root, &args);
    let page = write_page(root, &args);

    let data = page_data(&page);
    assert_eq!(data["version"], "1");
    let planned = plan["tasks"].as_array().unwrap();
    let drawn = data["tasks"].as_array().unwrap();
    assert_eq!(drawn.len(), planned.len());
    for (p, d) in planned.iter().zip(drawn) {
        assert_eq!(p["taskId"], d["taskId"]);
        assert_eq!(p["hash"], d["hash"]);
        assert_eq!(p["package"], d["package"]);
        assert_eq!(p["dependencies"], d["dependencies"]);
        assert_eq!(p["cache"]["status"], d["cache"]["status"]);
        match p["command"].as_str().unwrap() {
            "<NONEXISTENT>" => assert!(d["command"].is_null()),
            command => assert_eq!(d["command"], command),
        }
    }
    let utils = drawn
        .iter()
        .find(|t| t["taskId"] == "@repo/utils#build")
        .unwrap();
    assert_eq!(utils["cache"]["status"], "HIT");
    assert!(utils["durationMs"].is_u64());
    let web = drawn.iter().find(|t| t["taskId"] == "web#build").unwrap();
    assert_eq!(web["cache"]["status"], "MISS");
    assert!(web["durationMs"].is_null());
    let packages: Vec<&str> = data["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let web_package = data["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "web")
        .unwrap();
    assert!(web_package["dependencies"]
        .as_array()
        .unwrap()
        .contains(&Value::from("@repo/ui")));

    // The browser lays out every task and finds web's by the fragment's search.
    let tasks_view = dom(&page, "#search=web");
    assert_eq!(body_attr(&tasks_view, "data-state"), "ready");
    assert_eq!(body_attr(&tasks_view, "data-view"), "tasks");
    assert_eq!(
        body_attr(&tasks_view, "data-node-count"),
        planned.len().to_string()
    );
    let edges: usize = planned
        .iter()
        .map(|t| t["dependencies"].as_array().unwrap().len())
        .sum();
    assert_eq!(body_attr(&tasks_view, "data-edge-count"), edges.to_string());
    let layout_ms: f64 = body_attr(&tasks_view, "data-layout-ms").parse().unwrap();
    assert!(layout_ms >= 0.0);
    let expected: BTreeSet<String> = planned
        .iter()
        .map(|t| t["taskId"].as_str().unwrap().to_owned())
        .filter(|id| id.contains("web"))
        .collect();
    assert!(expected.contains("web#build"));
    assert_eq!(results(&tasks_view), expected);
    assert_eq!(
        body_attr(&tasks_view, "data-match-count"),
        expected.len().to_string()
    );
    // One match: it is selected, its details shown.
    let one = dom(&page, "#search=web%23build");
    assert_eq!(results(&one), BTreeSet::from(["web#build".to_owned()]));
    assert!(
        one.contains("data-id=\"web#build\"><h2>web#build</h2>"),
        "details of web#build"
    );

    // The package view: one node per package with tasks.
    let package_view = dom(&page, "#view=packages&search=repo");
    assert_eq!(body_attr(&package_view, "data-view"), "packages");
    assert_eq!(
        body_attr(&package_view, "data-node-count"),
        packages.len().to_string()
    );
    let repo_packages: BTreeSet<String> = packages
        .iter()
        .filter(|p| p.contains("repo"))
        .map(|p| (*p).to_owned())
        .collect();
    assert_eq!(results(&package_view), repo_packages);

    // And a picture of it.
    let png = root.join("graph.png");
    chromium(&page, "", &[&format!("--screenshot={}", png.display())]);
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(bytes.len() > 10_000, "{} bytes", bytes.len());
}

#[test]
fn a_command_that_closes_the_script_element_stays_data() {
    let (_dir, root) = common::svc_repo("workspaces = [\"svc\"]\n[tasks.build]\n");
    std::fs::write(
        root.join("svc/turbo.toml"),
        "name = \"svc\"\n[tasks.build]\ncommand = \"echo '</script><script>document.title=1</script><!--'\"\n",
    )
    .unwrap();
    common::commit_all(&root);
    let page = write_page(&root, &["build"]);
    let data = page_data(&page);
    assert_eq!(
        data["tasks"][0]["command"],
        "echo '</script><script>document.title=1</script><!--'"
    );
    let dumped = dom(&page, "#search=svc");
    assert_eq!(body_attr(&dumped, "data-node-count"), "1");
    assert!(dumped.contains("<title>mono task graph</title>"));
}
