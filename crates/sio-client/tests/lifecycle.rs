//! The order of lifecycle events (connect, connect_error, disconnect and the
//! Manager's reconnect_attempt / reconnect_error / reconnect /
//! reconnect_failed), compared line by line with the official
//! `socket.io-client` (tests/interop/lib/client-lifecycle.mjs) in the same
//! situations: a server that is not there, and a server that dies and comes
//! back.
//!
//! Needs `scripts/setup` (npm packages) and `cargo build --example
//! conformance` (or `SIO_CONFORMANCE_BIN`); `scripts/test` does both first.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_client::{ConnectErrorKind, Manager, ManagerOptions, Socket, Transport};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

/// Held by the tests that touch the process-wide memory of a WebSocket
/// success (`remember_upgrade`).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Lifecycle events as lines, in the order they happened.
#[derive(Clone, Default)]
struct Trace(Arc<Mutex<Vec<String>>>);

impl Trace {
    fn push(&self, line: impl Into<String>) {
        self.0.lock().unwrap().push(line.into());
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (at most 15 s) until `done` holds for the lines so far.
    async fn until(&self, what: &str, done: impl Fn(&[String]) -> bool) {
        for _ in 0..1500 {
            if done(&self.lines()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what}: {:?}", self.lines());
    }

    /// Waits until the trace has a line starting with `prefix`, counting
    /// from line `from`.
    async fn until_line(&self, from: usize, prefix: &str) {
        self.until(prefix, |l| {
            l.iter().skip(from).any(|x| x.starts_with(prefix))
        })
        .await;
    }
}

/// Backoff without jitter, so that both clients wait the same.
fn fixed_backoff(delay: u64, transports: &[Transport], attempts: Option<u32>) -> ManagerOptions {
    ManagerOptions {
        transports: transports.to_vec(),
        reconnection_attempts: attempts,
        reconnection_delay: Duration::from_millis(delay),
        reconnection_delay_max: Duration::from_millis(delay),
        randomization_factor: 0.0,
        timeout: Some(Duration::from_secs(5)),
        ..ManagerOptions::default()
    }
}

/// The same options for the official client.
fn node_options(delay: u64, transports: &[Transport], attempts: Option<u32>) -> String {
    node_options_with(delay, transports, attempts, true)
}

fn node_options_with(
    delay: u64,
    transports: &[Transport],
    attempts: Option<u32>,
    reconnection: bool,
) -> String {
    let names: Vec<_> = transports
        .iter()
        .map(|t| match t {
            Transport::Polling => "\"polling\"",
            Transport::WebSocket => "\"websocket\"",
        })
        .collect();
    // JSON has no Infinity (the reference's default): a billion will do.
    let attempts = attempts.unwrap_or(1_000_000_000);
    format!(
        "{{\"transports\":[{}],\"reconnectionDelay\":{delay},\"reconnectionDelayMax\":{delay},\
         \"randomizationFactor\":0,\"timeout\":5000,\"reconnectionAttempts\":{attempts},\
         \"reconnection\":{reconnection}}}",
        names.join(",")
    )
}

/// sio-client, tracing what the official client's script traces.
fn sio_client(url: &str, opts: ManagerOptions) -> (Manager, Socket, Trace) {
    let trace = Trace::default();
    let manager = Manager::new(url, opts).unwrap();
    let socket = manager.socket("/");
    let (t, m) = (trace.clone(), manager.clone());
    socket.on_connect(move |_| {
        t.push("connect");
        let name = match m.transport() {
            Some(Transport::Polling) => "polling",
            Some(Transport::WebSocket) => "websocket",
            None => "none",
        };
        t.push(format!("transport:{name}"));
        async {}
    });
    let t = trace.clone();
    socket.on_connect_error(move |_, err| {
        assert_ne!(err.kind, ConnectErrorKind::Refused, "{err:?}");
        t.push("connect_error");
        async {}
    });
    let t = trace.clone();
    socket.on_disconnect(move |_, reason| {
        t.push(format!("disconnect:{reason}"));
        async {}
    });
    let t = trace.clone();
    manager.on_reconnect_attempt(move |n| t.push(format!("reconnect_attempt:{n}")));
    let t = trace.clone();
    manager.on_reconnect_error(move |_| t.push("reconnect_error"));
    let t = trace.clone();
    manager.on_reconnect(move |n| t.push(format!("reconnect:{n}")));
    let t = trace.clone();
    manager.on_reconnect_failed(move || t.push("reconnect_failed"));
    socket.connect();
    (manager, socket, trace)
}

/// sio's conformance server on `port`. Killed on drop.
async fn sio_server(port: u16) -> Child {
    let mut cmd = common::conformance(false);
    cmd.arg("--port")
        .arg(port.to_string())
        .stderr(Stdio::null());
    sio_testkit::spawn_ready(&mut cmd).await
}

/// The official client, its lines collected into a trace. Killed on drop.
fn node_client(url: &str, options: &str) -> (Child, Trace) {
    let script = sio_testkit::root().join("tests/interop/lib/client-lifecycle.mjs");
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .arg(url)
        .arg(options)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let trace = Trace::default();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let t = trace.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            t.push(line);
        }
    });
    (child, trace)
}

/// Nobody listens: every attempt fails, and after the last one the
/// reference emits `reconnect_failed` *before* that attempt's
/// `reconnect_error`. Both clients must tell the same story.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_like_the_official_client() {
    // Failed WebSocket attempts reset what `remember_upgrade` remembers.
    let _serial = SERIAL.lock().await;
    for transports in [&[Transport::WebSocket][..], &[Transport::Polling][..]] {
        let url = format!("http://127.0.0.1:{}/", sio_testkit::free_port());
        let (_node, node) = node_client(&url, &node_options(50, transports, Some(2)));
        let (_manager, socket, ours) = sio_client(&url, fixed_backoff(50, transports, Some(2)));
        for trace in [&node, &ours] {
            trace
                .until("gave up", |l| {
                    l.iter().any(|x| x == "reconnect_failed")
                        && l.last().unwrap() != "reconnect_failed"
                })
                .await;
        }
        // Nothing more comes after giving up.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let expected = [
            "connect_error",
            "reconnect_attempt:1",
            "connect_error",
            "reconnect_error",
            "reconnect_attempt:2",
            "connect_error",
            "reconnect_failed",
            "reconnect_error",
        ];
        assert_eq!(
            node.lines(),
            expected,
            "{transports:?}: the official client"
        );
        assert_eq!(ours.lines(), expected, "{transports:?}: sio-client");
        assert!(!socket.connected());
    }
}

/// Replaces every run of failed attempts (`reconnect_attempt:N`,
/// `connect_error`, `reconnect_error`) by one, without the numbers: how
/// many attempts fail while the server is down depends on timing.
fn collapse(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let failed_attempt = lines[i].starts_with("reconnect_attempt:")
            && lines.get(i + 1).is_some_and(|l| l == "connect_error")
            && lines.get(i + 2).is_some_and(|l| l == "reconnect_error");
        if failed_attempt {
            if !out.ends_with(&[
                "reconnect_attempt".into(),
                "connect_error".into(),
                "reconnect_error".into(),
            ]) {
                out.extend(
                    ["reconnect_attempt", "connect_error", "reconnect_error"].map(String::from),
                );
            }
            i += 3;
        } else {
            out.push(match lines[i].split_once(':') {
                Some(("reconnect_attempt", _)) => "reconnect_attempt".into(),
                Some(("reconnect", _)) => "reconnect".into(),
                _ => lines[i].clone(),
            });
            i += 1;
        }
    }
    out
}

/// `reconnect:N` carries the number of the attempt that worked.
fn reconnect_count_matches(lines: &[String]) -> bool {
    let last_attempt = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("reconnect_attempt:"));
    let reconnect = lines.iter().find_map(|l| l.strip_prefix("reconnect:"));
    last_attempt.is_some() && last_attempt == reconnect
}

/// The server is killed and comes back on the same port while both
/// clients are connected: the same events, in the same order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_like_the_official_client() {
    let port = sio_testkit::free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let server = sio_server(port).await;
    let transports = [Transport::WebSocket];
    let (_node, node) = node_client(&url, &node_options(100, &transports, None));
    let (_manager, socket, ours) = sio_client(&url, fixed_backoff(100, &transports, None));
    for trace in [&node, &ours] {
        trace.until_line(0, "connect").await;
    }
    drop(server); // killed
    for trace in [&node, &ours] {
        trace.until_line(0, "reconnect_error").await;
    }
    let _server = sio_server(port).await;
    for trace in [&node, &ours] {
        trace
            .until("connected again", |l| {
                l.iter().filter(|x| x.as_str() == "connect").count() == 2
            })
            .await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (node, ours) = (node.lines(), ours.lines());
    let expected = [
        "connect",
        "transport:websocket",
        "disconnect:transport close",
        "reconnect_attempt",
        "connect_error",
        "reconnect_error",
        "reconnect_attempt",
        "reconnect",
        "connect",
        "transport:websocket",
    ];
    assert_eq!(collapse(&node), expected, "the official client: {node:?}");
    assert_eq!(collapse(&ours), expected, "sio-client: {ours:?}");
    assert!(reconnect_count_matches(&node), "{node:?}");
    assert!(reconnect_count_matches(&ours), "{ours:?}");
    assert!(socket.connected());
}

/// The server stops answering (SIGSTOP) while both clients are connected:
/// each notices the missing ping after pingInterval + pingTimeout (300 +
/// 200 ms on the conformance server) and disconnects with `ping timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_timeout_like_the_official_client() {
    let port = sio_testkit::free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let server = sio_server(port).await;
    let pid = server.id().unwrap().to_string();
    let transports = [Transport::WebSocket];
    let (_node, node) = node_client(&url, &node_options_with(100, &transports, None, false));
    let opts = ManagerOptions {
        reconnection: false,
        ..fixed_backoff(100, &transports, None)
    };
    let (_manager, socket, ours) = sio_client(&url, opts);
    for trace in [&node, &ours] {
        trace.until_line(0, "connect").await;
    }
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
    };
    signal("-STOP");
    let stopped = std::time::Instant::now();
    for trace in [&node, &ours] {
        trace.until_line(0, "disconnect:").await;
    }
    let waited = stopped.elapsed();
    signal("-CONT");
    let expected = ["connect", "transport:websocket", "disconnect:ping timeout"];
    assert_eq!(node.lines(), expected, "the official client");
    assert_eq!(ours.lines(), expected, "sio-client");
    // Not before the heartbeat allows (the last ping may be up to 300 ms old).
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    // Still active, as the reference's socket: its subscriptions to the
    // manager stay until `disconnect()`, so a `connect()` of the manager
    // would bring it back.
    assert!(!socket.connected() && socket.active());
    drop(server);
}

/// `remember_upgrade`: once a WebSocket connection worked in this process,
/// a client with the option starts with WebSocket at once; one without it
/// starts with polling and upgrades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_upgrade_starts_with_websocket() {
    let _serial = SERIAL.lock().await;
    let port = sio_testkit::free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let _server = sio_server(port).await;
    let both = [Transport::Polling, Transport::WebSocket];
    // The transport each connection OPENED with (Manager::on_open): the
    // one seen in `connect` may already be the upgraded one.
    let connect = |remember: bool| {
        let opts = ManagerOptions {
            remember_upgrade: remember,
            ..fixed_backoff(100, &both, None)
        };
        let (manager, socket, trace) = sio_client(&url, opts);
        let opened = Arc::new(Mutex::new(Vec::new()));
        let o = opened.clone();
        manager.on_open(move |t| o.lock().unwrap().push(t));
        (manager, socket, trace, opened)
    };

    // Polling first, then the upgrade.
    let (first, _s1, t1, o1) = connect(false);
    t1.until_line(0, "connect").await;
    assert_eq!(*o1.lock().unwrap(), [Transport::Polling]);
    for _ in 0..500 {
        if first.transport() == Some(Transport::WebSocket) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(first.transport(), Some(Transport::WebSocket), "upgraded");
    first.close();

    // Remembered: WebSocket from the start.
    let (second, _s2, t2, o2) = connect(true);
    t2.until_line(0, "connect").await;
    assert_eq!(*o2.lock().unwrap(), [Transport::WebSocket]);
    assert_eq!(t2.lines()[1], "transport:websocket");
    second.close();

    // Not asked to remember: polling first again.
    let (third, _s3, t3, o3) = connect(false);
    t3.until_line(0, "connect").await;
    assert_eq!(*o3.lock().unwrap(), [Transport::Polling]);
    third.close();
}
