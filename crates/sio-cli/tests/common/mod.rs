//! What the end-to-end tests of the `sio` binary share: conformance servers
//! (the official Node.js one of tests/interop/lib/node-conformance.mjs and
//! sio's target/debug/examples/conformance, or `SIO_CONFORMANCE_BIN`), and
//! running `sio` bounded in time.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any one `sio` process may run.
pub const LIMIT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Peer {
    Node,
    Sio,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A conformance server, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(peer: Peer) -> Server {
        Server::start_on(peer, free_port())
    }

    pub fn start_on(peer: Peer, port: u16) -> Server {
        Server::start_with(peer, port, &[])
    }

    /// Starts `peer` on `port` (0: the system picks one, read from the
    /// `listening on 127.0.0.1:PORT` line) with extra arguments.
    pub fn start_with(peer: Peer, port: u16, args: &[&str]) -> Server {
        let mut cmd = match peer {
            Peer::Node => {
                assert!(
                    root().join("tests/interop/node_modules/socket.io").exists(),
                    "npm packages missing: run scripts/setup"
                );
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
        };
        let mut child = cmd
            .arg("--port")
            .arg(port.to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some((_, bound)) = line.split_once("listening on 127.0.0.1:") {
                    let _ = tx.send(bound.trim().parse::<u16>().unwrap_or(0));
                }
            }
        });
        let mut server = Server { child, port };
        let bound = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{peer:?} server ready in time"));
        if port == 0 {
            assert_ne!(bound, 0, "{peer:?} prints the port it bound");
            server.port = bound;
        }
        server
    }

    pub fn url(&self, nsp: &str) -> String {
        format!("http://127.0.0.1:{}{nsp}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// What a finished `sio` process did.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

pub fn read_all(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

pub fn spawn_sio(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sio"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sio starts")
}

/// Waits for `child`, killing it (and failing) after [`LIMIT`].
pub fn wait_bounded(child: &mut Child, started: Instant, what: &str) -> i32 {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `sio ARGS` to completion.
pub fn sio(args: &[&str]) -> Out {
    let started = Instant::now();
    let mut child = spawn_sio(args);
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let code = wait_bounded(&mut child, started, &format!("sio {args:?}"));
    Out {
        code,
        elapsed: started.elapsed(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}
