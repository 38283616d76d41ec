//! `on_any_outgoing` sees every event that leaves, buffered ones included
//! (when they leave, after the connection, as the reference's
//! `emitBuffered`), and not the volatile ones that are dropped; checked
//! against what the official Node.js server received
//! (tests/interop/lib/node-conformance.mjs: `count` acks the number of events
//! the socket sent before it).
//!
//! Needs `scripts/setup` (npm packages).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sio_client::proto::{to_value, Value};
use sio_client::{ClientBuilder, Transport};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_emits_reach_outgoing_listeners_when_they_leave() {
    let (_server, url) = common::official_server().await;
    for transports in [vec![Transport::WebSocket], vec![Transport::Polling]] {
        let socket = ClientBuilder::new(&url)
            .transports(transports.clone())
            .build()
            .unwrap();
        let out: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let o2 = out.clone();
        socket.on_any_outgoing(move |event, args| {
            o2.lock().unwrap().push((event.to_owned(), args.clone()))
        });
        // Not connected yet: these wait in the send buffer...
        socket.emit("message", &(1, "two")).unwrap();
        socket.emit("message", &(json!({ "three": 3 }),)).unwrap();
        // ...and this one is dropped (volatile while disconnected).
        socket.emit_volatile("message", &("dropped",)).unwrap();
        assert!(out.lock().unwrap().is_empty(), "notified before leaving");

        socket.connect();
        common::wait_connected(&socket).await;
        socket.emit("message", &("after",)).unwrap();
        let (count,): (u32,) = socket
            .timeout(Duration::from_secs(5))
            .emit_with_ack("count", &())
            .await
            .unwrap();
        assert_eq!(count, 3, "{transports:?}: the server got the 3 events");
        let out = out.lock().unwrap().clone();
        let expected = [
            ("message".to_owned(), to_value(&(1, "two")).unwrap()),
            (
                "message".to_owned(),
                to_value(&(json!({ "three": 3 }),)).unwrap(),
            ),
            ("message".to_owned(), to_value(&("after",)).unwrap()),
        ];
        assert_eq!(out.len(), 4, "{transports:?}: {out:?}");
        assert_eq!(out[..3], expected[..], "{transports:?}");
        assert_eq!(out[3], ("count".to_owned(), Value::Array(vec![])));
        socket.disconnect();
    }
}
