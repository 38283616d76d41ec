//! sio's server API additions seen from the official socket.io-client
//! (tests/interop/lib/scripted-client.mjs): `SocketIo::use_middleware`
//! (`io.use`), and the listener methods of a server `Socket`
//! (`remove_all_listeners`, `event_names`, `listener_count`).
//!
//! Needs `scripts/setup` (npm packages).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use sio::server::{ConnectError, SocketIo};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The official client in a node process, one JSON line per thing it sees.
struct NodeClient {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl NodeClient {
    async fn start(url: &str, opts: Value) -> NodeClient {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        assert!(
            root.join("tests/interop/node_modules/socket.io-client")
                .exists(),
            "npm packages missing: run scripts/setup"
        );
        let mut child = tokio::process::Command::new("node")
            .arg(root.join("tests/interop/lib/scripted-client.mjs"))
            .arg(url)
            .arg(opts.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        NodeClient {
            _child: child,
            stdin,
            lines,
        }
    }

    /// The next line the client printed (at most 10 s).
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("a line from the client in time")
            .unwrap()
            .expect("the client is still running");
        serde_json::from_str(&line).unwrap()
    }

    async fn send(&mut self, command: Value) {
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
    }
}

async fn serve(io: &SocketIo) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sio::server::serve(listener, io.service()));
    url
}

/// `io.use(...)`: the middleware sees the handshake; its refusal reaches
/// the official client as a connect_error with the message and the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_use_middleware_refuses_with_message_and_data() {
    let io = SocketIo::new(Default::default());
    io.use_middleware(|socket| async move {
        match socket.handshake().auth["token"].as_str() {
            Some("abc") => Ok(()),
            _ => Err(ConnectError::new("forbidden").with_data(json!({ "reason": "bad token" }))),
        }
    });
    io.ns("/", |socket| async move {
        socket
            .emit("welcome", &(socket.handshake().auth.clone(),))
            .ok();
    });
    let url = serve(&io).await;
    for transport in ["polling", "websocket"] {
        let opts = json!({ "transports": [transport], "auth": { "token": "nope" } });
        let mut refused = NodeClient::start(&url, opts).await;
        assert_eq!(
            refused.next().await,
            json!(["connect_error", "forbidden", { "reason": "bad token" }]),
            "{transport}"
        );

        let opts = json!({ "transports": [transport], "auth": { "token": "abc" } });
        let mut accepted = NodeClient::start(&url, opts).await;
        assert_eq!(accepted.next().await[0], "connect", "{transport}");
        assert_eq!(
            accepted.next().await,
            json!(["event", "welcome", { "token": "abc" }])
        );
    }
}

/// `eventNames`, `listenerCount`, `removeAllListeners` on a server socket:
/// after the removal the client's events reach no handler (no ack comes),
/// while the catch-all listener still sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_socket_listener_methods() {
    let io = SocketIo::new(Default::default());
    io.ns("/", |socket| async move {
        socket.on("ping", |ev| async move {
            ev.ack(&("pong",)).ok();
        });
        socket.on("ping", |_| async move {});
        socket.on_any(|ev| {
            ev.socket().emit("seen", &(ev.name(),)).ok();
        });
        socket.on("names", |ev| async move {
            let socket = ev.socket();
            let mut names = socket.event_names();
            names.sort();
            let counts = (socket.listener_count("ping"), socket.listener_count("nope"));
            ev.ack(&(json!({ "names": names, "counts": counts }),)).ok();
        });
        socket.on("clear", |ev| async move {
            ev.socket().remove_all_listeners();
        });
    });
    let url = serve(&io).await;
    let mut client = NodeClient::start(&url, json!({ "transports": ["websocket"] })).await;
    assert_eq!(client.next().await[0], "connect");

    client.send(json!(["emitWithAck", 1, 2000, "ping"])).await;
    assert_eq!(client.next().await, json!(["event", "seen", "ping"]));
    assert_eq!(client.next().await, json!(["ack", 1, "pong"]));

    client.send(json!(["emitWithAck", 2, 2000, "names"])).await;
    assert_eq!(client.next().await, json!(["event", "seen", "names"]));
    assert_eq!(
        client.next().await,
        json!(["ack", 2, { "names": ["clear", "names", "ping"], "counts": [2, 0] }])
    );

    client.send(json!(["emit", 3, "clear"])).await;
    assert_eq!(client.next().await, json!(["event", "seen", "clear"]));
    client.send(json!(["emitWithAck", 4, 300, "ping"])).await;
    assert_eq!(client.next().await, json!(["event", "seen", "ping"]));
    assert_eq!(
        client.next().await,
        json!(["ack-error", 4, "operation has timed out"])
    );
}
