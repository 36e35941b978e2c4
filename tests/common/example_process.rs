//! Examples as real programs, for what only a process can show (its banner, its signals).
//!
//! [`build`] runs `cargo build --example` with this test's profile and features every time the
//! test binary runs, so a test never drives a stale binary; [`ExampleProcess`] owns the child
//! from the moment it is spawned, so no failure, start-up included, leaves it running.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The crate's features and whether this test was compiled with each. A feature missing here is
/// caught by [`build`], which compares the list with `[features]` in Cargo.toml.
const FEATURES: [(&str, bool); 11] = [
    ("axum", cfg!(feature = "axum")),
    ("issue", cfg!(feature = "issue")),
    ("aws-lc-rs", cfg!(feature = "aws-lc-rs")),
    ("rust-crypto", cfg!(feature = "rust-crypto")),
    ("remote-jwks", cfg!(feature = "remote-jwks")),
    ("client", cfg!(feature = "client")),
    ("reqwest", cfg!(feature = "reqwest")),
    ("sqlx", cfg!(feature = "sqlx")),
    ("redis", cfg!(feature = "redis")),
    ("utoipa", cfg!(feature = "utoipa")),
    ("testing", cfg!(feature = "testing")),
];

/// How long an example may take to print its first line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds `examples/<name>.rs` with the profile and features of the running test, once per test
/// binary run, and returns the executable cargo reports.
pub fn build(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    // Held across the build: tests that start the same example in parallel share one build.
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    assert_features_listed();
    let features: Vec<&str> = FEATURES
        .iter()
        .filter(|(_, on)| *on)
        .map(|(feature, _)| *feature)
        .collect();
    let output = Command::new(env!("CARGO"))
        .current_dir(MANIFEST_DIR)
        .args(["build", "--example", name, "--profile", &profile()])
        .args(["--no-default-features", "--features", &features.join(",")])
        .arg("--message-format=json-render-diagnostics")
        .output()
        .expect("run cargo build");
    assert!(
        output.status.success(),
        "cargo build --example {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let executable = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == name
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo built no executable for example {name}"));
    built.insert(name.to_owned(), executable.clone());
    executable
}

/// The cargo profile this test binary was built with, from its `target/<dir>/deps` path.
fn profile() -> String {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(|dir| dir.to_str())
        .unwrap_or("debug");
    // Test targets build with `test`, which shares `debug` with `dev`; every other profile
    // builds into a folder of its own name.
    match dir {
        "debug" => "test".to_owned(),
        other => other.to_owned(),
    }
}

fn assert_features_listed() {
    let manifest =
        std::fs::read_to_string(Path::new(MANIFEST_DIR).join("Cargo.toml")).expect("Cargo.toml");
    let section = manifest
        .split_once("\n[features]\n")
        .expect("a [features] section")
        .1;
    let section = section.split("\n[").next().unwrap_or(section);
    for line in section.lines() {
        let Some((feature, _)) = line.split_once('=') else {
            continue;
        };
        let feature = feature.trim();
        if feature == "default" || feature.starts_with('#') {
            continue;
        }
        assert!(
            FEATURES.iter().any(|(known, _)| *known == feature),
            "feature {feature} is missing from FEATURES in tests/common/example_process.rs"
        );
    }
}

/// A child process that is killed and reaped when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Both fail only when the child is already gone, which is what we want.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running example and the first line it printed; killed and reaped when dropped, so a
/// failed assertion never leaks the process.
pub struct ExampleProcess {
    child: ChildGuard,
    first_line: String,
}

impl ExampleProcess {
    /// Builds the example, starts it from the crate root with `command` adding its arguments
    /// and environment, and waits for its first line on stdout. Panics, with the example's
    /// stderr, when it does not print one within a minute; the child is reaped first.
    pub fn start(name: &str, command: impl FnOnce(&mut Command)) -> Self {
        let mut cmd = Command::new(build(name));
        cmd.current_dir(MANIFEST_DIR);
        command(&mut cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = ChildGuard(cmd.spawn().expect("start the example"));

        // Both pipes are drained until the child exits, so it never blocks writing to them.
        let stdout = child.0.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok));
            for _ in lines {}
        });
        let mut stderr = child.0.stderr.take().expect("piped stderr");
        let stderr: JoinHandle<String> = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });

        match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(first_line)) => Self { child, first_line },
            outcome => {
                drop(child);
                let stderr = stderr.join().unwrap_or_default();
                let why = match outcome {
                    Err(mpsc::RecvTimeoutError::Timeout) => "printed nothing within a minute",
                    _ => "exited without printing a line",
                };
                panic!("example {name} {why}; its stderr:\n{stderr}");
            }
        }
    }

    /// The first line the example printed on stdout.
    pub fn first_line(&self) -> &str {
        &self.first_line
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.0.id()
    }

    /// The exit status, if the child has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.0.try_wait().expect("wait for the example")
    }
}
