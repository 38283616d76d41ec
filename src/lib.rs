//! # sio: Socket.IO v4 for Rust
//!
//! A server and a client for Socket.IO (protocol v5 over Engine.IO v4),
//! wire-compatible with the official JavaScript implementation.
//!
//! This facade re-exports the parts: the protocol core, [`proto`] (the
//! Engine.IO and Socket.IO codecs, JSON and msgpack, the dynamic
//! [`Value`](proto::Value) and its serde glue), the [`server`] and the
//! [`client`], and (feature `redis`, on by default) the Redis adapter and
//! emitter, `redis`.
//!
//! The [`guide`] takes every example of the Socket.IO documentation and
//! shows it in Rust, server side and client side; each one runs as a test.
//!
//! ```
//! use sio::proto::{Parser, Frame};
//! let encoded = Parser::Json.encode_event("/", "hello", &("world",), None).unwrap();
//! assert_eq!(encoded.head, Frame::from(r#"2["hello","world"]"#));
//! ```

#![deny(missing_docs)]

/// The client (crate `sio-client`).
pub use sio_client as client;
/// The sans-IO protocol core (crate `sio-proto`).
pub use sio_proto as proto;
/// The Redis adapter and emitter (crate `sio-redis`, feature `redis`).
#[cfg(feature = "redis")]
pub use sio_redis as redis;
/// The server (crate `sio-server`).
pub use sio_server as server;

#[doc(hidden)]
#[path = "guide_support.rs"]
pub mod __guide;

pub mod guide {
    // Inner attributes: the pages' links resolve from inside each module
    // (`super` is the guide, `crate` this crate).
    #![doc = include_str!("../docs/guide/index.md")]

    pub mod quick_start {
        #![doc = include_str!("../docs/guide/quick-start.md")]
    }
    pub mod emitting_events {
        #![doc = include_str!("../docs/guide/emitting-events.md")]
    }
    pub mod api_overview {
        #![doc = include_str!("../docs/guide/api-overview.md")]
    }
    pub mod server_socket {
        #![doc = include_str!("../docs/guide/server-socket.md")]
    }
}

/// The README's examples, compiled and run as doc tests so that it cannot
/// drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
