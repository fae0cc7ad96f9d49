//! `mono image` on the polyglot fixture, checked with the real OCI tools: skopeo reads and
//! converts the layouts, umoci unpacks them, and the binaries run from the unpacked rootfs.
//!
//! skopeo, umoci and docker-registry come from the tools `make test` installs (Debian
//! packages; crates/mono-test-tools); a missing tool fails the test with a message that says
//! how to install it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{dry_json, fixture, git, mono};
use mono_test_tools::{path, Tool};
use serde_json::Value;

fn run_tool(program: &Path, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} {args:?} failed:\n{}{}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `mono image --json` in `root`: the images by package.
fn images(root: &Path, extra: &[&str]) -> Value {
    let output = mono(root)
        .arg("image")
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "mono image failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn image<'a>(doc: &'a Value, package: &str) -> &'a Value {
    doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["package"] == package)
        .unwrap_or_else(|| panic!("no image of {package} in {doc}"))
}

fn layer_digest(image: &Value, source: &str) -> String {
    image["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["source"] == source)
        .unwrap_or_else(|| panic!("no layer from {source} in {image}"))["digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn images_are_valid_oci_and_their_binaries_run() {
    let skopeo = path(Tool::Skopeo);
    let umoci = path(Tool::Umoci);
    let repo = fixture("polyglot");
    let doc = images(&repo.root, &["--format", "docker-archive"]);
    assert_eq!(doc["version"], "1");

    let server = image(&doc, "polyglot-server");
    let api = image(&doc, "api");
    assert_eq!(server["name"], "polyglot/server");
    assert_eq!(api["name"], "polyglot/api");
    // Layers: the api image takes api.json from polyglot-server (its own layer), then its
    // own binary.
    let sources: Vec<&str> = api["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["polyglot-server", "api"]);
    assert!(server["size"].as_u64().unwrap() < 100 << 20, "{server}");
    assert!(api["size"].as_u64().unwrap() < 50 << 20, "{api}");

    for (package, dir) in [
        ("polyglot-server", "crates/server"),
        ("api", "services/api"),
    ] {
        let built = image(&doc, package);
        let layout = repo.root.join(dir).join("dist/image");
        let inspect: Value = serde_json::from_str(&run_tool(
            &skopeo,
            &["inspect", &format!("oci:{}", layout.display())],
            &repo.root,
        ))
        .unwrap();
        assert_eq!(inspect["Digest"], built["digest"], "{package}");
        let config: Value = serde_json::from_str(&run_tool(
            &skopeo,
            &["inspect", "--config", &format!("oci:{}", layout.display())],
            &repo.root,
        ))
        .unwrap();
        assert!(config["config"]["Entrypoint"].is_array(), "{config}");
        // skopeo converts the layout to a docker archive, and reads mono's own archive.
        let converted = repo.root.join(format!("{package}.tar"));
        run_tool(
            &skopeo,
            &[
                "copy",
                &format!("oci:{}", layout.display()),
                &format!("docker-archive:{}:test/{package}:1", converted.display()),
            ],
            &repo.root,
        );
        assert!(converted.metadata().unwrap().len() > 0);
        let archive = built["dockerArchive"].as_str().unwrap();
        let from_archive: Value = serde_json::from_str(&run_tool(
            &skopeo,
            &["inspect", &format!("docker-archive:{archive}")],
            &repo.root,
        ))
        .unwrap();
        assert_eq!(
            from_archive["Layers"].as_array().unwrap().len(),
            built["layers"].as_array().unwrap().len()
        );
    }

    // The manifest carries the revision.
    let head = String::from_utf8(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&repo.root)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let manifest: Value = serde_json::from_str(&run_tool(
        &skopeo,
        &[
            "inspect",
            "--raw",
            &format!(
                "oci:{}",
                repo.root.join("services/api/dist/image").display()
            ),
        ],
        &repo.root,
    ))
    .unwrap();
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.revision"],
        head.trim()
    );

    // umoci unpacks each image; the binaries run from the rootfs.
    let unpack = |dir: &str, tag: &str, into: &str| -> PathBuf {
        let bundle = repo.root.join(into);
        run_tool(
            &umoci,
            &[
                "unpack",
                "--rootless",
                "--image",
                &format!("{}:{tag}", repo.root.join(dir).join("dist/image").display()),
                bundle.to_str().unwrap(),
            ],
            &repo.root,
        );
        bundle.join("rootfs")
    };
    let rootfs = unpack(
        "crates/server",
        server["tag"].as_str().unwrap(),
        "server-bundle",
    );
    let out = run_tool(
        &rootfs.join("app/polyglot-server"),
        &["GET", "/greet/Ada"],
        &rootfs,
    );
    assert_eq!(out.trim(), "200 Hello, Ada!");
    assert!(rootfs.join("app/api.json").is_file());
    let rootfs = unpack("services/api", api["tag"].as_str().unwrap(), "api-bundle");
    let out = run_tool(&rootfs.join("usr/local/bin/api"), &["-check"], &rootfs);
    assert!(out.starts_with("api 0.1.0: ok"), "{out}");
    assert!(rootfs.join("srv/api.json").is_file());

    // A second run restores both images from the cache, with the same digests.
    let output = mono(&repo.root).arg("image").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("FULL MONO"), "{stdout}");
    assert!(
        stdout.contains(server["digest"].as_str().unwrap()),
        "{stdout}"
    );
}

#[test]
fn two_clones_build_the_same_images_and_a_change_rebuilds_only_its_layer() {
    let repo = fixture("polyglot");
    let base = repo.root.parent().unwrap();
    let first = base.join("first");
    let second = base.join("elsewhere/deeper/second");
    std::fs::create_dir_all(second.parent().unwrap()).unwrap();
    // Separate folders, separate caches (each clone's own cache/), one commit.
    for clone in [&first, &second] {
        git(
            base,
            &[
                "clone",
                "-q",
                repo.root.to_str().unwrap(),
                clone.to_str().unwrap(),
            ],
        );
    }
    let one = images(&first, &[]);
    let two = images(&second, &[]);
    let skopeo = path(Tool::Skopeo);
    for (package, dir) in [
        ("polyglot-server", "crates/server"),
        ("api", "services/api"),
    ] {
        assert_eq!(
            image(&one, package)["digest"],
            image(&two, package)["digest"],
            "{package}"
        );
        // skopeo reads the same digest from both layouts.
        let digests: Vec<Value> = [&first, &second]
            .iter()
            .map(|clone| {
                let layout = clone.join(dir).join("dist/image");
                let inspect: Value = serde_json::from_str(&run_tool(
                    &skopeo,
                    &["inspect", &format!("oci:{}", layout.display())],
                    clone,
                ))
                .unwrap();
                inspect["Digest"].clone()
            })
            .collect();
        assert_eq!(digests[0], digests[1], "{package}");
        assert_eq!(digests[0], image(&one, package)["digest"], "{package}");
    }
    // The binaries inside, byte for byte.
    for binary in ["crates/server/bin/polyglot-server", "services/api/bin/api"] {
        let (a, b) = (
            std::fs::read(first.join(binary)).unwrap(),
            std::fs::read(second.join(binary)).unwrap(),
        );
        assert!(a == b, "{binary} differs between the two folders");
    }

    // One source file of the Go app changes: the api layer changes, the layer from
    // polyglot-server does not, and the server's image is untouched.
    let handler = second.join("services/api/handler.go");
    let text = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, format!("{text}\n// a change\nvar _ = 1\n")).unwrap();
    let three = images(&second, &[]);
    let (before, after) = (image(&two, "api"), image(&three, "api"));
    assert_ne!(before["digest"], after["digest"]);
    assert_ne!(layer_digest(before, "api"), layer_digest(after, "api"));
    assert_eq!(
        layer_digest(before, "polyglot-server"),
        layer_digest(after, "polyglot-server")
    );
    assert_eq!(
        image(&two, "polyglot-server")["digest"],
        image(&three, "polyglot-server")["digest"]
    );
}

#[test]
fn the_image_task_is_in_the_plan_and_the_graph() {
    let repo = fixture("polyglot");
    let plan = dry_json(&repo.root, &["image"]);
    let tasks = plan["tasks"].as_array().unwrap();
    let api = tasks.iter().find(|t| t["taskId"] == "api#image").unwrap();
    assert!(api["command"]
        .as_str()
        .unwrap()
        .starts_with("mono image-task --revision="));
    assert_eq!(api["outputs"], serde_json::json!(["dist/image/**"]));
    let mut deps: Vec<&str> = api["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    deps.sort();
    assert_eq!(deps, ["api#build", "polyglot-server#build"]);
    // Packages without `[image]` have no image task.
    assert!(!tasks.iter().any(|t| t["taskId"] == "shared#image"));

    let output = mono(&repo.root)
        .args(["image", "--graph=dot"])
        .output()
        .unwrap();
    let dot = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(dot.contains("polyglot-server#image"), "{dot}");
}

#[test]
fn a_bad_image_table_is_reported_with_its_line() {
    let repo = fixture("polyglot");
    let path = repo.root.join("services/api/turbo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("entrypoint =", "entrypoitn =")).unwrap();
    let output = mono(&repo.root).args(["image"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("services/api/turbo.toml"), "{stderr}");
    assert!(stderr.contains("did you mean `entrypoint`?"), "{stderr}");
}

/// A docker-registry on a free loopback port, stopped when dropped; its log counts requests.
struct Registry {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let program = path(Tool::Registry);
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let log = dir.path().join("registry.log");
        let child = Command::new(program)
            .arg("serve")
            .arg(&config)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .spawn()
            .unwrap();
        // Ready when it accepts connections (no timing assertion: it polls until it does).
        for _ in 0..600 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Registry {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    /// How many requests with `method` the registry answered for `path_part`.
    fn requests(&self, method: &str, path_part: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .filter(|l| l.contains(&format!("\"{method} ")) && l.contains(path_part))
            .count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn push_uploads_each_blob_once() {
    let skopeo = path(Tool::Skopeo);
    let registry = Registry::start();
    let repo = fixture("polyglot");
    let target = format!("127.0.0.1:{}/team/api:v1", registry.port);
    let pushed = images(
        &repo.root,
        &["--filter=api", &format!("--push={target}"), "--insecure"],
    );
    let api = image(&pushed, "api");
    assert_eq!(api["pushed"]["uploaded"], 3, "{api}");
    let inspect: Value = serde_json::from_str(&run_tool(
        &skopeo,
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{target}"),
        ],
        &repo.root,
    ))
    .unwrap();
    assert_eq!(inspect["Digest"], api["digest"]);
    let uploads = registry.requests("POST", "/v2/team/api/blobs/uploads/");
    assert_eq!(uploads, 3);

    // Again: every blob is there already; only the manifest is put again.
    let again = images(
        &repo.root,
        &["--filter=api", &format!("--push={target}"), "--insecure"],
    );
    assert_eq!(image(&again, "api")["pushed"]["uploaded"], 0);
    assert_eq!(image(&again, "api")["pushed"]["skipped"], 3);
    assert_eq!(
        registry.requests("POST", "/v2/team/api/blobs/uploads/"),
        uploads
    );

    // A registry reference as a base is pulled once into the local cache: the server's
    // image starts from the pushed api image.
    let config = repo.root.join("crates/server/turbo.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("base = \"scratch\"", &format!("base = \"{target}\"")),
    )
    .unwrap();
    let build_server = |force: bool| {
        let mut cmd = mono(&repo.root);
        cmd.args(["image", "--json", "--filter=polyglot-server"])
            .env("MONO_REGISTRY_INSECURE", "1");
        if force {
            cmd.arg("--force");
        }
        let output = cmd.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    // (skopeo inspect above read the config blob already.)
    let before = registry.requests("GET", "/v2/team/api/blobs/");
    let server = build_server(false);
    let sources: Vec<&str> = image(&server, "polyglot-server")["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["base", "base", "polyglot-server"]);
    let blob_gets = registry.requests("GET", "/v2/team/api/blobs/");
    assert_eq!(blob_gets - before, 3, "config and two layers");
    build_server(true);
    assert_eq!(registry.requests("GET", "/v2/team/api/blobs/"), blob_gets);

    // Plain http elsewhere than on loopback is refused.
    let output = mono(&repo.root)
        .args([
            "image",
            "--filter=api",
            "--push=registry.example.com/a/b",
            "--insecure",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}

/// The default commands (the fixture's overrides removed): `go build -trimpath
/// -buildvcs=false` and `cargo build` with its paths remapped give the same bytes in two
/// folders, built with separate caches.
#[test]
fn default_go_and_rust_builds_are_the_same_bytes_in_two_folders() {
    let repo = fixture("polyglot");
    for config in ["services/api/turbo.toml", "crates/server/turbo.toml"] {
        let path = repo.root.join(config);
        let text = std::fs::read_to_string(&path).unwrap();
        let start = text.find("[tasks.build]").unwrap();
        let end = start + text[start..].find("\n[").unwrap();
        std::fs::write(&path, format!("{}{}", &text[..start], &text[end + 1..])).unwrap();
    }
    git(&repo.root, &["commit", "-q", "-am", "default commands"]);
    let plan = dry_json(
        &repo.root,
        &["build", "--filter=api", "--filter=polyglot-server"],
    );
    let commands: Vec<&str> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["taskId"] == "api#build" || t["taskId"] == "polyglot-server#build")
        .map(|t| t["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands.len(), 2, "{plan}");
    assert!(commands[0].starts_with("go build -trimpath -buildvcs=false -o bin/"));
    assert!(commands[1].starts_with("cargo build -p polyglot-server --config"));

    let base = repo.root.parent().unwrap();
    let folders = [base.join("a"), base.join("somewhere/much/deeper/b")];
    for folder in &folders {
        std::fs::create_dir_all(folder.parent().unwrap()).unwrap();
        git(
            base,
            &[
                "clone",
                "-q",
                repo.root.to_str().unwrap(),
                folder.to_str().unwrap(),
            ],
        );
        let output = mono(folder)
            .args(["build", "--filter=api", "--filter=polyglot-server"])
            // The workspace's own target/ in each folder, not the test run's.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "mono build failed in {}:\n{}{}",
            folder.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for binary in ["services/api/bin/api", "target/debug/polyglot-server"] {
        let (a, b) = (
            std::fs::read(folders[0].join(binary)).unwrap(),
            std::fs::read(folders[1].join(binary)).unwrap(),
        );
        assert!(a == b, "{binary} differs between the two folders");
        let path = folders[0].to_str().unwrap().as_bytes();
        assert!(
            !a.windows(path.len()).any(|w| w == path),
            "{binary} holds the checkout path"
        );
    }
}
