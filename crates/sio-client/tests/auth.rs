//! Auth payloads: a function is evaluated at each connection; one that
//! cannot be encoded is a connect_error at once, not a hang.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sio_client::proto::Value;
use sio_client::{ClientBuilder, Transport};
use sio_server::{Socket, SocketIo};

async fn server() -> std::net::SocketAddr {
    let io = SocketIo::new(Default::default());
    io.ns("/", |socket: Arc<Socket>| async move {
        let auth = socket.handshake().auth.clone();
        socket.emit("auth", &(auth,)).ok();
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sio_server::serve(listener, io.service()));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_auth_is_a_connect_error_not_a_hang() {
    let addr = server().await;
    let result = tokio::time::timeout(
        Duration::from_secs(3),
        ClientBuilder::new(&format!("http://{addr}"))
            .transports([Transport::WebSocket])
            .auth_fn(|| Value::Bytes(bytes::Bytes::from_static(&[1, 2])))
            .connect(),
    )
    .await
    .expect("no hang");
    let err = result.unwrap_err();
    assert!(
        err.message.starts_with("invalid auth payload"),
        "{}",
        err.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_functions_run_at_each_connection() {
    let addr = server().await;
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let socket = ClientBuilder::new(&format!("http://{addr}"))
        .transports([Transport::WebSocket])
        .auth_fn(move || {
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            sio_client::proto::to_value(&serde_json::json!({ "n": n })).unwrap()
        })
        .connect()
        .await
        .unwrap();
    socket.disconnect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (tx, rx) = tokio::sync::oneshot::channel::<Value>();
    let tx = std::sync::Mutex::new(Some(tx));
    socket.on("auth", move |ev| {
        if let Some(tx) = tx.lock().unwrap().take() {
            let (auth,): (Value,) = ev.args().unwrap();
            let _ = tx.send(auth);
        }
        async {}
    });
    socket.connect();
    let auth = tokio::time::timeout(Duration::from_secs(3), rx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth["n"].as_u64(), Some(2), "evaluated again: {auth}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
