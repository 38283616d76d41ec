//! # sio-server
//!
//! The Socket.IO v4 server of sio: an Engine.IO v4 server (HTTP
//! long-polling, WebSocket, the upgrade between them, heartbeat) that mounts
//! in front of any tower service (an axum router) or runs standalone.
//!
//! [`SocketIo`] is the Socket.IO layer (namespaces, rooms, acks,
//! broadcasts), running on top of [`engine`] through the
//! [`EngineHandler`](engine::EngineHandler) trait; the engine can also be
//! used alone, as below.
//!
//! ```no_run
//! use std::sync::Arc;
//! use sio_server::engine::{Engine, EngineConfig, EngineHandler, EngineSocket, CloseReason};
//! use sio_server::proto::Frame;
//!
//! /// Sends every message back.
//! struct Echo;
//! impl EngineHandler for Echo {
//!     type Conn = Arc<EngineSocket>;
//!     fn on_open(&self, socket: Arc<EngineSocket>) -> Self::Conn { socket }
//!     fn on_message(&self, socket: &Self::Conn, data: Frame) { let _ = socket.send(data); }
//!     fn on_close(&self, _socket: &Self::Conn, _reason: CloseReason) {}
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let engine = Engine::new(EngineConfig { path: "/engine.io/".into(), ..Default::default() }, Echo);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! sio_server::serve(listener, sio_server::EngineService::new(engine, sio_server::NotFound)).await
//! # }
//! ```

#![deny(missing_docs)]

pub mod adapter;
mod client;
mod client_files;
pub mod cluster;
pub mod engine;
mod handshake;
mod io;
mod listeners;
mod ns;
mod operators;
mod recovery;
mod remote;
mod service;
mod socket;

pub use client::ClientConn;
pub use client_files::{ClientFiles, ClientFilesError, CLIENT_FILE_NAMES, MAX_CLIENT_FILE_SIZE};
pub use handshake::Query;
pub use io::{IoHandler, SocketIo, SocketIoConfig};
pub use ns::{ConnectError, Namespace};
pub use operators::Operator;
pub use recovery::RecoveryConfig;
pub use remote::RemoteSocket;
pub use service::{serve, EngineLayer, EngineService, NotFound, RemoteAddr, ResponseBody};
/// The protocol core.
pub use sio_proto as proto;
pub use socket::{
    AckError, DisconnectReason, EmitError, Event, Handshake, IntoRooms, ListenerId,
    MiddlewareError, Socket,
};
