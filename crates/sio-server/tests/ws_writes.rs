//! The WebSocket write path under backpressure: senders write straight to
//! an idle connection, and what the socket does not take (a frame cut in
//! the middle) must go out first, before anything queued later, with every
//! frame whole and in order. A client that does not read for a while fills
//! the socket buffers; then everything must arrive intact.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sio_server::{Socket, SocketIo, SocketIoConfig};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_slow_reader_gets_every_frame_whole_and_in_order() {
    slow_reader(300, 50_000, false, false).await;
}

/// Small frames are copied into one buffer and written with one plain
/// write; a write cut there must keep every frame whole too. Sent from a
/// task of their own (not a handler's read batch), so each one is written
/// straight to the socket until the socket takes only part of one.
#[tokio::test]
async fn a_slow_reader_gets_every_small_frame_whole_and_in_order() {
    slow_reader(60_000, 120, true, false).await;
}

/// The same with binary packets only: each is two frames (the packet and
/// its attachment) written together, so a cut falls inside such a pair.
#[tokio::test]
async fn a_slow_reader_gets_every_small_binary_packet_whole_and_in_order() {
    slow_reader(40_000, 120, true, true).await;
}

async fn slow_reader(count: usize, size: usize, from_a_task: bool, only_binary: bool) {
    let mut config = SocketIoConfig::default();
    config.engine.max_buffered_packets = 10 * count;
    let io = SocketIo::new(config);
    io.ns("/", move |socket: Arc<Socket>| async move {
        socket.on("flood", move |ev| async move {
            let socket = ev.socket().clone();
            let flood = async move {
                // Text and binary, broadcast and direct, interleaved: direct
                // writes, cut writes and the queue all take part.
                for i in 0..count {
                    let text = format!("{i}:{}", "x".repeat(size));
                    if i % 3 == 0 && !only_binary {
                        socket.ns().emit("big", &(i, text)).unwrap();
                    } else if i % 3 == 1 || only_binary {
                        let bytes = bytes::Bytes::from(vec![(i % 251) as u8; size]);
                        socket.emit("bin", &(i, bytes)).unwrap();
                    } else {
                        socket.emit("big", &(i, text)).unwrap();
                    }
                }
            };
            if from_a_task {
                tokio::spawn(flood);
            } else {
                flood.await;
            }
        });
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sio_server::serve(listener, io.service()));

    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Message::text("40")).await.unwrap();
    ws.send(Message::text(r#"42["flood"]"#)).await.unwrap();
    // Do not read for a while: the server's writes back up.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut next = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while next < count {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("every frame in time")
            .expect("open")
            .expect("a valid frame");
        let text = match msg {
            Message::Text(t) => t.to_string(),
            other => panic!("unexpected {other:?}"),
        };
        if text.starts_with("0") || text.starts_with("40") || text == "2" {
            continue;
        }
        if let Some(rest) = text.strip_prefix(r#"42["big","#) {
            let expected = format!("{next},\"{next}:{}\"]", "x".repeat(size));
            assert_eq!(rest.len(), expected.len(), "message {next}");
            assert!(rest == expected, "message {next}: {}", &rest[..20]);
        } else if text.starts_with(r#"451-["bin","#) {
            assert_eq!(
                text,
                format!(r#"451-["bin",{next},{{"_placeholder":true,"num":0}}]"#)
            );
            let bin = tokio::time::timeout_at(deadline, ws.next())
                .await
                .expect("the attachment in time")
                .expect("open")
                .expect("a valid frame");
            match bin {
                Message::Binary(b) => {
                    assert_eq!(b.len(), size, "attachment {next}");
                    assert!(
                        b.iter().all(|&x| x == (next % 251) as u8),
                        "attachment {next}"
                    );
                }
                other => panic!("attachment {next}: {other:?}"),
            }
        } else {
            panic!(
                "unexpected message at {next}: {}",
                &text[..text.len().min(60)]
            );
        }
        next += 1;
    }
}
