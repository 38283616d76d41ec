//! What the client's integration tests share: finding the repository,
//! picking ports, and starting a server process that prints
//! `listening on ...` when it is ready.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The conformance server command: the official `socket.io` one
/// (tests/interop/lib/node-conformance.mjs) or sio's
/// (`target/debug/examples/conformance`, or `SIO_CONFORMANCE_BIN`).
pub fn conformance(official: bool) -> Command {
    if official {
        assert!(
            root().join("tests/interop/node_modules/socket.io").exists(),
            "npm packages missing: run scripts/setup"
        );
        let mut c = Command::new("node");
        c.arg(root().join("tests/interop/lib/node-conformance.mjs"));
        c
    } else {
        let bin = std::env::var_os("SIO_CONFORMANCE_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target/debug/examples/conformance"));
        assert!(
            bin.exists(),
            "{} missing: run cargo build --example conformance",
            bin.display()
        );
        Command::new(bin)
    }
}

/// Starts `cmd` and waits (at most 20 s) for its `listening on` line. The
/// process is killed when the returned handle is dropped.
pub async fn spawn_ready(cmd: &mut Command) -> Child {
    let mut child = cmd
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("listening on") {
                return;
            }
        }
        panic!("server exited before it was ready");
    })
    .await
    .expect("server ready in time");
    child
}

/// The official Node.js conformance server on a free port, and its URL
/// (killed when the `Child` is dropped).
pub async fn official_server() -> (Child, String) {
    let port = free_port();
    let mut cmd = conformance(true);
    cmd.arg("--port")
        .arg(port.to_string())
        .stderr(Stdio::null());
    (
        spawn_ready(&mut cmd).await,
        format!("http://127.0.0.1:{port}"),
    )
}

/// Waits (at most 10 s) until `socket` is connected.
pub async fn wait_connected(socket: &sio_client::Socket) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !socket.connected() {
        assert!(tokio::time::Instant::now() < deadline, "connect in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
