//! Client options seen from the server side, and the receive buffer, on the
//! official packages (tests/interop/lib/handshake-server.mjs).
//!
//! Needs `scripts/setup` (npm packages).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sio_client::proto::Value;
use sio_client::{ClientBuilder, ManagerOptions, Transport};
use tokio::process::Child;

async fn fixture(mode: &str) -> (Child, u16) {
    let port = sio_testkit::free_port();
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(sio_testkit::root().join("tests/interop/lib/handshake-server.mjs"))
        .arg(port.to_string())
        .arg(mode);
    (sio_testkit::spawn_ready(&mut cmd).await, port)
}

/// `path`, query parameters (from the URL and from the option), extra
/// headers and auth reach the official server, over each transport.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_query_headers_and_auth_reach_the_server() {
    let (_server, port) = fixture("handshake").await;
    for transports in [&[Transport::Polling][..], &[Transport::WebSocket][..]] {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-token", http::HeaderValue::from_static("secret"));
        let opts = ManagerOptions {
            path: "/custom-path".into(),
            query: vec![("b".into(), "2".into())],
            extra_headers: headers,
            transports: transports.to_vec(),
            ..ManagerOptions::default()
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let tx = Arc::new(Mutex::new(Some(tx)));
        let socket = ClientBuilder::new(&format!("http://127.0.0.1:{port}/?a=1"))
            .options(opts)
            .auth(json!({"user": "me"}))
            .on("handshake", move |ev| {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(ev.values());
                }
                async {}
            })
            .connect()
            .await
            .unwrap();
        let seen = tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .expect("handshake event")
            .unwrap();
        let expected = json!({
            "query": {"a": "1", "b": "2"},
            "token": "secret",
            "auth": {"user": "me"},
            "transport": if transports[0] == Transport::Polling { "polling" } else { "websocket" },
        });
        assert_eq!(
            seen,
            vec![sio_client::proto::to_value(&expected).unwrap()],
            "{transports:?}"
        );
        socket.disconnect();
    }
}

/// An event that arrives before the CONNECT reply waits in the receive
/// buffer and is delivered once the socket is connected (its id set),
/// before the `connect` listeners run (the reference's `onconnect` empties
/// the buffer, then emits `connect`) and before later events: the same
/// order as the official client's, which the test runs too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_before_connect_are_delivered_after_it() {
    let (_server, port) = fixture("early").await;
    for transports in [&[Transport::Polling][..], &[Transport::WebSocket][..]] {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (l1, l2) = (log.clone(), log.clone());
        let socket = ClientBuilder::new(&format!("http://127.0.0.1:{port}/"))
            .transports(transports.iter().copied())
            .with_socket(move |s| {
                s.on_connect(move |s| {
                    l1.lock()
                        .unwrap()
                        .push(format!("connect:{}", s.id().unwrap_or_default()));
                    async {}
                });
                s.on_any(move |ev| {
                    let args: Vec<Value> = ev.values();
                    l2.lock()
                        .unwrap()
                        .push(format!("{}:{}", ev.name(), args[0]));
                });
            })
            .connect()
            .await
            .unwrap();
        for _ in 0..500 {
            if log.lock().unwrap().len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let name = if transports[0] == Transport::Polling {
            "polling"
        } else {
            "websocket"
        };
        let official = tokio::process::Command::new("node")
            .arg(sio_testkit::root().join("tests/interop/lib/handshake-server.mjs"))
            .args([&port.to_string(), "early-client", name])
            .output()
            .await
            .unwrap();
        assert!(official.status.success(), "{official:?}");
        let official: Vec<String> = serde_json::from_slice(&official.stdout).unwrap();
        assert_eq!(
            official,
            ["early:1", "connect:early-sid-0000000000", "late:2"],
            "{transports:?}: the official client"
        );
        assert_eq!(*log.lock().unwrap(), official, "{transports:?}: sio-client");
        socket.disconnect();
    }
}
