//! The `sio` binary end to end, against the official Node.js `socket.io`
//! server (tests/interop/lib/node-conformance.mjs) and sio's conformance
//! server (target/debug/examples/conformance, or `SIO_CONFORMANCE_BIN`),
//! both implementing /work/shared/conformance-server.md.
//!
//! Needs `scripts/setup` (npm packages) and `cargo build --example
//! conformance`; `scripts/test` does both first. Every process is bounded in
//! time: a command that does not finish is killed and the test fails.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, ChildStderr, Command};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{read_all, sio, spawn_sio, wait_bounded, Out, Peer, Server};
use sio_testkit::free_port;

/// A running `sio listen`, killed when dropped.
struct Listener {
    child: Child,
    started: Instant,
    what: String,
    stdout: Option<JoinHandle<String>>,
    stderr_lines: Receiver<String>,
    stderr_seen: Vec<String>,
}

impl Listener {
    fn start(args: &[&str]) -> Listener {
        let mut full = vec!["listen"];
        full.extend_from_slice(args);
        let started = Instant::now();
        let mut child = spawn_sio(&full);
        let stdout = read_all(child.stdout.take().unwrap());
        let stderr: ChildStderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Listener {
            child,
            started,
            what: format!("sio {full:?}"),
            stdout: Some(stdout),
            stderr_lines: rx,
            stderr_seen: Vec::new(),
        }
    }

    /// Waits for the next stderr line containing `needle`; returns it.
    fn wait_stderr(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "{}: no stderr line with {needle:?}; saw {:?}",
                    self.what, self.stderr_seen
                ),
            }
        }
    }

    /// Waits until it is connected; returns its socket id.
    fn connected(&mut self) -> String {
        let line = self.wait_stderr("connected to");
        line.rsplit(' ').next().unwrap().to_owned()
    }

    /// Waits for it to exit.
    fn finish(mut self) -> Out {
        let code = wait_bounded(&mut self.child, self.started, &self.what);
        let stdout = self.stdout.take().unwrap().join().unwrap();
        let mut stderr = self.stderr_seen.join("\n");
        while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_secs(2)) {
            stderr.push('\n');
            stderr.push_str(&line);
        }
        Out {
            code,
            stdout,
            stderr,
            elapsed: self.started.elapsed(),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ALL_MODES: [&str; 3] = ["websocket", "polling", "both"];
const MODES: [&str; 2] = ["websocket", "polling"];

fn assert_code(out: &Out, code: i32, ctx: &str) {
    assert_eq!(out.code, code, "{ctx}: {out:?}");
}

/// The stderr of a failure: exactly one line.
fn assert_one_line(out: &Out, ctx: &str) {
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{ctx}: {out:?}");
}

// ---- scenarios, each run against both servers --------------------------

/// `emit --ack`: several JSON arguments, binary among them, come back as one
/// JSON array on one line.
fn ack_with_binary(peer: Peer) {
    let server = Server::start(peer);
    for mode in ALL_MODES {
        let ctx = format!("{peer:?} {mode}");
        let out = sio(&[
            "emit",
            &server.url("/"),
            "message-with-ack",
            "1",
            "\"two\"",
            r#"{"three":[3,null,true],"bin":{"_binary_base64":"BAU="}}"#,
            r#"{"_binary_base64":"AAEC/w=="}"#,
            "-2.5",
            "--ack",
            "--transport",
            mode,
        ]);
        assert_code(&out, 0, &ctx);
        assert_eq!(
            out.stdout,
            "[1,\"two\",{\"three\":[3,null,true],\"bin\":{\"_binary_base64\":\"BAU=\"}},{\"_binary_base64\":\"AAEC/w==\"},-2.5]\n",
            "{ctx}"
        );
        assert_eq!(out.stderr, "", "{ctx}");

        // No arguments: an empty array.
        let out = sio(&[
            "emit",
            &server.url("/"),
            "message-with-ack",
            "--ack",
            "--transport",
            mode,
        ]);
        assert_code(&out, 0, &ctx);
        assert_eq!(out.stdout, "[]\n", "{ctx}");
    }
}

/// The namespace: the URL's path, overridden by `--namespace`.
fn namespaces(peer: Peer) {
    let server = Server::start(peer);
    for (url, nsp) in [
        (server.url("/custom"), None),
        (server.url("/"), Some("/custom")),
        (server.url("/nope"), Some("dynamic-12")),
    ] {
        let ctx = format!("{peer:?} {url} {nsp:?}");
        let mut args = vec!["emit", &url, "message-with-ack", "\"here\"", "--ack"];
        if let Some(nsp) = nsp {
            args.extend(["--namespace", nsp]);
        }
        let out = sio(&args);
        assert_code(&out, 0, &ctx);
        assert_eq!(out.stdout, "[\"here\"]\n", "{ctx}");
    }
}

/// `emit` without `--ack` is delivered before `sio` exits: a concurrent
/// `sio listen` sees what the server sends because of it. (Several emits:
/// the official server drops an event that arrives together with the
/// DISCONNECT, so a missing flush shows up most of the time in each.)
fn emit_reaches_listener(peer: Peer) {
    let server = Server::start(peer);
    for mode in ALL_MODES {
        let ctx = format!("{peer:?} {mode}");
        let mut listener = Listener::start(&[
            &server.url("/"),
            "--event",
            "all-message",
            "--event",
            "broadcast-message",
            "--count",
            "4",
            "--transport",
            mode,
        ]);
        listener.connected();
        let out = sio(&[
            "emit",
            &server.url("/"),
            "emit-all",
            r#"{"_binary_base64":"AAEC"}"#,
            "7",
            "--transport",
            mode,
        ]);
        assert_code(&out, 0, &ctx);
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("", ""),
            "{ctx}"
        );
        for n in 1..=3 {
            let arg = n.to_string();
            let out = sio(&[
                "emit",
                &server.url("/"),
                "broadcast",
                &arg,
                "--transport",
                mode,
            ]);
            assert_code(&out, 0, &ctx);
        }
        let heard = listener.finish();
        assert_code(&heard, 0, &ctx);
        assert_eq!(
            heard.stdout,
            "[\"all-message\",{\"_binary_base64\":\"AAEC\"},7]\n\
             [\"broadcast-message\",1]\n[\"broadcast-message\",2]\n[\"broadcast-message\",3]\n",
            "{ctx}"
        );
    }
}

/// `--event` keeps only the named events; `--count` stops after N of them;
/// without `--event` everything is printed, `auth` first.
fn listen_filters_and_counts(peer: Peer) {
    let server = Server::start(peer);
    for mode in MODES {
        let ctx = format!("{peer:?} {mode}");
        let url = server.url("/");
        let mut filtered = Listener::start(&[
            &url,
            "--event",
            "broadcast-message",
            "--count",
            "2",
            "--transport",
            mode,
        ]);
        filtered.connected();
        let mut everything = Listener::start(&[&url, "--count", "2", "--transport", mode]);
        everything.connected();
        for (event, arg) in [
            ("message", "\"echoed to the sender only\""),
            ("emit-all", "{\"n\":1}"),
            ("broadcast", "\"a\""),
            ("broadcast", "\"b\""),
            ("broadcast", "\"c\""),
        ] {
            let out = sio(&["emit", &url, event, arg, "--transport", mode]);
            assert_code(&out, 0, &ctx);
        }
        let out = filtered.finish();
        assert_code(&out, 0, &ctx);
        assert_eq!(
            out.stdout, "[\"broadcast-message\",\"a\"]\n[\"broadcast-message\",\"b\"]\n",
            "{ctx}"
        );
        let out = everything.finish();
        assert_code(&out, 0, &ctx);
        assert_eq!(
            out.stdout, "[\"auth\",{}]\n[\"all-message\",{\"n\":1}]\n",
            "{ctx}"
        );
    }
}

/// `--auth`: the server's `auth` event echoes the payload, first.
fn auth(peer: Peer) {
    let server = Server::start(peer);
    for mode in MODES {
        let ctx = format!("{peer:?} {mode}");
        let out = Listener::start(&[
            &server.url("/custom"),
            "--auth",
            r#"{"user":"cli","n":[1,2.5,null]}"#,
            "--count",
            "1",
            "--transport",
            mode,
        ])
        .finish();
        assert_code(&out, 0, &ctx);
        assert_eq!(
            out.stdout, "[\"auth\",{\"user\":\"cli\",\"n\":[1,2.5,null]}]\n",
            "{ctx}"
        );
    }
}

/// A middleware refusal: exit 2, message and data on stderr.
fn forbidden(peer: Peer) {
    let server = Server::start(peer);
    for mode in MODES {
        let ctx = format!("{peer:?} {mode}");
        let token = r#"{"token":"forbidden"}"#;
        let url = server.url("/custom");
        let outs = [
            sio(&[
                "emit",
                &url,
                "message",
                "1",
                "--auth",
                token,
                "--transport",
                mode,
            ]),
            sio(&["listen", &url, "--auth", token, "--transport", mode]),
        ];
        for out in outs {
            assert_code(&out, 2, &ctx);
            assert_eq!(out.stdout, "", "{ctx}");
            assert!(out.stderr.contains("forbidden"), "{ctx}: {out:?}");
            assert!(
                out.stderr.contains(r#"{"reason":"bad token"}"#),
                "{ctx}: {out:?}"
            );
        }
    }
}

/// An unknown namespace: exit 2 with "Invalid namespace".
fn invalid_namespace(peer: Peer) {
    let server = Server::start(peer);
    for mode in MODES {
        let ctx = format!("{peer:?} {mode}");
        let outs = [
            sio(&["emit", &server.url("/nope"), "x", "--transport", mode]),
            sio(&[
                "emit",
                &server.url("/"),
                "x",
                "--ack",
                "--namespace",
                "/nope",
                "--transport",
                mode,
            ]),
            sio(&["listen", &server.url("/nope"), "--transport", mode]),
        ];
        for out in outs {
            assert_code(&out, 2, &ctx);
            assert!(out.stderr.contains("Invalid namespace"), "{ctx}: {out:?}");
            assert_one_line(&out, &ctx);
        }
    }
}

/// `message` is never acked: `--ack --timeout 300` exits 3 soon after 300 ms.
fn ack_timeout(peer: Peer) {
    let server = Server::start(peer);
    for mode in MODES {
        let ctx = format!("{peer:?} {mode}");
        let out = sio(&[
            "emit",
            &server.url("/"),
            "message",
            "1",
            "--ack",
            "--timeout",
            "300",
            "--transport",
            mode,
        ]);
        assert_code(&out, 3, &ctx);
        assert_eq!(out.stdout, "", "{ctx}");
        assert_one_line(&out, &ctx);
        assert!(
            out.elapsed >= Duration::from_millis(300) && out.elapsed < Duration::from_secs(4),
            "{ctx}: {out:?}"
        );
    }
}

/// The server disconnects the listener (`disconnect-room` with its id):
/// no reconnection, exit 1 with the reason.
fn server_disconnects_listener(peer: Peer) {
    let server = Server::start(peer);
    for mode in MODES {
        let ctx = format!("{peer:?} {mode}");
        let mut listener = Listener::start(&[&server.url("/"), "--transport", mode]);
        let id = listener.connected();
        let out = sio(&[
            "emit",
            &server.url("/"),
            "disconnect-room",
            &format!("\"{id}\""),
        ]);
        assert_code(&out, 0, &ctx);
        let out = listener.finish();
        assert_code(&out, 1, &ctx);
        assert_eq!(out.stdout, "[\"auth\",{}]\n", "{ctx}");
        assert!(
            out.stderr.contains("io server disconnect"),
            "{ctx}: {out:?}"
        );
    }
}

/// Ctrl-C stops `listen` with status 130, disconnecting first: right after,
/// the server no longer has the socket.
fn interrupt_disconnects_cleanly(peer: Peer) {
    let server = Server::start(peer);
    for mode in MODES {
        let ctx = format!("{peer:?} {mode}");
        let mut listener = Listener::start(&[&server.url("/"), "--transport", mode]);
        let id = listener.connected();
        let room = format!("\"{id}\"");
        let out = sio(&["emit", &server.url("/"), "sockets-in", &room, "--ack"]);
        assert_eq!(out.stdout, format!("[[{room}]]\n"), "{ctx}: {out:?}");
        let killed = Command::new("kill")
            .args(["-INT", &listener.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success(), "{ctx}");
        let out = listener.finish();
        assert_code(&out, 130, &ctx);
        let out = sio(&["emit", &server.url("/"), "sockets-in", &room, "--ack"]);
        assert_eq!(out.stdout, "[[]]\n", "{ctx}: {out:?}");
    }
}

/// `listen` reconnects after the server goes away and comes back.
fn listen_reconnects(peer: Peer) {
    let port = free_port();
    let server = Server::start_with(peer, port, &[]);
    let mut listener = Listener::start(&[
        &server.url("/"),
        "--event",
        "broadcast-message",
        "--count",
        "1",
        "--transport",
        "websocket",
    ]);
    let first = listener.connected();
    drop(server);
    listener.wait_stderr("reconnecting");
    let server = Server::start_with(peer, port, &[]);
    let second = listener.connected();
    assert_ne!(first, second, "{peer:?}: a new socket id");
    let out = sio(&["emit", &server.url("/"), "broadcast", "\"again\""]);
    assert_code(&out, 0, &format!("{peer:?}"));
    let out = listener.finish();
    assert_code(&out, 0, &format!("{peer:?}"));
    assert_eq!(
        out.stdout, "[\"broadcast-message\",\"again\"]\n",
        "{peer:?}"
    );
}

macro_rules! against_both {
    ($($name:ident),* $(,)?) => {
        mod node {
            $(#[test] fn $name() { super::$name(super::Peer::Node) })*
        }
        mod sio {
            $(#[test] fn $name() { super::$name(super::Peer::Sio) })*
        }
    };
}

against_both!(
    ack_with_binary,
    namespaces,
    emit_reaches_listener,
    listen_filters_and_counts,
    auth,
    forbidden,
    invalid_namespace,
    ack_timeout,
    server_disconnects_listener,
    interrupt_disconnects_cleanly,
    listen_reconnects,
);

// ---- no server needed ----------------------------------------------------

/// Bad input fails with status 1 and one line on stderr, before connecting
/// (the port is closed: connecting would be status 2).
#[test]
fn bad_input_exits_1() {
    let url = format!("http://127.0.0.1:{}/", free_port());
    for args in [
        vec!["emit", &url, "x", "{bad"],
        vec!["emit", &url, "x", "1", "[1,"],
        vec!["emit", &url, "x", r#"{"_binary_base64":"%%"}"#],
        vec!["emit", &url, "x", "--auth", "[1]"],
        vec![
            "emit",
            &url,
            "x",
            "--auth",
            r#"{"k":{"_binary_base64":"AA=="}}"#,
        ],
        vec!["emit", &url, "connect"],
        vec!["emit", "ftp://127.0.0.1/", "x"],
        vec!["listen", &url, "--auth", "nope"],
    ] {
        let out = sio(&args);
        assert_code(&out, 1, &format!("{args:?}"));
        assert_one_line(&out, &format!("{args:?}"));
        assert!(out.stderr.starts_with("sio: "), "{args:?}: {out:?}");
    }
    // The offending argument is named.
    let out = sio(&["emit", &url, "x", "1", "{bad"]);
    assert!(out.stderr.contains("argument 2"), "{out:?}");
}

/// Nothing listens on the port: a non-zero exit, well within the timeout.
#[test]
fn unreachable_server_fails_fast() {
    let url = format!("http://127.0.0.1:{}/", free_port());
    for mode in ALL_MODES {
        for args in [
            vec!["emit", &url, "x", "--timeout", "2000", "--transport", mode],
            vec![
                "emit",
                &url,
                "x",
                "--ack",
                "--timeout",
                "2000",
                "--transport",
                mode,
            ],
            vec!["listen", &url, "--timeout", "2000", "--transport", mode],
        ] {
            let out = sio(&args);
            assert_ne!(out.code, 0, "{args:?}: {out:?}");
            assert!(
                out.elapsed < Duration::from_millis(2900),
                "{args:?}: {out:?}"
            );
            assert_one_line(&out, &format!("{args:?}"));
        }
    }
}

/// A server that accepts TCP connections and never answers: the
/// connection times out after `--timeout` (a `connect_error`, status 2).
#[test]
fn silent_server_times_out() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/", silent.local_addr().unwrap().port());
    for mode in MODES {
        for args in [
            vec!["emit", &url, "x", "--timeout", "700", "--transport", mode],
            vec!["listen", &url, "--timeout", "700", "--transport", mode],
        ] {
            let out = sio(&args);
            assert_code(&out, 2, &format!("{args:?}"));
            assert!(out.stderr.contains("timeout"), "{args:?}: {out:?}");
            assert!(
                out.elapsed >= Duration::from_millis(700) && out.elapsed < Duration::from_secs(4),
                "{args:?}: {out:?}"
            );
        }
    }
    drop(silent);
}

#[test]
fn help_has_examples() {
    let out = sio(&["--help"]);
    assert_code(&out, 0, "--help");
    assert!(out.stdout.contains("Examples:"), "{out:?}");
    assert!(out.stdout.contains("sio emit ") && out.stdout.contains("sio listen "));
    for sub in ["emit", "listen"] {
        let out = sio(&[sub, "--help"]);
        assert_code(&out, 0, sub);
        assert!(out.stdout.contains("Examples:"), "{sub}: {out:?}");
        assert!(
            out.stdout.contains(&format!("sio {sub} http://")),
            "{sub}: {out:?}"
        );
        assert!(out.stdout.contains("--transport"), "{sub}: {out:?}");
    }
    let out = sio(&["emit", "--help"]);
    assert!(out.stdout.contains("--ack") && out.stdout.contains("_binary_base64"));
    let out = sio(&["listen", "--help"]);
    assert!(out.stdout.contains("--event") && out.stdout.contains("--count"));
}
