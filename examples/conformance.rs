//! The conformance server (see `shared/conformance-server.md`): a server
//! with fixed, known behaviour that any Socket.IO test suite can be pointed
//! at.
//!
//!     cargo run --release --example conformance -- [--port 3000] [--engine-io] [--redis URL]
//!
//! The default mode serves Socket.IO at `/socket.io/` with the handlers of
//! the spec; `--engine-io` serves the bare Engine.IO layer at `/engine.io/`:
//! every message is sent back as is.
//!
//! `--redis URL`: every namespace uses the Redis adapter (the pub/sub one
//! of @socket.io/redis-adapter 8, default settings), so several servers form
//! one cluster. Three more events then exercise the cluster:
//!
//! | event received | what the server does |
//! | --- | --- |
//! | `server-count` (ack) | ack(number of nodes) |
//! | `server-side-tell` (...args) | `serverSideEmit("tell", ...args)`; every other node emits `told` (...args) to its own clients of that namespace |
//! | `server-side-ask` (...args, ack) | `serverSideEmitWithAck("ask", ...args)`; every other node answers with the array of args; ack({"responses": [...]}) or ack({"error": message}) |

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use serde_json::json;
use sio::proto::packet::Arguments;
use sio::proto::{Frame, Value};
use sio::redis::{RedisAdapter, RedisAdapterConfig};
use sio::server::engine::{
    AllowOrigin, CloseReason, Cors, Engine, EngineConfig, EngineHandler, EngineSocket,
};
use sio::server::{
    ConnectError, Event, MiddlewareError, RecoveryConfig, Socket, SocketIo, SocketIoConfig,
};

#[derive(clap::Parser, Debug)]
#[command(about = "The sio conformance server")]
struct Args {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Serve the bare Engine.IO layer at /engine.io/ (echo every message).
    #[arg(long)]
    engine_io: bool,
    /// Enable connection state recovery.
    #[arg(long)]
    recovery: bool,
    /// Use the Redis adapter on this server.
    #[arg(long)]
    redis: Option<String>,
    /// Engine.IO pingInterval, in milliseconds.
    #[arg(long, default_value_t = 300)]
    ping_interval: u64,
    /// Engine.IO pingTimeout, in milliseconds.
    #[arg(long, default_value_t = 200)]
    ping_timeout: u64,
}

/// Sends every message back to its sender.
struct Echo;

impl EngineHandler for Echo {
    type Conn = Arc<EngineSocket>;
    fn on_open(&self, socket: Arc<EngineSocket>) -> Self::Conn {
        socket
    }
    fn on_message(&self, socket: &Self::Conn, data: Frame) {
        let _ = socket.send(data);
    }
    fn on_close(&self, _socket: &Self::Conn, _reason: CloseReason) {}
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let engine_config = EngineConfig {
        path: if args.engine_io {
            "/engine.io/"
        } else {
            "/socket.io/"
        }
        .into(),
        ping_interval: Duration::from_millis(args.ping_interval),
        ping_timeout: Duration::from_millis(args.ping_timeout),
        max_payload: 1_000_000,
        cors: Some(Cors {
            origin: AllowOrigin::Any,
            ..Cors::default()
        }),
        ..EngineConfig::default()
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{}: {e}", args.port);
            std::process::exit(1);
        }
    };
    // With `--port 0` the system picks the port: print the real one (once
    // ready: after the Redis subscriptions when clustered).
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    if args.engine_io {
        println!("listening on 127.0.0.1:{port}");
        let engine = Engine::new(engine_config, Echo);
        let service = sio::server::EngineService::new(engine.clone(), sio::server::NotFound);
        run_until_signal(sio::server::serve(listener, service), || engine.close_all()).await;
    } else {
        let mut config = SocketIoConfig {
            engine: engine_config,
            connect_timeout: Duration::from_millis(1000),
            connection_state_recovery: args.recovery.then(RecoveryConfig::default),
            ..SocketIoConfig::default()
        };
        let redis = match &args.redis {
            Some(url) => match RedisAdapter::connect(url, RedisAdapterConfig::default()).await {
                Ok(adapter) => {
                    config.adapter = adapter.factory();
                    Some(adapter)
                }
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            },
            None => None,
        };
        let io = SocketIo::new(config);
        for name in ["/", "/custom"] {
            setup(io.of(name));
            if let Err(e) = io.of(name).ready().await {
                eprintln!("redis subscription of {name} failed: {e}");
                std::process::exit(1);
            }
        }
        setup(io.dynamic_ns(is_dynamic, |_| async {}));
        println!("listening on 127.0.0.1:{port}");
        let closer = io.clone();
        let _keep = redis;
        run_until_signal(sio::server::serve(listener, io.service()), move || {
            closer.close()
        })
        .await;
    }
}

async fn run_until_signal(
    server: impl std::future::Future<Output = std::io::Result<()>>,
    close: impl FnOnce(),
) {
    tokio::select! {
        r = server => {
            if let Err(e) = r {
                eprintln!("server failed: {e}");
                std::process::exit(1);
            }
        }
        _ = shutdown_signal() => {
            close();
            // Give the close frames a moment to leave.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `^/dynamic-[0-9]+$`.
fn is_dynamic(name: &str, _auth: &Value) -> bool {
    name.strip_prefix("/dynamic-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The spec's middleware and handlers, on one namespace.
fn setup(ns: Arc<sio::server::Namespace>) {
    ns.use_middleware(|socket: Arc<Socket>| async move {
        if socket.handshake().auth.get("token").and_then(Value::as_str) == Some("forbidden") {
            return Err(ConnectError::new("forbidden").with_data(json!({"reason": "bad token"})));
        }
        Ok(())
    });
    ns.on_connection(on_connection);
    // Cluster events (with --redis; without, there is no other node).
    ns.on_server_event("ask", |ev| async move {
        let _ = ev.ack(&ev.values());
    });
    let weak = Arc::downgrade(&ns);
    ns.on_server_event("tell", move |ev| {
        let ns = weak.upgrade();
        async move {
            if let Some(ns) = ns {
                let _ = ns.local().emit("told", &ev.values());
            }
        }
    });
}

fn sorted_rooms(socket: &Socket) -> Vec<String> {
    let mut rooms: Vec<String> = socket.rooms().into_iter().map(String::from).collect();
    rooms.sort();
    rooms
}

/// The first argument as a string, and the other arguments as they arrived.
fn room_and_rest(ev: &Event) -> (String, Arguments) {
    let (room, rest) = ev.arguments().split_first();
    let room = room.unwrap_or_default();
    (
        room.as_str()
            .map(String::from)
            .unwrap_or_else(|| room.to_string()),
        rest,
    )
}

async fn on_connection(socket: Arc<Socket>) {
    let _ = socket.emit("auth", &(socket.handshake().auth.clone(),));

    let counter = Arc::new(AtomicU64::new(0));
    let c = counter.clone();
    socket.on_any(move |_ev| {
        c.fetch_add(1, Ordering::Relaxed);
    });
    socket.use_middleware(|ev| {
        if ev.name() == "blocked" {
            Err(MiddlewareError::new("blocked"))
        } else {
            Ok(())
        }
    });
    socket.on_error(|socket, err| {
        let _ = socket.emit("middleware-error", &(err.message.as_str(),));
    });

    socket.on("message", |ev| async move {
        let _ = ev.socket().emit("message-back", &ev.arguments());
    });
    socket.on("message-with-ack", |ev| async move {
        let _ = ev.ack(&ev.arguments());
    });
    socket.on("join", |ev| async move {
        let (room, _) = room_and_rest(&ev);
        ev.socket().join(room);
        let _ = ev.ack(&(sorted_rooms(ev.socket()),));
    });
    socket.on("leave", |ev| async move {
        let (room, _) = room_and_rest(&ev);
        ev.socket().leave(&room);
        let _ = ev.ack(&(sorted_rooms(ev.socket()),));
    });
    socket.on("to-room", |ev| async move {
        let (room, rest) = room_and_rest(&ev);
        let _ = ev.socket().to(room).emit("room-message", &rest);
    });
    socket.on("broadcast", |ev| async move {
        let _ = ev
            .socket()
            .broadcast()
            .emit("broadcast-message", &ev.arguments());
    });
    socket.on("emit-all", |ev| async move {
        let _ = ev.socket().ns().emit("all-message", &ev.arguments());
    });
    socket.on("except-room", |ev| async move {
        let (room, rest) = room_and_rest(&ev);
        let _ = ev.socket().ns().except(room).emit("except-message", &rest);
    });
    socket.on("ask", |ev| async move {
        let (ms, args) = ev.arguments().split_first();
        let ms = ms.and_then(|m| m.as_u64()).unwrap_or(0);
        let answer = ev
            .socket()
            .timeout(Duration::from_millis(ms))
            .emit_with_ack::<_, Vec<Value>>("question", &args);
        let reply = match answer.await {
            Ok(answer) => obj("answer", Value::Array(answer)),
            Err(_) => obj("error", Value::from("timeout")),
        };
        let _ = ev.ack(&(reply,));
    });
    socket.on("ask-all", |ev| async move {
        let ms = ev.values().first().and_then(Value::as_u64).unwrap_or(0);
        let ns = ev.socket().ns().clone();
        let answers = ns
            .timeout(Duration::from_millis(ms))
            .emit_with_ack::<_, Vec<Value>>("question-all", &());
        let reply = match answers.await {
            Ok(responses) => obj("responses", Value::Array(responses)),
            Err(_) => obj("error", Value::from("timeout")),
        };
        let _ = ev.ack(&(reply,));
    });
    socket.on("sockets-in", |ev| async move {
        let (room, _) = room_and_rest(&ev);
        let fetched = ev.socket().ns().to(room).fetch_sockets().await;
        let mut ids: Vec<String> = fetched
            .unwrap_or_default()
            .iter()
            .map(|s| s.id().to_string())
            .collect();
        ids.sort();
        let _ = ev.ack(&(ids,));
    });
    socket.on("disconnect-room", |ev| async move {
        let (room, _) = room_and_rest(&ev);
        ev.socket().ns().to(room).disconnect_sockets(true);
    });
    socket.on("disconnect-me", |ev| async move {
        let close = ev
            .values()
            .first()
            .and_then(Value::as_bool)
            .unwrap_or(false);
        ev.socket().disconnect(close);
    });
    socket.on("volatile-burst", |ev| async move {
        let n = ev.values().first().and_then(Value::as_u64).unwrap_or(0);
        for i in 0..n {
            let _ = ev.socket().volatile().emit("volatile", &(i,));
        }
    });
    socket.on("count", move |ev| {
        // The catch-all listener already counted this `count` event.
        let before = counter.load(Ordering::Relaxed).saturating_sub(1);
        async move {
            let _ = ev.ack(&(before,));
        }
    });
    socket.on("server-count", |ev| async move {
        let count = ev.socket().ns().server_count().await.unwrap_or(0);
        let _ = ev.ack(&(count,));
    });
    socket.on("server-side-tell", |ev| async move {
        let _ = ev.socket().ns().server_side_emit("tell", &ev.arguments());
    });
    socket.on("server-side-ask", |ev| async move {
        let answers = ev
            .socket()
            .ns()
            .server_side_emit_with_ack("ask", &ev.arguments());
        let reply = match answers.await {
            Ok(responses) => obj("responses", Value::Array(responses)),
            Err(e) => obj("error", Value::from(e.to_string())),
        };
        let _ = ev.ack(&(reply,));
    });
    socket.on("binary", |ev| async move {
        let nested = obj("nested", Value::Bytes(bytes::Bytes::from_static(&[4, 5])));
        let _ = ev.ack(&(Value::Bytes(bytes::Bytes::from_static(&[1, 2, 3])), nested));
    });
}

/// `{key: value}`: values may hold binary, which `json!` cannot carry.
fn obj(key: &str, value: Value) -> Value {
    Value::Object([(key.to_owned(), value)].into_iter().collect())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("signal handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
