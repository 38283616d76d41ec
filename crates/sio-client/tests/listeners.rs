//! The client's listener methods (`off_listener`, `remove_all_listeners`,
//! `event_names`, `listener_count`) with events from the official Node.js
//! server (tests/interop/lib/node-conformance.mjs: `message` is echoed back
//! as `message-back`).
//!
//! Needs `scripts/setup` (npm packages).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_client::ClientBuilder;

type Log = Arc<Mutex<Vec<String>>>;

fn push(log: &Log, line: &str) {
    log.lock().unwrap().push(line.to_owned());
}

/// What was logged once the server's answers to everything emitted so far
/// have arrived: the server answers in order, so when the ack of a later
/// `message-with-ack` is back, every `message-back` before it was delivered.
async fn settle(socket: &sio_client::Socket, log: &Log) -> Vec<String> {
    let _: () = socket
        .timeout(Duration::from_secs(5))
        .emit_with_ack("message-with-ack", &())
        .await
        .unwrap();
    let mut lines = std::mem::take(&mut *log.lock().unwrap());
    // The server's `auth` event on connection may or may not come after
    // the catch-all listener is added: not what is tested here.
    lines.retain(|l| l != "any auth");
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_listener_remove_all_and_names() {
    let (_server, url) = common::official_server().await;
    let socket = ClientBuilder::new(&url).connect().await.unwrap();
    let log: Log = Arc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let first = socket.on("message-back", move |_| {
        push(&l1, "first");
        async {}
    });
    socket.on("message-back", move |_| {
        push(&l2, "second");
        async {}
    });
    let any = socket.on_any(move |ev| push(&l3, &format!("any {}", ev.name())));
    socket.on("other", |_| async {});

    let mut names = socket.event_names();
    names.sort();
    assert_eq!(names, ["message-back", "other"]);
    assert_eq!(socket.listener_count("message-back"), 2);
    assert_eq!(socket.listener_count("nothing"), 0);

    socket.emit("message", &("x",)).unwrap();
    assert_eq!(
        settle(&socket, &log).await,
        ["any message-back", "first", "second"]
    );

    // One handler removed by id: the other still runs.
    socket.off_listener(first);
    assert_eq!(socket.listener_count("message-back"), 1);
    socket.emit("message", &("x",)).unwrap();
    assert_eq!(settle(&socket, &log).await, ["any message-back", "second"]);

    // Every event handler removed: the catch-all stays.
    socket.remove_all_listeners();
    assert!(socket.event_names().is_empty());
    socket.emit("message", &("x",)).unwrap();
    assert_eq!(settle(&socket, &log).await, ["any message-back"]);

    // off_listener removes a catch-all listener too.
    socket.off_listener(any);
    socket.emit("message", &("x",)).unwrap();
    assert!(settle(&socket, &log).await.is_empty());
}
