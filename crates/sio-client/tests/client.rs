//! The client against real servers: the official Node.js `socket.io`
//! (tests/interop/lib/node-conformance.mjs, the conformance spec on the npm
//! package) and sio's own conformance server, in the three transport modes.
//!
//! Needs `scripts/setup` (npm packages) and `cargo build --example
//! conformance` (or `SIO_CONFORMANCE_BIN`); `scripts/test` does both first.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;
use sio_client::proto::Value;
use sio_client::{AckError, ClientBuilder, Transport};
use sio_testkit::Peer;
use tokio::process::Child;

struct Server {
    /// Killed when dropped.
    _child: Child,
    port: u16,
}

async fn start(peer: Peer, port: u16) -> Server {
    let mut cmd = tokio::process::Command::from(sio_testkit::conformance(peer));
    cmd.arg("--port")
        .arg(port.to_string())
        .stderr(Stdio::null());
    Server {
        _child: sio_testkit::spawn_ready(&mut cmd).await,
        port,
    }
}

fn url(s: &Server, nsp: &str) -> String {
    format!("http://127.0.0.1:{}{nsp}", s.port)
}

const MODES: [&[Transport]; 3] = [
    &[Transport::WebSocket],
    &[Transport::Polling],
    &[Transport::Polling, Transport::WebSocket],
];

/// Collects events by name.
type Log = Vec<(String, Vec<Value>)>;

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Log>>);

impl Seen {
    async fn wait(&self, name: &str) -> Vec<Value> {
        for _ in 0..200 {
            if let Some((_, v)) = self.0.lock().unwrap().iter().find(|(n, _)| n == name) {
                return v.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no {name} event");
    }
}

async fn scenario(peer: Peer, transports: &[Transport]) {
    let ctx = format!("{peer:?} {transports:?}");
    let server = start(peer, sio_testkit::free_port()).await;
    let seen = Seen::default();
    let s1 = seen.clone();
    let socket = ClientBuilder::new(&url(&server, "/"))
        .transports(transports.iter().copied())
        .auth(json!({ "user": "rust" }))
        .with_socket(move |s| {
            s.on_any(move |ev| {
                s1.0.lock()
                    .unwrap()
                    .push((ev.name().to_owned(), ev.values()))
            });
            s.on("question", |ev| async move {
                let args = ev.values();
                ev.ack(&(json!({ "got": args }),)).unwrap();
            });
        })
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{ctx}: connect: {e}"));
    assert_eq!(socket.id().map(|i| i.len()), Some(20), "{ctx}");

    // The server's `auth` event, sent on connection.
    assert_eq!(
        seen.wait("auth").await,
        vec![sio_client::proto::to_value(&json!({"user": "rust"})).unwrap()],
        "{ctx}"
    );

    // Echo, binary included.
    let blob = Bytes::from_static(&[0, 1, 2, 255]);
    socket
        .emit("message", &(1, "two", json!({"three": 3}), blob.clone()))
        .unwrap();
    let back = seen.wait("message-back").await;
    assert_eq!(back.len(), 4, "{ctx}");
    assert_eq!(back[3].as_bytes(), Some(&blob), "{ctx}");

    // Acks both ways.
    let (a, b): (String, Bytes) = socket
        .emit_with_ack("message-with-ack", &("x", blob.clone()))
        .await
        .unwrap();
    assert_eq!((a.as_str(), &b), ("x", &blob), "{ctx}");
    // The callback form.
    let (tx, rx) = tokio::sync::oneshot::channel();
    socket.emit_with_callback(
        "message-with-ack",
        &("cb", 7),
        move |res: Result<(String, u32), AckError>| {
            let _ = tx.send(res);
        },
    );
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("callback called")
            .unwrap(),
        Ok(("cb".to_owned(), 7)),
        "{ctx}"
    );
    let (answer,): (Value,) = socket.emit_with_ack("ask", &(2000, "q")).await.unwrap();
    assert_eq!(
        answer["answer"][0]["got"][0].as_str(),
        Some("q"),
        "{ctx}: {answer}"
    );
    let (bin, nested): (Bytes, Value) = socket.emit_with_ack("binary", &()).await.unwrap();
    assert_eq!(&bin[..], &[1, 2, 3], "{ctx}");
    assert_eq!(
        nested["nested"].as_bytes().map(|b| b.to_vec()),
        Some(vec![4, 5]),
        "{ctx}"
    );

    // Rooms.
    let (rooms,): (Vec<String>,) = socket.emit_with_ack("join", &("r1",)).await.unwrap();
    assert!(
        rooms.contains(&"r1".to_owned()) && rooms.contains(&socket.id().unwrap()),
        "{ctx}"
    );

    // An ack that never comes: timeout.
    let late = socket
        .timeout_emit_with_ack::<_, ()>(Duration::from_millis(200), "message", &(1,))
        .await;
    assert_eq!(late, Err(AckError::Timeout), "{ctx}");

    // Refusals.
    let err = ClientBuilder::new(&url(&server, "/custom"))
        .transports(transports.iter().copied())
        .auth(json!({ "token": "forbidden" }))
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.message, "forbidden", "{ctx}");
    assert_eq!(
        err.data.as_ref().and_then(|d| d["reason"].as_str()),
        Some("bad token"),
        "{ctx}"
    );
    let err = ClientBuilder::new(&url(&server, "/nope"))
        .transports(transports.iter().copied())
        .connect()
        .await;
    assert_eq!(err.unwrap_err().message, "Invalid namespace", "{ctx}");

    // A pending ack fails when the server disconnects us; no reconnection.
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let r = reasons.clone();
    socket.on_disconnect(move |_, reason| {
        r.lock().unwrap().push(reason);
        async {}
    });
    let pending = socket.emit_with_ack::<_, ()>("message", &(1,));
    socket.emit("disconnect-me", &(false,)).unwrap();
    assert_eq!(pending.await, Err(AckError::Disconnected), "{ctx}");
    assert_eq!(*reasons.lock().unwrap(), ["io server disconnect"], "{ctx}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !socket.connected() && !socket.active(),
        "{ctx}: no automatic reconnection"
    );

    // Emits while disconnected wait in the send buffer.
    socket.emit("message", &("buffered",)).unwrap();
    socket.connect();
    for _ in 0..200 {
        if seen.0.lock().unwrap().iter().any(|(n, v)| {
            n == "message-back" && v.first().and_then(Value::as_str) == Some("buffered")
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        seen.0
            .lock()
            .unwrap()
            .iter()
            .any(|(n, v)| n == "message-back"
                && v.first().and_then(Value::as_str) == Some("buffered")),
        "{ctx}: buffered emit delivered after connect"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_official_server() {
    for mode in MODES {
        scenario(Peer::Node, mode).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_sio_server() {
    for mode in MODES {
        scenario(Peer::Sio, mode).await;
    }
}

/// The server dies and comes back on the same port: the client reconnects
/// with backoff, its reconnect hooks fire, and it joins its namespace again.
async fn reconnects(peer: Peer) {
    let port = sio_testkit::free_port();
    let server = start(peer, port).await;
    let echoed = Arc::new(Mutex::new(Vec::new()));
    let e = echoed.clone();
    let socket = ClientBuilder::new(&format!("http://127.0.0.1:{port}/"))
        .transports([Transport::WebSocket])
        .reconnection_delay(Duration::from_millis(100), Duration::from_millis(400))
        .ack_timeout(Duration::from_millis(300))
        .on("message-back", move |ev| {
            e.lock().unwrap().push(ev.values());
            async {}
        })
        .connect()
        .await
        .unwrap();
    let first_id = socket.id().unwrap();
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let r = reasons.clone();
    socket.on_disconnect(move |_, reason| {
        r.lock().unwrap().push(reason);
        async {}
    });
    drop(server); // killed
    for _ in 0..100 {
        if !socket.connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!socket.connected());
    // While disconnected: a plain emit waits in the send buffer, a volatile
    // one is dropped (the transport is not writable), as in the reference.
    socket.emit("message", &("buffered",)).unwrap();
    socket.emit_volatile("message", &("volatile",)).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _server = start(peer, port).await;
    for _ in 0..300 {
        if socket.connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(socket.connected(), "{peer:?}: reconnected");
    assert_ne!(socket.id().unwrap(), first_id, "{peer:?}: a new socket id");
    let reasons = reasons.lock().unwrap().clone();
    assert!(reasons == ["transport close"], "{peer:?}: {reasons:?}");
    let (echo,): (String,) = socket
        .emit_with_ack("message-with-ack", &("again",))
        .await
        .unwrap();
    assert_eq!(echo, "again");
    // The echo of the buffered emit came before the ack (one connection,
    // in order); the volatile one never.
    assert_eq!(
        *echoed.lock().unwrap(),
        [vec![Value::from("buffered")]],
        "{peer:?}"
    );
    // The `ack_timeout` option bounds every emit_with_ack: `message` is
    // echoed but never acknowledged.
    let started = std::time::Instant::now();
    let never = socket
        .emit_with_ack::<_, (String,)>("message", &("x",))
        .await;
    assert_eq!(never, Err(AckError::Timeout), "{peer:?}");
    assert!(started.elapsed() >= Duration::from_millis(290), "{peer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_official_server_restarts() {
    reconnects(Peer::Node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_sio_server_restarts() {
    reconnects(Peer::Sio).await;
}

/// Listener kinds, volatile emits, the event stream and two namespaces on
/// one Manager.
async fn features(peer: Peer, transports: &[Transport]) {
    let ctx = format!("{peer:?} {transports:?}");
    let server = start(peer, sio_testkit::free_port()).await;
    let opts = sio_client::ManagerOptions {
        transports: transports.to_vec(),
        ..Default::default()
    };
    let manager = sio_client::Manager::new(&url(&server, "/"), opts).unwrap();
    let main = manager.socket("/");
    let custom = manager.socket("/custom");
    let on_count = Arc::new(Mutex::new(0));
    let once_count = Arc::new(Mutex::new(0));
    let (a, b) = (on_count.clone(), once_count.clone());
    main.on("message-back", move |_| {
        *a.lock().unwrap() += 1;
        async {}
    });
    main.once("message-back", move |_| {
        *b.lock().unwrap() += 1;
        async {}
    });
    main.on("all-message", |_| async { panic!("removed with off") });
    main.off("all-message");
    let order = Arc::new(Mutex::new(Vec::new()));
    let (o1, o2) = (order.clone(), order.clone());
    main.on_any(move |ev| o1.lock().unwrap().push(format!("any:{}", ev.name())));
    main.prepend_any(move |ev| o2.lock().unwrap().push(format!("first:{}", ev.name())));
    // Removed catch-alls (by id) never run.
    let removed = main.on_any(|ev| panic!("removed with off_any: {}", ev.name()));
    main.off_any(Some(removed));
    let removed_out = main.on_any_outgoing(|name, _| panic!("removed: {name}"));
    main.off_any_outgoing(Some(removed_out));
    let outgoing = Arc::new(Mutex::new(Vec::new()));
    let out = outgoing.clone();
    main.on_any_outgoing(move |name, args| out.lock().unwrap().push(format!("{name}:{}", args)));
    let mut stream = main.events();
    main.connect();
    custom.connect();
    for _ in 0..300 {
        if main.connected() && custom.connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(main.connected() && custom.connected(), "{ctx}");
    assert_ne!(main.id(), custom.id(), "{ctx}: one id per namespace");
    assert!(
        manager
            .engine_id()
            .is_some_and(|e| Some(&e) != main.id().as_ref()),
        "{ctx}: not the engine id"
    );

    // The stream (a futures Stream) sees `auth` first.
    let first = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.name(), "auth", "{ctx}");

    main.emit("message", &(1,)).unwrap();
    main.emit_volatile("message", &(2,)).unwrap();
    main.emit("emit-all", &()).unwrap();
    let (ok,): (String,) = custom
        .emit_with_ack("message-with-ack", &("custom",))
        .await
        .unwrap();
    assert_eq!(ok, "custom", "{ctx}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Volatile over a connected transport: usually delivered; never more than sent.
    let on = *on_count.lock().unwrap();
    assert!((1..=2).contains(&on), "{ctx}: {on}");
    assert_eq!(*once_count.lock().unwrap(), 1, "{ctx}: once");
    let order = order.lock().unwrap().clone();
    assert_eq!(
        &order[..2],
        ["first:auth", "any:auth"],
        "{ctx}: prepend_any first"
    );
    assert!(
        order.contains(&"any:all-message".to_owned()),
        "{ctx}: catch-all still sees removed events"
    );
    assert!(
        outgoing.lock().unwrap().contains(&"message:[1]".to_owned()),
        "{ctx}: {:?}",
        outgoing.lock().unwrap()
    );
    // A client-side disconnect: reason `io client disconnect`, and no
    // reconnection while the other namespace stays.
    let reason = Arc::new(Mutex::new(None));
    let r = reason.clone();
    custom.on_disconnect(move |_, why| {
        *r.lock().unwrap() = Some(why);
        async {}
    });
    custom.disconnect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        reason.lock().unwrap().as_deref(),
        Some("io client disconnect"),
        "{ctx}"
    );
    assert!(!custom.connected() && !custom.active(), "{ctx}");
    assert!(main.connected(), "{ctx}: the other namespace stays");
    manager.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn features_against_both_servers() {
    for peer in [Peer::Node, Peer::Sio] {
        for mode in [&[Transport::WebSocket][..], &[Transport::Polling][..]] {
            features(peer, mode).await;
        }
    }
}
