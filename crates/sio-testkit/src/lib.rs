//! What sio's integration tests share: finding the repository, picking free
//! ports, and starting the conformance servers (the official Node.js one of
//! `tests/interop/lib/node-conformance.mjs`, or sio's
//! `target/debug/examples/conformance`) that print `listening on
//! 127.0.0.1:PORT` once they accept connections.
//!
//! A dev-dependency of the crates' tests only; never published.
//!
//! ```no_run
//! use sio_testkit::{Peer, Server};
//!
//! // The official server on a port the system picks; killed when dropped.
//! let server = Server::start(Peer::Node);
//! println!("{}", server.url("/"));
//! ```

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long a server may take to print its `listening on` line.
pub const READY_WITHIN: Duration = Duration::from_secs(20);

/// The repository root.
///
/// ```
/// assert!(sio_testkit::root().join("Cargo.toml").exists());
/// ```
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port on 127.0.0.1 that was free a moment ago.
///
/// ```
/// assert_ne!(sio_testkit::free_port(), 0);
/// ```
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local address")
        .port()
}

/// Panics with the fix unless the npm package `package` is installed in
/// tests/interop (scripts/setup installs them): the tests never skip.
///
/// ```no_run
/// sio_testkit::require_npm("socket.io");
/// ```
pub fn require_npm(package: &str) {
    assert!(
        root()
            .join("tests/interop/node_modules")
            .join(package)
            .exists(),
        "npm package {package} missing: run scripts/setup"
    );
}

/// Which conformance server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The official one: npm `socket.io` in tests/interop/lib/node-conformance.mjs.
    Node,
    /// sio's: target/debug/examples/conformance, or `$SIO_CONFORMANCE_BIN`.
    Sio,
}

/// The command that runs `peer`'s conformance server (arguments such as
/// `--port` are the caller's).
///
/// ```no_run
/// use sio_testkit::{conformance, Peer};
///
/// let mut cmd = conformance(Peer::Sio);
/// cmd.args(["--port", "0"]);
/// ```
pub fn conformance(peer: Peer) -> Command {
    match peer {
        Peer::Node => {
            require_npm("socket.io");
            let mut c = Command::new("node");
            c.arg(root().join("tests/interop/lib/node-conformance.mjs"));
            c
        }
        Peer::Sio => {
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
}

/// The port of a `listening on 127.0.0.1:PORT` line (`Some(0)` for a
/// `listening on` line without one).
fn ready_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("listening on")?;
    let port = rest
        .trim()
        .rsplit_once(':')
        .and_then(|(_, p)| p.trim().parse().ok());
    Some(port.unwrap_or(0))
}

/// A server process, killed (and reaped) when dropped, even when the test
/// fails.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl Server {
    /// `peer` on a port the system picks.
    pub fn start(peer: Peer) -> Server {
        Server::start_with(peer, 0, &[])
    }

    /// `peer` on `port` (0: the system picks one, read from its
    /// `listening on 127.0.0.1:PORT` line), with extra arguments.
    pub fn start_with(peer: Peer, port: u16, args: &[&str]) -> Server {
        let mut cmd = conformance(peer);
        cmd.arg("--port").arg(port.to_string()).args(args);
        Server::spawn(cmd, port, &format!("{peer:?} server"))
    }

    /// Runs `cmd` (stdout is read here; stdin and stderr are null) and
    /// waits for its `listening on` line.
    pub fn spawn(mut cmd: Command, port: u16, what: &str) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{what} starts: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Reads to the end, so that the server never blocks on a full pipe.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(bound) = ready_port(&line) {
                    let _ = tx.send(bound);
                }
            }
        });
        let mut server = Server { child, port };
        let bound = rx
            .recv_timeout(READY_WITHIN)
            .unwrap_or_else(|_| panic!("{what} ready within {READY_WITHIN:?}"));
        if port == 0 {
            assert_ne!(bound, 0, "{what} prints the port it bound");
            server.port = bound;
        }
        server
    }

    /// [`Server::start_with`] off the async runtime's thread (the wait
    /// would stall a current-thread runtime's other tasks).
    pub async fn start_async(peer: Peer, port: u16, args: &[&str]) -> Server {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Server::start_with(peer, port, &args)
        })
        .await
        .expect("server start")
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process now (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `cmd` (stdout piped and read here) as a tokio process, killed
/// when the returned handle is dropped, and waits at most [`READY_WITHIN`]
/// for its `listening on` line.
///
/// ```no_run
/// # async fn f() {
/// let mut cmd = tokio::process::Command::from(sio_testkit::conformance(sio_testkit::Peer::Node));
/// cmd.args(["--port", "3000"]);
/// let _server = sio_testkit::spawn_ready(&mut cmd).await;
/// # }
/// ```
pub async fn spawn_ready(cmd: &mut tokio::process::Command) -> tokio::process::Child {
    use tokio::io::AsyncBufReadExt;
    let mut child = cmd
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("server starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    tokio::time::timeout(READY_WITHIN, async {
        while let Some(line) = lines.next_line().await.expect("server's stdout") {
            if ready_port(&line).is_some() {
                // Keeps reading, so that the server never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return;
            }
        }
        panic!("server exited before it was ready");
    })
    .await
    .expect("server ready in time");
    child
}

#[cfg(test)]
mod tests {
    use super::ready_port;

    #[test]
    fn reads_the_port_of_the_ready_line() {
        assert_eq!(ready_port("listening on 127.0.0.1:4242"), Some(4242));
        assert_eq!(ready_port("listening on http://127.0.0.1:80/"), Some(0));
        assert_eq!(ready_port("listening on port"), Some(0));
        assert_eq!(ready_port("something else"), None);
    }
}
