//! # sio-client
//!
//! A Socket.IO v4 client with the behaviour of the official JavaScript
//! client: a [`Manager`] multiplexes namespace [`Socket`]s over one
//! Engine.IO connection (long-polling, WebSocket, and the upgrade between
//! them), reconnects with backoff, buffers emits while disconnected, and
//! delivers events that arrive before `connect` right after it.
//!
//! ```no_run
//! use sio_client::ClientBuilder;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let socket = ClientBuilder::new("http://127.0.0.1:3000")
//!     .auth(serde_json::json!({ "token": "abc" }))
//!     .on("chat message", |ev| async move { println!("{:?}", ev.values()) })
//!     .connect()
//!     .await?;
//! socket.emit("chat message", &("hello",))?;
//! let (status,): (String,) = socket.emit_with_ack("request", &(1, "two")).await?;
//! # let _ = status;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod engine;
mod manager;
mod socket;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use engine::{EngineClose, Transport};
pub use manager::{Manager, ManagerOptions, UrlError};
/// The TLS library used for `https://` (for [`ManagerOptions::tls_config`]).
pub use rustls;
pub use sio_proto as proto;
pub use socket::{
    AckError, Auth, ConnectError, ConnectErrorKind, EmitError, Event, EventStream, Socket,
    WithTimeout,
};

type Setup = Box<dyn FnOnce(&Socket) + Send>;

/// Builds a client socket: options, auth, handlers, then [`connect`](ClientBuilder::connect).
///
/// ```no_run
/// use std::time::Duration;
/// use sio_client::{ClientBuilder, Transport};
///
/// # async fn run() -> Result<(), sio_client::ConnectError> {
/// let socket = ClientBuilder::new("http://127.0.0.1:3000/admin")
///     .transports([Transport::WebSocket])
///     .auth(serde_json::json!({ "token": "secret" }))
///     .reconnection_delay(Duration::from_millis(500), Duration::from_secs(5))
///     .ack_timeout(Duration::from_secs(10))
///     .on("notice", |ev| async move { println!("{:?}", ev.values()) })
///     .connect()
///     .await?;
/// # drop(socket);
/// # Ok(())
/// # }
/// ```
pub struct ClientBuilder {
    url: String,
    namespace: Option<String>,
    opts: ManagerOptions,
    auth: Auth,
    setup: Vec<Setup>,
}

impl ClientBuilder {
    /// A client for `url` (`http://host:port[/namespace]`).
    pub fn new(url: &str) -> ClientBuilder {
        ClientBuilder {
            url: url.to_owned(),
            namespace: None,
            opts: ManagerOptions::default(),
            auth: Auth::None,
            setup: Vec::new(),
        }
    }

    /// The namespace (default: the URL's path, or `/`).
    pub fn namespace(mut self, nsp: &str) -> Self {
        self.namespace = Some(nsp.to_owned());
        self
    }

    /// The transports, in order.
    pub fn transports(mut self, transports: impl IntoIterator<Item = Transport>) -> Self {
        self.opts.transports = transports.into_iter().collect();
        self
    }

    /// Whether to upgrade from polling to WebSocket.
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.opts.upgrade = upgrade;
        self
    }

    /// The auth payload (anything serializable).
    pub fn auth<T: serde::Serialize>(mut self, auth: T) -> Self {
        self.auth = sio_proto::to_value(&auth)
            .map(Auth::Value)
            .unwrap_or_default();
        self
    }

    /// An auth payload computed at every (re)connection.
    pub fn auth_fn<F: Fn() -> sio_proto::Value + Send + Sync + 'static>(mut self, f: F) -> Self {
        self.auth = Auth::Fn(Arc::new(f));
        self
    }

    /// Whether to reconnect after an unexpected close.
    pub fn reconnection(mut self, on: bool) -> Self {
        self.opts.reconnection = on;
        self
    }

    /// Reconnection delays: the first and the longest.
    pub fn reconnection_delay(mut self, delay: Duration, max: Duration) -> Self {
        self.opts.reconnection_delay = delay;
        self.opts.reconnection_delay_max = max;
        self
    }

    /// The number of reconnection attempts (default unlimited).
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.opts.reconnection_attempts = Some(attempts);
        self
    }

    /// At-least-once delivery: each emit is acked, one at a time, and sent
    /// again after the ack timeout, at most `retries` more times.
    pub fn retries(mut self, retries: u32) -> Self {
        self.opts.retries = Some(retries);
        self
    }

    /// How long opening the connection may take (default 20 s; `None`: no limit).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.opts.timeout = timeout;
        self
    }

    /// The timeout of `emit_with_ack`.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.opts.ack_timeout = Some(timeout);
        self
    }

    /// TLS settings for `https://` (default: the webpki root certificates).
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.opts.tls_config = Some(config);
        self
    }

    /// All manager options at once.
    pub fn options(mut self, opts: ManagerOptions) -> Self {
        self.opts = opts;
        self
    }

    /// A handler for `event`, registered before connecting.
    pub fn on<F, Fut>(mut self, event: &str, handler: F) -> Self
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let event = event.to_owned();
        self.setup.push(Box::new(move |s: &Socket| {
            s.on(&event, handler);
        }));
        self
    }

    /// Anything to do with the socket before it connects (more handlers).
    pub fn with_socket<F: FnOnce(&Socket) + Send + 'static>(mut self, f: F) -> Self {
        self.setup.push(Box::new(f));
        self
    }

    /// The socket, set up but not connected.
    pub fn build(self) -> Result<Socket, UrlError> {
        let (_, path_nsp, _) = manager::split_url(&self.url)?;
        let manager = Manager::new(&self.url, self.opts)?;
        let socket = manager.socket(self.namespace.as_deref().unwrap_or(&path_nsp));
        socket.set_auth(self.auth);
        for f in self.setup {
            f(&socket);
        }
        Ok(socket)
    }

    /// Connects and waits for `connect` (or the first `connect_error`).
    pub async fn connect(self) -> Result<Socket, ConnectError> {
        let socket = self
            .build()
            .map_err(|e| ConnectError::new(ConnectErrorKind::Local, e.to_string()))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<(), ConnectError>>();
        let tx = Arc::new(Mutex::new(Some(tx)));
        let t1 = tx.clone();
        socket.on_connect(move |_| {
            if let Some(tx) = t1.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = tx.send(Ok(()));
            }
            async {}
        });
        socket.on_connect_error(move |_, err| {
            if let Some(tx) = tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = tx.send(Err(err));
            }
            async {}
        });
        socket.connect();
        match rx.await {
            Ok(Ok(())) => Ok(socket),
            Ok(Err(e)) => {
                socket.disconnect();
                Err(e)
            }
            Err(_) => Err(ConnectError::new(
                ConnectErrorKind::Local,
                "the client stopped",
            )),
        }
    }
}
