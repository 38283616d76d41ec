//! # sio-redis
//!
//! A Redis adapter for sio servers, wire-compatible with the Node.js
//! `@socket.io/redis-adapter` 8 (the pub/sub adapter), so that Rust and
//! Node.js servers can share one cluster, and an [`Emitter`] that speaks
//! like `@socket.io/redis-emitter` (and the official emitter can emit into a
//! cluster of Rust nodes).
//!
//! ```no_run
//! use sio_redis::{RedisAdapter, RedisAdapterConfig};
//! use sio_server::{SocketIo, SocketIoConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let adapter = RedisAdapter::connect("redis://127.0.0.1:6379", RedisAdapterConfig::default()).await?;
//! let io = SocketIo::new(SocketIoConfig { adapter: adapter.factory(), ..Default::default() });
//! io.ns("/", |socket| async move {
//!     // Reaches the clients of every node in room "news".
//!     socket.to("news").emit("hello", &("from one node",)).ok();
//! });
//! io.of("/").ready().await?;
//! io.listen("127.0.0.1:3000".parse()?).await?;
//! # Ok(()) }
//! ```
//!
//! - [`codec`]: the messages, byte for byte (notepack msgpack and JSON).
//! - [`adapter`]: the adapter, its connections and their faults.
//! - [`emitter`]: the emitter.

#![warn(missing_docs)]

pub mod adapter;
pub mod codec;
pub mod emitter;

pub use adapter::{RedisAdapter, RedisAdapterConfig};
pub use emitter::Emitter;
