//! [`Manager`]: one Engine.IO connection, shared by the namespace sockets,
//! with the reference client's reconnection.
//!
//! A task owns the connection: it opens the engine, routes decoded packets
//! to the sockets, and on an unexpected close reconnects with exponential
//! backoff (`delay · 2^n`, ± `randomization_factor`, capped at `delay_max`),
//! re-joining every active namespace. A server disconnect, a client
//! disconnect or a refused namespace do not reconnect that socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sio_proto::{Decoder, PacketType, Parser, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::engine::{self, EngineClose, EngineCmd, EngineEvent, EngineOptions, Transport};
use crate::socket::{Auth, ConnectError, ConnectErrorKind, EngineSlot, Inner, Socket};

/// Manager settings, with the reference client's defaults.
///
/// ```
/// use sio_client::{ManagerOptions, Transport};
/// let mut opts = ManagerOptions::default();
/// opts.path = "/custom-path/".into();
/// opts.query = vec![("room".into(), "42".into())];
/// opts.extra_headers.insert("cookie", "session=abc".parse().unwrap());
/// opts.transports = vec![Transport::WebSocket];
/// # let _ = sio_client::ClientBuilder::new("http://127.0.0.1:3000").options(opts);
/// ```
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// The path (default `/socket.io/`).
    pub path: String,
    /// Reconnect after an unexpected close (default true).
    pub reconnection: bool,
    /// How many attempts (default unlimited).
    pub reconnection_attempts: Option<u32>,
    /// The first delay (default 1 s).
    pub reconnection_delay: Duration,
    /// The longest delay (default 5 s).
    pub reconnection_delay_max: Duration,
    /// Jitter, 0 to 1 (default 0.5).
    pub randomization_factor: f64,
    /// How long opening the connection may take (default 20 s; `None`: no limit).
    pub timeout: Option<Duration>,
    /// Transports in order (default polling, then WebSocket).
    pub transports: Vec<Transport>,
    /// Upgrade from polling to WebSocket (default true).
    pub upgrade: bool,
    /// Start with WebSocket when a WebSocket connection worked before in
    /// this process (default false).
    pub remember_upgrade: bool,
    /// Extra query parameters.
    pub query: Vec<(String, String)>,
    /// Extra request headers.
    pub extra_headers: http::HeaderMap,
    /// The packet format (default JSON).
    pub parser: Parser,
    /// Ack timeout for `emit_with_ack` (default none).
    pub ack_timeout: Option<Duration>,
    /// At-least-once delivery (default off): every emit waits for an ack,
    /// one at a time, and is sent again after `ack_timeout`, at most this
    /// many more times.
    pub retries: Option<u32>,
    /// TLS settings for `https://` URLs (default: trust the webpki root
    /// certificates). Use the re-exported [`rustls`](crate::rustls).
    pub tls_config: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            path: "/socket.io/".into(),
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            timeout: Some(Duration::from_millis(20_000)),
            transports: vec![Transport::Polling, Transport::WebSocket],
            upgrade: true,
            remember_upgrade: false,
            query: Vec::new(),
            extra_headers: http::HeaderMap::new(),
            parser: Parser::Json,
            ack_timeout: None,
            retries: None,
            tls_config: None,
        }
    }
}

/// The reference's backoff: `min · 2^attempts`, ± jitter, capped.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: f64,
    max: f64,
    jitter: f64,
    pub attempts: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration, jitter: f64) -> Backoff {
        let jitter = if jitter > 0.0 && jitter <= 1.0 {
            jitter
        } else {
            0.0
        };
        Backoff {
            min: min.as_millis() as f64,
            max: max.as_millis() as f64,
            jitter,
            attempts: 0,
        }
    }

    /// The next delay; `rand` in [0, 1).
    pub fn duration_with(&mut self, rand: f64) -> Duration {
        let mut ms = self.min * 2f64.powi(self.attempts.min(60) as i32);
        self.attempts += 1;
        if self.jitter > 0.0 {
            let deviation = (rand * self.jitter * ms).floor();
            ms = if ((rand * 10.0).floor() as u64) % 2 == 0 {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        Duration::from_millis(ms.min(self.max).max(0.0) as u64)
    }

    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

pub(crate) enum Cmd {
    Connect(String),
    Disconnect(String),
    Close,
    /// Every handle is gone: close and stop.
    Shutdown,
}

/// Held by every application handle (the manager, its sockets); when the
/// last one goes, the manager task closes the connection and stops.
pub(crate) struct Keep(mpsc::UnboundedSender<Cmd>);

impl Drop for Keep {
    fn drop(&mut self) {
        let _ = self.0.send(Cmd::Shutdown);
    }
}

type U32Fn = Arc<dyn Fn(u32) + Send + Sync>;
type StrFn = Arc<dyn Fn(&str) + Send + Sync>;
type UnitFn = Arc<dyn Fn() + Send + Sync>;
type TransportFn = Arc<dyn Fn(Transport) + Send + Sync>;

#[derive(Default)]
struct Hooks {
    open: Vec<TransportFn>,
    reconnect_attempt: Vec<U32Fn>,
    reconnect: Vec<U32Fn>,
    reconnect_error: Vec<StrFn>,
    reconnect_failed: Vec<UnitFn>,
}

struct Shared {
    opts: ManagerOptions,
    cmd: mpsc::UnboundedSender<Cmd>,
    sockets: Mutex<HashMap<String, Socket>>,
    engine: EngineSlot,
    hooks: Mutex<Hooks>,
    /// The Engine.IO session id while open.
    engine_id: Mutex<Option<String>>,
    /// The transport in use while open.
    transport: Mutex<Option<Transport>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One connection to a server, multiplexing namespace sockets. Cheap to clone.
///
/// ```no_run
/// # async fn run() {
/// let manager = sio_client::Manager::new("http://127.0.0.1:3000", Default::default()).unwrap();
/// let main = manager.socket("/");
/// let admin = manager.socket("/admin"); // same connection
/// main.on("hello", |ev| async move { println!("{:?}", ev.values()) });
/// main.connect();
/// admin.connect();
/// # }
/// ```
#[derive(Clone)]
pub struct Manager {
    shared: Arc<Shared>,
    keep: Arc<Keep>,
}

/// A URL that is not `http://` or `https://` (or `ws://`, `wss://`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URL {0:?}: expected http(s)://host[:port][/namespace]")]
pub struct UrlError(pub String);

/// Splits `http://host:port/nsp?query` into the origin, the namespace and the query.
/// Query parameters, in order.
pub(crate) type Query = Vec<(String, String)>;

pub(crate) fn split_url(url: &str) -> Result<(String, String, Query), UrlError> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://").ok_or_else(|| UrlError(url.into()))?;
    let scheme = match scheme {
        "http" | "ws" => "http",
        "https" | "wss" => "https",
        _ => return Err(UrlError(url.into())),
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() {
        return Err(UrlError(url.into()));
    }
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    Ok((
        format!("{scheme}://{host}"),
        if path.is_empty() {
            "/".into()
        } else {
            path.to_owned()
        },
        query,
    ))
}

impl Manager {
    /// A manager for the server at `url` (its path is ignored: namespaces
    /// are chosen with [`socket`](Manager::socket)). Nothing connects until
    /// a socket does.
    pub fn new(url: &str, mut opts: ManagerOptions) -> Result<Manager, UrlError> {
        let (origin, _nsp, query) = split_url(url)?;
        if !opts.path.ends_with('/') {
            opts.path.push('/');
        }
        let mut all_query = query;
        all_query.extend(opts.query.iter().cloned());
        let engine_opts = Arc::new(EngineOptions {
            origin,
            path: opts.path.clone(),
            query: all_query,
            transports: opts.transports.clone(),
            upgrade: opts.upgrade,
            headers: opts.extra_headers.clone(),
            tls: opts.tls_config.clone(),
            remember_upgrade: opts.remember_upgrade,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let backoff = Backoff::new(
            opts.reconnection_delay,
            opts.reconnection_delay_max,
            opts.randomization_factor,
        );
        let shared = Arc::new(Shared {
            opts,
            cmd: tx,
            sockets: Mutex::new(HashMap::new()),
            engine: Arc::new(Mutex::new(None)),
            hooks: Mutex::new(Hooks::default()),
            engine_id: Mutex::new(None),
            transport: Mutex::new(None),
        });
        let keep = Arc::new(Keep(shared.cmd.clone()));
        let task = Task {
            shared: shared.clone(),
            engine_opts,
            rx,
            events: None,
            open: false,
            decoder: Decoder::new(shared.opts.parser),
            backoff,
            reconnect_at: None,
            reconnecting: false,
            open_deadline: None,
        };
        tokio::spawn(task.run());
        Ok(Manager { shared, keep })
    }

    /// The socket for namespace `nsp` (created on first call; not connected
    /// until [`Socket::connect`]).
    pub fn socket(&self, nsp: &str) -> Socket {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        let mut sockets = lock(&self.shared.sockets);
        sockets
            .entry(nsp.clone())
            .or_insert_with(|| {
                Socket::new(Inner {
                    nsp,
                    parser: self.shared.opts.parser,
                    auth: Mutex::new(Auth::None),
                    ack_timeout: self.shared.opts.ack_timeout,
                    retries: self.shared.opts.retries,
                    state: Mutex::new(Socket::new_state()),
                    engine: self.shared.engine.clone(),
                    manager: self.shared.cmd.clone(),
                })
            })
            .clone()
            .with_keep(self.keep.clone())
    }

    /// The Engine.IO session id while connected (not a socket id).
    pub fn engine_id(&self) -> Option<String> {
        lock(&self.shared.engine_id).clone()
    }

    /// The transport in use while connected: [`Transport::Polling`] until an
    /// upgrade completes, then [`Transport::WebSocket`] (the reference's
    /// `manager.engine.transport.name`).
    ///
    /// ```no_run
    /// # async fn run() {
    /// use sio_client::{Manager, ManagerOptions, Transport};
    /// let manager = Manager::new("http://127.0.0.1:3000", ManagerOptions::default()).unwrap();
    /// manager.socket("/").connect();
    /// // ... once connected:
    /// if manager.transport() == Some(Transport::WebSocket) {
    ///     println!("upgraded");
    /// }
    /// # }
    /// ```
    pub fn transport(&self) -> Option<Transport> {
        *lock(&self.shared.transport)
    }

    /// Closes the connection; no reconnection.
    pub fn close(&self) {
        let _ = self.shared.cmd.send(Cmd::Close);
    }

    /// Called when an Engine.IO connection opens (the reference Manager's
    /// `open` event), with the transport it opened with: polling, or
    /// WebSocket when only WebSocket is allowed or the upgrade is remembered.
    ///
    /// ```
    /// use sio_client::{Manager, ManagerOptions};
    ///
    /// # fn demo() -> Result<(), sio_client::UrlError> {
    /// let manager = Manager::new("http://127.0.0.1:3000", ManagerOptions::default())?;
    /// manager.on_open(|transport| println!("open over {transport:?}"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_open<F: Fn(Transport) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.hooks).open.push(Arc::new(f));
    }

    /// Called before each reconnection attempt, with its number (from 1).
    pub fn on_reconnect_attempt<F: Fn(u32) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.hooks).reconnect_attempt.push(Arc::new(f));
    }

    /// Called when a reconnection succeeded, with the number of attempts.
    pub fn on_reconnect<F: Fn(u32) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.hooks).reconnect.push(Arc::new(f));
    }

    /// Called when a reconnection attempt failed.
    pub fn on_reconnect_error<F: Fn(&str) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.hooks).reconnect_error.push(Arc::new(f));
    }

    /// Called when every allowed attempt failed.
    pub fn on_reconnect_failed<F: Fn() + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.hooks).reconnect_failed.push(Arc::new(f));
    }
}

struct Task {
    shared: Arc<Shared>,
    engine_opts: Arc<EngineOptions>,
    rx: mpsc::UnboundedReceiver<Cmd>,
    events: Option<mpsc::UnboundedReceiver<EngineEvent>>,
    open: bool,
    decoder: Decoder,
    backoff: Backoff,
    reconnect_at: Option<Instant>,
    reconnecting: bool,
    open_deadline: Option<Instant>,
}

impl Task {
    async fn run(mut self) {
        loop {
            let sleep_reconnect = self.reconnect_at;
            let sleep_open = self.open_deadline;
            tokio::select! {
                cmd = self.rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    let shared = self.shared.clone();
                    if !self.on_cmd(&shared, cmd) {
                        break;
                    }
                }
                ev = async { self.events.as_mut().expect("guarded").recv().await }, if self.events.is_some() => {
                    let shared = self.shared.clone();
                    match ev {
                        Some(ev) => self.on_engine(&shared, ev),
                        None => self.on_engine(&shared, EngineEvent::Closed(EngineClose::TransportClose)),
                    }
                }
                _ = tokio::time::sleep_until(sleep_reconnect.unwrap_or_else(Instant::now)), if sleep_reconnect.is_some() => {
                    self.reconnect_at = None;
                    let shared = self.shared.clone();
                    let attempt = self.backoff.attempts;
                    let hooks = lock(&shared.hooks).reconnect_attempt.clone();
                    for f in hooks {
                        f(attempt);
                    }
                    self.open(&shared);
                }
                _ = tokio::time::sleep_until(sleep_open.unwrap_or_else(Instant::now)), if sleep_open.is_some() => {
                    self.open_deadline = None;
                    let shared = self.shared.clone();
                    if let Some((tx, _)) = lock(&shared.engine).take() {
                        let _ = tx.send(EngineCmd::Close);
                    }
                    self.events = None;
                    self.on_open_failed(&shared, ConnectErrorKind::Timeout, "timeout".into());
                }
            }
        }
        let shared = self.shared.clone();
        self.close_engine(&shared);
        // Break the cycle socket listeners may form with their sockets.
        lock(&shared.sockets).clear();
    }

    fn sockets(shared: &Shared) -> Vec<Socket> {
        lock(&shared.sockets).values().cloned().collect()
    }

    fn any_active(shared: &Shared) -> bool {
        Self::sockets(shared).iter().any(Socket::active)
    }

    fn open(&mut self, shared: &Arc<Shared>) {
        let handle = engine::open(self.engine_opts.clone());
        *lock(&shared.engine) = Some((handle.cmd, handle.writable));
        self.events = Some(handle.events);
        self.open = false;
        self.decoder = Decoder::new(shared.opts.parser);
        self.open_deadline = shared.opts.timeout.map(|t| Instant::now() + t);
    }

    fn close_engine(&mut self, shared: &Shared) {
        if let Some((tx, _)) = lock(&shared.engine).take() {
            let _ = tx.send(EngineCmd::Close);
        }
        lock(&shared.engine_id).take();
        self.events = None;
        self.open = false;
        self.open_deadline = None;
        self.reconnect_at = None;
        self.reconnecting = false;
    }

    fn send(shared: &Shared, encoded: Option<sio_proto::Encoded>) {
        let (Some(encoded), Some((tx, _))) = (encoded, lock(&shared.engine).clone()) else {
            return;
        };
        let _ = tx.send(EngineCmd::Send(encoded.frames().collect()));
    }

    /// Sends a socket's CONNECT; an auth payload that cannot be encoded
    /// (binary, with the JSON parser) is a `connect_error` now, not a hang.
    fn send_connect(shared: &Shared, socket: &Socket) {
        match socket.connect_packet() {
            Ok(encoded) => Self::send(shared, Some(encoded)),
            Err(err) => {
                socket.state().active = false;
                socket.on_connect_failed(err);
            }
        }
    }

    /// Returns false when the manager must stop.
    fn on_cmd(&mut self, shared: &Arc<Shared>, cmd: Cmd) -> bool {
        match cmd {
            Cmd::Connect(nsp) => {
                let Some(socket) = lock(&shared.sockets).get(&nsp).cloned() else {
                    return true;
                };
                if socket.connected() {
                    return true;
                }
                socket.state().active = true;
                if self.open {
                    Self::send_connect(shared, &socket);
                } else if self.events.is_none() && !self.reconnecting {
                    self.open(shared);
                }
            }
            Cmd::Disconnect(nsp) => {
                let Some(socket) = lock(&shared.sockets).get(&nsp).cloned() else {
                    return true;
                };
                if socket.connected() {
                    Self::send(shared, shared.opts.parser.encode_disconnect(&nsp).ok());
                }
                socket.state().active = false;
                socket.on_closed("io client disconnect");
                if !Self::any_active(shared) {
                    self.close_engine(shared);
                }
            }
            Cmd::Shutdown => {
                for s in Self::sockets(shared) {
                    s.state().active = false;
                }
                return false;
            }
            Cmd::Close => {
                for s in Self::sockets(shared) {
                    s.state().active = false;
                    s.on_closed("forced close");
                }
                self.close_engine(shared);
            }
        }
        true
    }

    fn on_engine(&mut self, shared: &Arc<Shared>, ev: EngineEvent) {
        match ev {
            EngineEvent::Open(handshake, transport) => {
                *lock(&shared.engine_id) = Some(handshake.sid);
                *lock(&shared.transport) = Some(transport);
                let hooks = lock(&shared.hooks).open.clone();
                for f in hooks {
                    f(transport);
                }
                self.open = true;
                self.open_deadline = None;
                if self.reconnecting {
                    self.reconnecting = false;
                    let attempts = self.backoff.attempts;
                    self.backoff.reset();
                    let hooks = lock(&shared.hooks).reconnect.clone();
                    for f in hooks {
                        f(attempts);
                    }
                }
                for s in Self::sockets(shared).into_iter().filter(Socket::active) {
                    Self::send_connect(shared, &s);
                }
            }
            EngineEvent::Message(frame) => match self.decoder.decode(frame) {
                Ok(Some(packet)) => self.on_packet(shared, packet),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!("closing on a malformed packet: {e}");
                    if let Some((tx, _)) = lock(&shared.engine).take() {
                        let _ = tx.send(EngineCmd::Close);
                    }
                    self.events = None;
                    self.on_closed(shared, "parse error");
                }
            },
            EngineEvent::Upgraded => *lock(&shared.transport) = Some(Transport::WebSocket),
            EngineEvent::Closed(reason) => {
                lock(&shared.engine).take();
                lock(&shared.engine_id).take();
                lock(&shared.transport).take();
                self.events = None;
                if self.open {
                    self.on_closed(shared, reason.as_str());
                } else {
                    let message = match &reason {
                        EngineClose::TransportError(e) => e.clone(),
                        other => other.as_str().to_owned(),
                    };
                    self.on_open_failed(shared, ConnectErrorKind::Transport, message);
                }
            }
        }
    }

    fn on_packet(&mut self, shared: &Arc<Shared>, packet: sio_proto::Packet) {
        let Some(socket) = lock(&shared.sockets).get(packet.nsp.as_str()).cloned() else {
            return;
        };
        match packet.kind {
            PacketType::Connect => {
                let data = packet
                    .data
                    .and_then(|d| d.into_value().ok())
                    .unwrap_or_default();
                let pid = data.get("pid").and_then(Value::as_str).map(str::to_owned);
                match data.get("sid").and_then(Value::as_str) {
                    Some(sid) => socket.on_connected(sid.to_owned(), pid),
                    None => socket.on_connect_failed(ConnectError::refused(
                        "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible",
                        None,
                    )),
                }
            }
            PacketType::ConnectError => {
                let data = packet
                    .data
                    .and_then(|d| d.into_value().ok())
                    .unwrap_or_default();
                let err = match &data {
                    Value::String(s) => ConnectError::refused(s.clone(), None),
                    other => ConnectError::refused(
                        other.get("message").and_then(Value::as_str).unwrap_or(""),
                        other.get("data").cloned(),
                    ),
                };
                socket.state().active = false;
                socket.on_connect_failed(err);
                if !Self::any_active(shared) {
                    self.close_engine(shared);
                }
            }
            PacketType::Disconnect => {
                socket.state().active = false;
                socket.on_closed("io server disconnect");
                if !Self::any_active(shared) {
                    self.close_engine(shared);
                }
            }
            PacketType::Event | PacketType::Ack => socket.on_packet(packet),
        }
    }

    /// The connection dropped after it was open.
    fn on_closed(&mut self, shared: &Arc<Shared>, reason: &str) {
        self.open = false;
        self.backoff.reset();
        for s in Self::sockets(shared) {
            s.on_closed(reason);
        }
        if shared.opts.reconnection && Self::any_active(shared) {
            self.reconnect(shared);
        }
    }

    /// Opening the connection failed.
    fn on_open_failed(&mut self, shared: &Arc<Shared>, kind: ConnectErrorKind, message: String) {
        self.open = false;
        self.open_deadline = None;
        let err = ConnectError::new(kind, message.clone());
        for s in Self::sockets(shared).into_iter().filter(Socket::active) {
            s.on_connect_failed(err.clone());
        }
        if self.reconnecting {
            self.reconnecting = false;
            self.reconnect(shared);
            let hooks = lock(&shared.hooks).reconnect_error.clone();
            for f in hooks {
                f(&message);
            }
        } else if shared.opts.reconnection && self.backoff.attempts == 0 && Self::any_active(shared)
        {
            self.reconnect(shared);
        }
    }

    fn reconnect(&mut self, shared: &Arc<Shared>) {
        if self.reconnecting {
            return;
        }
        if shared
            .opts
            .reconnection_attempts
            .is_some_and(|max| self.backoff.attempts >= max)
        {
            self.backoff.reset();
            let hooks = lock(&shared.hooks).reconnect_failed.clone();
            for f in hooks {
                f();
            }
            return;
        }
        let delay = self.backoff.duration_with(rand::random::<f64>());
        self.reconnecting = true;
        self.reconnect_at = Some(Instant::now() + delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_matches_the_reference() {
        let mut b = Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            0.5,
        );
        // rand 0.0: even branch, no deviation.
        assert_eq!(b.duration_with(0.0), Duration::from_millis(1000));
        assert_eq!(b.duration_with(0.0), Duration::from_millis(2000));
        assert_eq!(b.duration_with(0.0), Duration::from_millis(4000));
        assert_eq!(b.duration_with(0.0), Duration::from_millis(5000));
        b.reset();
        // rand 0.15: floor(1.5) = 1, odd: + floor(0.15 * 0.5 * 1000) = 75.
        assert_eq!(b.duration_with(0.15), Duration::from_millis(1075));
        // rand 0.25: floor(2.5) = 2, even: - floor(0.25 * 0.5 * 2000) = 250.
        assert_eq!(b.duration_with(0.25), Duration::from_millis(1750));
    }

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://127.0.0.1:3000/admin?token=x").unwrap(),
            (
                "http://127.0.0.1:3000".into(),
                "/admin".into(),
                vec![("token".into(), "x".into())]
            )
        );
        assert_eq!(
            split_url("wss://example.com").unwrap().0,
            "https://example.com"
        );
        assert!(split_url("ftp://x").is_err());
    }
}
