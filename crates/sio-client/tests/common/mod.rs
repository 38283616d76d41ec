//! What the client's integration tests share, beyond sio-testkit (the
//! repository, free ports, conformance servers): the official server as a
//! tokio process, and waiting for a connection.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use sio_testkit::{free_port, spawn_ready};

/// The conformance server command: the official `socket.io` one or sio's.
pub fn conformance(official: bool) -> Command {
    let peer = if official {
        sio_testkit::Peer::Node
    } else {
        sio_testkit::Peer::Sio
    };
    Command::from(sio_testkit::conformance(peer))
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
