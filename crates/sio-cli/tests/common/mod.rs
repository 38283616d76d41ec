//! What the end-to-end tests of the `sio` binary share: running `sio`
//! bounded in time; the conformance servers come from sio-testkit.

#![allow(dead_code)] // each test file uses its own part

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any one `sio` process may run.
pub const LIMIT: Duration = Duration::from_secs(20);

pub use sio_testkit::{Peer, Server};

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
