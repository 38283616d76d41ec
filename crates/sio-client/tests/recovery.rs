//! Connection state recovery, client side, against the official Node.js
//! server and sio's own (both with `--recovery`): the connection is cut by
//! a TCP proxy in between (a network failure, not a close), an event is
//! sent to the client's room while it is away, and the client comes back
//! with the same id and that event, once.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_client::{ClientBuilder, Transport};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Child;
use tokio::sync::watch;

async fn start(node: bool) -> (Child, u16) {
    let port = sio_testkit::free_port();
    let mut cmd = common::conformance(node);
    cmd.args(["--recovery", "--port", &port.to_string()]);
    (sio_testkit::spawn_ready(&mut cmd).await, port)
}

/// A TCP proxy to `upstream`; sending on the returned channel cuts every
/// connection it carries (new ones still go through).
async fn proxy(upstream: u16) -> (u16, watch::Sender<u32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cut, _) = watch::channel(0u32);
    let cut_tx = cut.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let mut cut_rx = cut.subscribe();
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = cut_rx.changed() => {} // both sockets dropped: reset
                }
            });
        }
    });
    (port, cut_tx)
}

async fn recovers(node: bool) {
    let who = if node {
        "official server"
    } else {
        "sio server"
    };
    let (_server, port) = start(node).await;
    let (proxy_port, cut) = proxy(port).await;
    let missed: Arc<Mutex<Vec<String>>> = Arc::default();
    let m = missed.clone();
    let socket = ClientBuilder::new(&format!("http://127.0.0.1:{proxy_port}"))
        .transports([Transport::WebSocket])
        .reconnection_delay(Duration::from_millis(300), Duration::from_millis(600))
        .on("room-message", move |ev| {
            let (text,): (String,) = ev.args().unwrap();
            m.lock().unwrap().push(text);
            async {}
        })
        .connect()
        .await
        .unwrap();
    let id = socket.id().unwrap();
    assert!(!socket.recovered());
    let _: (Vec<String>,) = socket.emit_with_ack("join", &("lobby",)).await.unwrap();

    // The network fails.
    cut.send_modify(|n| *n += 1);
    for _ in 0..100 {
        if !socket.connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!socket.connected(), "{who}: the cut is seen");

    // Meanwhile, someone talks to the room.
    let other = ClientBuilder::new(&format!("http://127.0.0.1:{port}"))
        .transports([Transport::WebSocket])
        .connect()
        .await
        .unwrap();
    other
        .emit("to-room", &("lobby", "while you were away"))
        .unwrap();

    for _ in 0..300 {
        if socket.connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(socket.connected(), "{who}: reconnected");
    assert!(socket.recovered(), "{who}: recovered");
    assert_eq!(socket.id().unwrap(), id, "{who}: same id");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        *missed.lock().unwrap(),
        ["while you were away"],
        "{who}: the missed event, once"
    );
    // Rooms survived: a new message to the room arrives.
    other.emit("to-room", &("lobby", "after")).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        *missed.lock().unwrap(),
        ["while you were away", "after"],
        "{who}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_with_the_official_server() {
    recovers(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_with_sio_server() {
    recovers(false).await;
}

/// Under load: 200 events stream to the receiver's room while its
/// connection is cut twice; every event arrives exactly once, in order.
async fn no_loss_no_duplicates_under_load(node: bool) {
    let who = if node {
        "official server"
    } else {
        "sio server"
    };
    let (_server, port) = start(node).await;
    let (proxy_port, cut) = proxy(port).await;
    let got: Arc<Mutex<Vec<u64>>> = Arc::default();
    let g = got.clone();
    let receiver = ClientBuilder::new(&format!("http://127.0.0.1:{proxy_port}"))
        .transports([Transport::WebSocket])
        .reconnection_delay(Duration::from_millis(50), Duration::from_millis(100))
        .on("room-message", move |ev| {
            let (n,): (u64,) = ev.args().unwrap();
            g.lock().unwrap().push(n);
            async {}
        })
        .connect()
        .await
        .unwrap();
    let _: (Vec<String>,) = receiver.emit_with_ack("join", &("stream",)).await.unwrap();
    let sender = ClientBuilder::new(&format!("http://127.0.0.1:{port}"))
        .transports([Transport::WebSocket])
        .connect()
        .await
        .unwrap();
    for n in 0..200u64 {
        sender.emit("to-room", &("stream", n)).unwrap();
        if n == 60 || n == 130 {
            cut.send_modify(|c| *c += 1);
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for _ in 0..300 {
        if got.lock().unwrap().len() >= 200 && receiver.connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        receiver.recovered(),
        "{who}: the last reconnection recovered"
    );
    assert_eq!(
        *got.lock().unwrap(),
        (0..200).collect::<Vec<_>>(),
        "{who}: each event once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_loss_no_duplicates_under_load_with_the_official_server() {
    no_loss_no_duplicates_under_load(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_loss_no_duplicates_under_load_with_sio_server() {
    no_loss_no_duplicates_under_load(false).await;
}
