//! sio inside an axum application: the Socket.IO server is a tower layer
//! on the router; every other path goes to axum.
//!
//!     cargo run --example axum    # then open http://127.0.0.1:3000/
//!
//! ```text
//! GET /             -> "hello from axum"
//! GET /socket.io/?… -> Socket.IO (polling and WebSocket)
//! ```

use axum::routing::get;
use axum::Router;
use sio::server::{SocketIo, SocketIoConfig};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::new(SocketIoConfig::default());
    io.ns("/", |socket| async move {
        socket.on("chat message", |ev| async move {
            // Everyone else gets the message; the sender gets an ack.
            ev.socket()
                .broadcast()
                .emit("chat message", &ev.arguments())
                .ok();
            ev.ack(&("delivered",)).ok();
        });
    });
    let app = Router::new()
        .route("/", get(|| async { "hello from axum" }))
        .layer(io.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on 127.0.0.1:3000");
    axum::serve(listener, app).await
}
