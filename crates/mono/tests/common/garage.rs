//! A Garage node (a real S3-compatible store) on loopback ports, for the remote-cache
//! tests. Garage comes from the tools `make test` installs (scripts/bootstrap-tools builds
//! it with `cargo install garage` once; `MONO_TEST_GARAGE` overrides it).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn garage_binary() -> PathBuf {
    mono_test_tools::path(mono_test_tools::Tool::Garage)
}

/// A Garage node on free loopback ports in a temp dir, with one bucket and one key.
pub struct Garage {
    pub child: Child,
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    pub endpoint: String,
    pub bucket: String,
    pub key_id: String,
    pub secret: String,
}

impl Garage {
    pub fn start() -> Garage {
        let bin = garage_binary();
        let dir = tempfile::tempdir().unwrap();
        let (rpc, s3, admin) = (free_port(), free_port(), free_port());
        let config = dir.path().join("garage.toml");
        std::fs::write(
            &config,
            format!(
                r#"metadata_dir = "{dir}/meta"
data_dir = "{dir}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
"#,
                dir = dir.path().display(),
                secret = "0".repeat(63) + "1",
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("garage.log")).unwrap();
        let child = Command::new(&bin)
            .arg("-c")
            .arg(&config)
            .arg("server")
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let garage = Garage {
            child,
            config,
            endpoint: format!("http://127.0.0.1:{s3}"),
            bucket: "mono-cache".to_owned(),
            key_id: format!("GK{}", "ab12".repeat(6)),
            secret: "cd34".repeat(16),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        // `status` goes through the node's RPC port: it answers once the node is up.
        while garage.cli_output(&["status"]).is_none() {
            assert!(Instant::now() < deadline, "garage did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        let node = garage
            .cli_output(&["node", "id", "-q"])
            .expect("garage node id")
            .trim()
            .split('@')
            .next()
            .unwrap()
            .to_owned();
        garage.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        garage.cli(&["layout", "apply", "--version", "1"]);
        garage.cli(&["bucket", "create", &garage.bucket]);
        garage.cli(&[
            "key",
            "import",
            "--yes",
            "-n",
            "mono-test",
            &garage.key_id,
            &garage.secret,
        ]);
        garage.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            &garage.bucket,
            "--key",
            "mono-test",
        ]);
        garage
    }

    pub fn cli_output(&self, args: &[&str]) -> Option<String> {
        let out = Command::new(garage_binary())
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn cli(&self, args: &[&str]) {
        let out = Command::new(garage_binary())
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "garage {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The standard AWS environment for this node.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_REGION", "garage".to_owned()),
        ]
    }

    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
