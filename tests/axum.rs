//! The server as a layer in an axum router: Socket.IO on its path (polling,
//! WebSocket and the upgrade, which needs axum's upgrade support), the
//! router's own routes untouched.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use sio::client::{ClientBuilder, Transport};
use sio::server::{SocketIo, SocketIoConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_and_axum_routes_side_by_side() {
    let io = SocketIo::new(SocketIoConfig::default());
    io.ns("/", |socket| async move {
        socket.on("echo", |ev| async move {
            ev.ack(&ev.arguments()).ok();
        });
    });
    let app = Router::new()
        .route("/hello", get(|| async { "hello from axum" }))
        .layer(io.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // An axum route.
    let body = http_get(addr, "/hello").await;
    assert!(
        body.starts_with("HTTP/1.1 200") && body.ends_with("hello from axum"),
        "{body}"
    );
    // A path neither serves.
    assert!(http_get(addr, "/nope").await.starts_with("HTTP/1.1 404"));

    for transports in [
        vec![Transport::WebSocket],
        vec![Transport::Polling],
        vec![Transport::Polling, Transport::WebSocket],
    ] {
        let socket = ClientBuilder::new(&format!("http://{addr}"))
            .transports(transports.clone())
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{transports:?}: {e}"));
        let (a, b): (String, u32) = tokio::time::timeout(
            Duration::from_secs(5),
            socket.emit_with_ack("echo", &("through axum", 7)),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!((a.as_str(), b), ("through axum", 7), "{transports:?}");
        socket.disconnect();
    }
}

/// A raw HTTP/1.1 GET: status line to end of body.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
