//! `socket.timeout(d)`: the acknowledgement with a timeout, awaited or with
//! a callback, against the official Node.js server
//! (tests/interop/lib/node-conformance.mjs: `message-with-ack` acks with
//! the arguments, `message` is never acknowledged).
//!
//! Needs `scripts/setup` (npm packages).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_client::{AckError, ClientBuilder, Transport};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_emit_with_ack_answers_or_times_out() {
    let (_server, url) = common::official_server().await;
    for transports in [vec![Transport::WebSocket], vec![Transport::Polling]] {
        let socket = ClientBuilder::new(&url)
            .transports(transports.clone())
            .connect()
            .await
            .unwrap();
        let answered: (u32, String) = socket
            .timeout(Duration::from_secs(5))
            .emit_with_ack("message-with-ack", &(1, "two"))
            .await
            .unwrap();
        assert_eq!(answered, (1, "two".to_string()), "{transports:?}");

        let started = tokio::time::Instant::now();
        let unanswered = socket
            .timeout(Duration::from_millis(200))
            .emit_with_ack::<_, ()>("message", &("no ack",))
            .await;
        assert_eq!(unanswered, Err(AckError::Timeout), "{transports:?}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(200) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
        socket.disconnect();
    }
}

/// The callback runs exactly once: with the answer, or with the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_emit_with_callback_runs_once() {
    let (_server, url) = common::official_server().await;
    let socket = ClientBuilder::new(&url).connect().await.unwrap();
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    for event in ["message-with-ack", "message"] {
        let calls = calls.clone();
        socket
            .timeout(Duration::from_millis(300))
            .emit_with_callback(
                event,
                &("hi",),
                move |outcome: Result<(String,), AckError>| {
                    let line = match outcome {
                        Ok((text,)) => format!("{event}: {text}"),
                        Err(e) => format!("{event}: {e}"),
                    };
                    calls.lock().unwrap().push(line);
                },
            );
    }
    // Long enough for both outcomes, and for a second call if there were one.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut calls = calls.lock().unwrap().clone();
    calls.sort();
    assert_eq!(
        calls,
        ["message-with-ack: hi", "message: operation has timed out"]
    );
}

/// A timed-out emit sent while disconnected leaves the send buffer: it is
/// not sent on the next connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_buffered_emit_is_not_sent_later() {
    let (_server, url) = common::official_server().await;
    let socket = ClientBuilder::new(&url).build().unwrap();
    let outcome = socket
        .timeout(Duration::from_millis(50))
        .emit_with_ack::<_, ()>("message-with-ack", &("late",))
        .await;
    assert_eq!(outcome, Err(AckError::Timeout));
    socket.connect();
    common::wait_connected(&socket).await;
    // The server's `count` tells how many events it got before this one.
    let (count,): (u32,) = socket
        .timeout(Duration::from_secs(5))
        .emit_with_ack("count", &())
        .await
        .unwrap();
    assert_eq!(count, 0);
}
