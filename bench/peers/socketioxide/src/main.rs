//! The conformance server's benchmark handlers on socketioxide 0.18.9, so
//! `scripts/bench` can run the same scenarios against it, side by side with
//! sio's conformance server and the official Node.js server.
//!
//!     cargo run --release -- --port 0 [--ping-interval 25000] [--ping-timeout 20000]
//!
//! Prints `listening on 127.0.0.1:PORT` (the real port) once it accepts
//! connections. Namespace `/`; on connection it emits `auth` with the
//! handshake auth; `message` → `message-back`, `message-with-ack` → the ack
//! with the arguments, `emit-all` → `all-message` to the whole namespace,
//! `broadcast` → `broadcast-message` to the others. Arguments are echoed as
//! one `rmpv::Value` (it keeps binary as binary), which is enough for the
//! benchmark's one-argument messages. Every accepted TCP connection gets
//! TCP_NODELAY, as sio's and Node.js's servers do.

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number")))
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let (svc, io) = SocketIo::builder()
        .ping_interval(Duration::from_millis(arg("--ping-interval", 300)))
        .ping_timeout(Duration::from_millis(arg("--ping-timeout", 200)))
        .max_payload(1_000_000)
        .connect_timeout(Duration::from_millis(1000))
        .build_svc();
    let nsp_io = io.clone();
    io.ns("/", move |socket: SocketRef, Data(auth): Data<rmpv::Value>| {
        let io = nsp_io.clone();
        async move {
            socket.emit("auth", &auth).ok();
            socket.on(
                "message",
                |s: SocketRef, Data(data): Data<rmpv::Value>| async move {
                    s.emit("message-back", &data).ok();
                },
            );
            socket.on(
                "message-with-ack",
                |Data(data): Data<rmpv::Value>, ack: AckSender| async move {
                    ack.send(&data).ok();
                },
            );
            socket.on(
                "emit-all",
                move |Data(data): Data<rmpv::Value>| async move {
                    io.emit("all-message", &data).await.ok();
                },
            );
            socket.on(
                "broadcast",
                |s: SocketRef, Data(data): Data<rmpv::Value>| async move {
                    s.broadcast().emit("broadcast-message", &data).await.ok();
                },
            );
        }
    });

    let port = arg("--port", 3000) as u16;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("listening on {}", listener.local_addr().expect("bound"));
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(_) => continue,
            },
            _ = &mut shutdown => return,
        };
        let _ = stream.set_nodelay(true);
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                .await;
        });
    }
}
