//! [`Socket`]: one namespace of a [`Manager`](crate::Manager) connection.
//!
//! Emits go straight to the engine task while connected; while not, they
//! wait in the send buffer and leave on the next `connect` (volatile ones
//! are dropped). Events that arrive before the CONNECT reply wait in the
//! receive buffer and are delivered right after `connect`. Acks have ids
//! per socket, optional timeouts, and fail with "socket has been
//! disconnected" when the connection drops.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Waker};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sio_proto::packet::{is_reserved_event, PayloadError};
use sio_proto::{Encoded, Frame, PacketType, Parser, Payload, Value};
use tokio::sync::{mpsc, oneshot};

use crate::engine::EngineCmd;
use crate::manager::Cmd;

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs a handler: polled once now (so what it does before its first
/// `.await` happens in arrival order), continued in a task if it waits.
pub(crate) fn run(fut: impl Future<Output = ()> + Send + 'static) {
    let mut fut: BoxFuture = Box::pin(fut);
    if fut
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending()
    {
        tokio::spawn(fut);
    }
}

/// Why an emit failed.
///
/// ```
/// # fn demo(socket: sio_client::Socket) {
/// use sio_client::EmitError;
/// let refused = socket.emit("disconnect", &());
/// assert!(matches!(refused, Err(EmitError::ReservedEvent(_))));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The event name is reserved.
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    /// The arguments could not be encoded.
    #[error(transparent)]
    Encode(#[from] sio_proto::EncodeError),
}

/// Why an acknowledgement did not come.
///
/// ```
/// # async fn demo(socket: sio_client::Socket) {
/// use std::time::Duration;
/// use sio_client::AckError;
/// let outcome = socket
///     .timeout(Duration::from_millis(100))
///     .emit_with_ack::<_, ()>("nobody answers", &())
///     .await;
/// if let Err(AckError::Timeout) = outcome {
///     println!("the server did not acknowledge the event in time");
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// No answer within the timeout.
    #[error("operation has timed out")]
    Timeout,
    /// The connection dropped first.
    #[error("socket has been disconnected")]
    Disconnected,
    /// The emit failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// The answer does not have the requested type.
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

/// A `connect_error`: the server refused the namespace, or the connection failed.
///
/// ```
/// use sio_client::{ConnectError, ConnectErrorKind};
/// let err = ConnectError::refused("forbidden", None);
/// assert_eq!(err.kind, ConnectErrorKind::Refused);
/// assert_eq!(err.to_string(), "forbidden");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The message (`err.message`).
    pub message: String,
    /// The data the server attached (`err.data`).
    pub data: Option<Value>,
    /// Who said no: the server, the transport, the clock or this client.
    pub kind: ConnectErrorKind,
}

/// Why a connection attempt failed (the reference tells these apart by
/// `err.type` and `err.message`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectErrorKind {
    /// The server answered with CONNECT_ERROR (a middleware refused, or the
    /// namespace does not exist): no automatic retry.
    Refused,
    /// The connection could not be opened or dropped before it was open
    /// (the reference's `TransportError`, e.g. `xhr poll error`,
    /// `websocket error`): retried when reconnection is on.
    Transport,
    /// No handshake within the `timeout` option (message `timeout`).
    Timeout,
    /// Refused by this client before anything was sent: an invalid URL or
    /// auth payload, or the client was dropped.
    Local,
}

impl ConnectError {
    /// A CONNECT_ERROR from the server.
    pub fn refused(message: impl Into<String>, data: Option<Value>) -> ConnectError {
        ConnectError {
            message: message.into(),
            data,
            kind: ConnectErrorKind::Refused,
        }
    }

    pub(crate) fn new(kind: ConnectErrorKind, message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
            data: None,
            kind,
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

/// The auth payload sent with CONNECT: none, a value, or a function called
/// at every (re)connection.
///
/// ```
/// # fn demo(socket: sio_client::Socket) {
/// use std::sync::Arc;
/// use sio_client::proto::{Map, Value};
/// use sio_client::Auth;
/// // computed again at each reconnection
/// socket.set_auth(Auth::Fn(Arc::new(|| {
///     let mut auth = Map::new();
///     auth.insert("token".into(), Value::from("abc"));
///     Value::Object(auth)
/// })));
/// # }
/// ```
#[derive(Clone, Default)]
pub enum Auth {
    /// No payload.
    #[default]
    None,
    /// This value.
    Value(Value),
    /// The value this function returns, at each connection.
    Fn(Arc<dyn Fn() -> Value + Send + Sync>),
}

impl Auth {
    pub(crate) fn eval(&self) -> Option<Value> {
        match self {
            Auth::None => None,
            Auth::Value(v) => Some(v.clone()),
            Auth::Fn(f) => Some(f()),
        }
    }
}

type EventFn = Arc<dyn Fn(Event) -> BoxFuture + Send + Sync>;
type AnyFn = Arc<dyn Fn(&Event) + Send + Sync>;
type AnyOutFn = Arc<dyn Fn(&str, &Value) + Send + Sync>;
type ConnectFn = Arc<dyn Fn(Socket) -> BoxFuture + Send + Sync>;
type DisconnectFn = Arc<dyn Fn(Socket, String) -> BoxFuture + Send + Sync>;
type ErrorFn = Arc<dyn Fn(Socket, ConnectError) -> BoxFuture + Send + Sync>;

#[derive(Default, Clone)]
pub(crate) struct Listeners {
    events: HashMap<String, Vec<(u64, bool, EventFn)>>,
    any: Vec<(u64, AnyFn)>,
    any_outgoing: Vec<(u64, AnyOutFn)>,
    connect: Vec<ConnectFn>,
    disconnect: Vec<DisconnectFn>,
    connect_error: Vec<ErrorFn>,
}

pub(crate) struct State {
    pub id: Option<String>,
    pub connected: bool,
    /// Connection state recovery: the private id the server gave, the
    /// offset of the last event received, and whether the last connection
    /// recovered the previous one.
    pid: Option<String>,
    last_offset: Option<String>,
    recovered: bool,
    /// Subscribed to the manager (reconnects with it).
    pub active: bool,
    next_ack: u64,
    acks: HashMap<u64, oneshot::Sender<Result<Payload, AckError>>>,
    /// Encoded packets waiting for `connect`, with their ack id.
    send_buffer: Vec<(Encoded, Option<u64>)>,
    /// Events that arrived before `connect`.
    receive_buffer: Vec<sio_proto::Packet>,
    listeners: Listeners,
    next_listener: u64,
    /// The retry queue (`retries` option).
    queue: std::collections::VecDeque<Queued>,
    queue_seq: u64,
    /// The queue's head is in flight.
    queue_pending: bool,
}

/// An emit waiting for at-least-once delivery.
struct Queued {
    seq: u64,
    event: String,
    args: Value,
    tries: u32,
    done: Option<oneshot::Sender<Result<Payload, AckError>>>,
}

/// The current engine's command channel and writability, if connected.
pub(crate) type EngineSlot =
    Arc<Mutex<Option<(mpsc::UnboundedSender<EngineCmd>, Arc<AtomicBool>)>>>;

pub(crate) struct Inner {
    pub nsp: String,
    pub parser: Parser,
    pub auth: Mutex<Auth>,
    pub ack_timeout: Option<Duration>,
    /// At-least-once delivery: how many times an emit is sent again.
    pub retries: Option<u32>,
    pub state: Mutex<State>,
    /// The current engine's command channel and writability, shared with the manager.
    pub engine: EngineSlot,
    pub manager: mpsc::UnboundedSender<Cmd>,
}

/// One namespace of a connection. Cheap to clone: clones are the same socket.
///
/// ```no_run
/// use std::time::Duration;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let socket = sio_client::ClientBuilder::new("http://127.0.0.1:3000").connect().await?;
/// socket.on("chat message", |ev| async move {
///     let Ok((text,)) = ev.args::<(String,)>() else { return };
///     println!("{text}");
/// });
/// socket.emit("chat message", &("hello",))?;
/// socket.emit_volatile("position", &(10, 20))?;
/// let (status,): (String,) = socket
///     .timeout(Duration::from_secs(5))
///     .emit_with_ack("chat message", &("with an ack",))
///     .await?;
/// println!("{status}");
/// socket.disconnect();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<Inner>,
    /// Keeps the manager running while the application holds this socket.
    _keep: Option<Arc<crate::manager::Keep>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.inner.nsp)
            .field("id", &self.id())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Socket {
    pub(crate) fn new(inner: Inner) -> Socket {
        Socket {
            inner: Arc::new(inner),
            _keep: None,
        }
    }

    /// The same socket, keeping the manager alive.
    pub(crate) fn with_keep(mut self, keep: Arc<crate::manager::Keep>) -> Socket {
        self._keep = Some(keep);
        self
    }

    pub(crate) fn new_state() -> State {
        State {
            id: None,
            connected: false,
            pid: None,
            last_offset: None,
            recovered: false,
            active: false,
            next_ack: 0,
            acks: HashMap::new(),
            send_buffer: Vec::new(),
            receive_buffer: Vec::new(),
            listeners: Listeners::default(),
            next_listener: 1,
            queue: std::collections::VecDeque::new(),
            queue_seq: 0,
            queue_pending: false,
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.inner.nsp
    }

    /// The socket id given by the server (`None` while not connected).
    pub fn id(&self) -> Option<String> {
        self.state().id.clone()
    }

    /// Whether the socket is connected to its namespace.
    pub fn connected(&self) -> bool {
        self.state().connected
    }

    /// Whether the last connection recovered the previous one (server-side
    /// connection state recovery: same id, rooms, and the missed events).
    pub fn recovered(&self) -> bool {
        self.state().recovered
    }

    /// Whether the socket is subscribed to its manager (it reconnects with it).
    pub fn active(&self) -> bool {
        self.state().active
    }

    /// Sets the auth payload for the next (re)connections.
    pub fn set_auth(&self, auth: Auth) {
        *lock(&self.inner.auth) = auth;
    }

    /// Connects (or reconnects after a server disconnect or a refusal).
    pub fn connect(&self) {
        let _ = self
            .inner
            .manager
            .send(Cmd::Connect(self.inner.nsp.clone()));
    }

    /// Leaves the namespace (`io client disconnect`); no automatic reconnection.
    pub fn disconnect(&self) {
        let _ = self
            .inner
            .manager
            .send(Cmd::Disconnect(self.inner.nsp.clone()));
    }

    // ---- emitting ----------------------------------------------------

    /// Emits `event` with `args` (a tuple, a `Vec`, `()`; any other value is
    /// one argument). Buffered until `connect` when not connected.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        if self.inner.retries.is_some() {
            // Queued for at-least-once delivery; nobody waits for its ack.
            drop(self.enqueue(event, args)?);
            return Ok(());
        }
        self.send_event(event, args, None, false)
    }

    /// Emits `event`, dropped if the transport is not ready (or not connected).
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.send_event(event, args, None, true)
    }

    /// Emits `event` and waits for the server's acknowledgement (its
    /// arguments read as the sequence `R`), at most the `ack_timeout` option.
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        self.emit_with_ack_timeout(event, args, self.inner.ack_timeout)
    }

    /// Like [`emit_with_ack`](Socket::emit_with_ack) with this timeout.
    pub fn timeout_emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        timeout: Duration,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        self.emit_with_ack_timeout(event, args, Some(timeout))
    }

    /// Sets a timeout for the acknowledgement of the next emit
    /// (`socket.timeout(5000).emit(...)` in the reference): the returned
    /// [`WithTimeout`] emits with an ack that fails with
    /// [`AckError::Timeout`] if the server does not answer in time. (With
    /// the `retries` option, each attempt uses the `ack_timeout` option
    /// instead.)
    ///
    /// ```no_run
    /// # async fn demo(socket: sio_client::Socket) {
    /// use std::time::Duration;
    /// let answer: Result<(String,), _> = socket
    ///     .timeout(Duration::from_secs(5))
    ///     .emit_with_ack("request", &(1, "two"))
    ///     .await;
    /// # }
    /// ```
    pub fn timeout(&self, timeout: Duration) -> WithTimeout {
        WithTimeout {
            socket: self.clone(),
            timeout,
        }
    }

    fn emit_with_ack_timeout<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        let raw: Pin<Box<dyn Future<Output = Result<Payload, AckError>> + Send>> =
            if self.inner.retries.is_some() {
                match self.enqueue(event, args) {
                    Ok(rx) => {
                        Box::pin(async move { rx.await.unwrap_or(Err(AckError::Disconnected)) })
                    }
                    Err(e) => Box::pin(std::future::ready(Err(e.into()))),
                }
            } else {
                Box::pin(self.ack_raw(event, args, timeout))
            };
        async move { Ok(raw.await?.args(PacketType::Ack)?) }
    }

    /// Sends `event` with an ack id; resolves with the ack's data.
    fn ack_raw<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<Payload, AckError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut s = self.state();
            let id = s.next_ack;
            s.next_ack += 1;
            s.acks.insert(id, tx);
            id
        };
        let sent = self.send_event(event, args, Some(id), false);
        let socket = self.clone();
        async move {
            if let Err(e) = sent {
                socket.state().acks.remove(&id);
                return Err(e.into());
            }
            let outcome = match timeout {
                Some(t) => match tokio::time::timeout(t, rx).await {
                    Ok(r) => r,
                    Err(_) => {
                        let mut s = socket.state();
                        s.acks.remove(&id);
                        s.send_buffer.retain(|(_, ack)| *ack != Some(id));
                        return Err(AckError::Timeout);
                    }
                },
                None => rx.await,
            };
            outcome.map_err(|_| AckError::Disconnected)?
        }
    }

    /// Queues an emit for at-least-once delivery (the `retries` option):
    /// one packet in flight at a time, resent after the ack timeout, at most
    /// `retries` more times; the receiver gets the ack or the last error.
    fn enqueue<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<oneshot::Receiver<Result<Payload, AckError>>, EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent(event.to_owned()));
        }
        let args = sio_proto::to_value(args)
            .map_err(|e| EmitError::Encode(sio_proto::EncodeError(e.to_string())))?;
        let (tx, rx) = oneshot::channel();
        {
            let mut s = self.state();
            s.queue_seq += 1;
            let seq = s.queue_seq;
            s.queue.push_back(Queued {
                seq,
                event: event.to_owned(),
                args,
                tries: 0,
                done: Some(tx),
            });
        }
        self.drain_queue(false);
        Ok(rx)
    }

    /// Sends the head of the retry queue, unless one is in flight (`force`:
    /// send it again anyway, after a reconnection).
    pub(crate) fn drain_queue(&self, force: bool) {
        let (seq, event, args) = {
            let mut s = self.state();
            if !s.connected || (s.queue_pending && !force) {
                return;
            }
            let Some(head) = s.queue.front_mut() else {
                return;
            };
            head.tries += 1;
            let next = (head.seq, head.event.clone(), head.args.clone());
            s.queue_pending = true;
            next
        };
        let attempt = self.ack_raw(&event, &args, self.inner.ack_timeout);
        let socket = self.clone();
        tokio::spawn(async move {
            let outcome = attempt.await;
            socket.on_queue_result(seq, outcome);
        });
    }

    fn on_queue_result(&self, seq: u64, outcome: Result<Payload, AckError>) {
        let retries = self.inner.retries.unwrap_or(0);
        let finished = {
            let mut s = self.state();
            match s.queue.front() {
                Some(head) if head.seq == seq => {}
                // Not the head any more: an older attempt answering late.
                _ => return,
            }
            s.queue_pending = false;
            let tries = s.queue.front().map_or(0, |h| h.tries);
            match outcome {
                Err(_) if tries <= retries => None,
                outcome => s
                    .queue
                    .pop_front()
                    .and_then(|mut h| h.done.take())
                    .map(|done| (done, outcome)),
            }
        };
        if let Some((done, outcome)) = finished {
            let _ = done.send(outcome);
        }
        self.drain_queue(false);
    }

    /// Emits `event` and calls `callback` with the acknowledgement.
    pub fn emit_with_callback<T, R, F>(&self, event: &str, args: &T, callback: F)
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
        F: FnOnce(Result<R, AckError>) + Send + 'static,
    {
        let outcome = self.emit_with_ack::<T, R>(event, args);
        run(async move { callback(outcome.await) });
    }

    /// Sends `message` events.
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    fn send_event<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        ack: Option<u64>,
        volatile: bool,
    ) -> Result<(), EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent(event.to_owned()));
        }
        let encoded = self
            .inner
            .parser
            .encode_event(&self.inner.nsp, event, args, ack)?;
        let engine = lock(&self.inner.engine).clone();
        let mut s = self.state();
        let writable = engine
            .as_ref()
            .is_some_and(|(_, w)| w.load(Ordering::Acquire));
        if volatile && !(writable && s.connected) {
            return Ok(());
        }
        if s.connected {
            if let Some((tx, _)) = &engine {
                let outgoing = s.listeners.any_outgoing.clone();
                drop(s);
                notify_outgoing(&outgoing, event, args);
                let _ = tx.send(EngineCmd::Send(encoded.frames().collect()));
                return Ok(());
            }
        }
        s.send_buffer.push((encoded, ack));
        Ok(())
    }

    // ---- listeners ---------------------------------------------------

    fn next_listener(s: &mut State) -> u64 {
        s.next_listener += 1;
        s.next_listener
    }

    /// Registers a handler for `event`.
    pub fn on<F, Fut>(&self, event: &str, handler: F) -> u64
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add(event, false, handler)
    }

    /// Like [`on`](Socket::on), removed after its first call.
    pub fn once<F, Fut>(&self, event: &str, handler: F) -> u64
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add(event, true, handler)
    }

    fn add<F, Fut>(&self, event: &str, once: bool, handler: F) -> u64
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut s = self.state();
        let id = Self::next_listener(&mut s);
        let f: EventFn = Arc::new(move |ev| Box::pin(handler(ev)));
        s.listeners
            .events
            .entry(event.to_owned())
            .or_default()
            .push((id, once, f));
        id
    }

    /// Removes every handler of `event`.
    pub fn off(&self, event: &str) {
        self.state().listeners.events.remove(event);
    }

    /// Removes one listener (of any kind: event, catch-all, outgoing) by
    /// the id `on`, `once`, `on_any`... returned (`socket.off(event, fn)`).
    ///
    /// ```
    /// # fn demo(socket: sio_client::Socket) {
    /// let id = socket.on("news", |_| async {});
    /// socket.on("news", |_| async {});
    /// socket.off_listener(id);
    /// assert_eq!(socket.listener_count("news"), 1);
    /// assert_eq!(socket.event_names(), ["news"]);
    /// socket.remove_all_listeners();
    /// assert_eq!(socket.listener_count("news"), 0);
    /// # }
    /// ```
    pub fn off_listener(&self, id: u64) {
        let mut s = self.state();
        for list in s.listeners.events.values_mut() {
            list.retain(|(x, _, _)| *x != id);
        }
        s.listeners.any.retain(|(x, _)| *x != id);
        s.listeners.any_outgoing.retain(|(x, _)| *x != id);
    }

    /// Removes every handler of every event (`socket.removeAllListeners()`);
    /// the catch-all and lifecycle listeners stay.
    pub fn remove_all_listeners(&self) {
        self.state().listeners.events.clear();
    }

    /// The events that have handlers (`socket.eventNames()`), in no
    /// particular order.
    pub fn event_names(&self) -> Vec<String> {
        let s = self.state();
        let names = s.listeners.events.iter().filter(|(_, l)| !l.is_empty());
        names.map(|(name, _)| name.clone()).collect()
    }

    /// How many handlers `event` has (`socket.listenerCount(event)`).
    pub fn listener_count(&self, event: &str) -> usize {
        self.state().listeners.events.get(event).map_or(0, Vec::len)
    }

    /// A catch-all listener for incoming events (called before the handlers).
    pub fn on_any<F: Fn(&Event) + Send + Sync + 'static>(&self, f: F) -> u64 {
        let mut s = self.state();
        let id = Self::next_listener(&mut s);
        s.listeners.any.push((id, Arc::new(f)));
        id
    }

    /// Like [`on_any`](Socket::on_any), called before the others.
    pub fn prepend_any<F: Fn(&Event) + Send + Sync + 'static>(&self, f: F) -> u64 {
        let mut s = self.state();
        let id = Self::next_listener(&mut s);
        s.listeners.any.insert(0, (id, Arc::new(f)));
        id
    }

    /// Removes one catch-all listener, or all with `None`.
    pub fn off_any(&self, id: Option<u64>) {
        let mut s = self.state();
        match id {
            Some(id) => s.listeners.any.retain(|(x, _)| *x != id),
            None => s.listeners.any.clear(),
        }
    }

    /// A catch-all listener for outgoing events (name and argument array).
    pub fn on_any_outgoing<F: Fn(&str, &Value) + Send + Sync + 'static>(&self, f: F) -> u64 {
        let mut s = self.state();
        let id = Self::next_listener(&mut s);
        s.listeners.any_outgoing.push((id, Arc::new(f)));
        id
    }

    /// Removes one outgoing catch-all listener, or all with `None`.
    pub fn off_any_outgoing(&self, id: Option<u64>) {
        let mut s = self.state();
        match id {
            Some(id) => s.listeners.any_outgoing.retain(|(x, _)| *x != id),
            None => s.listeners.any_outgoing.clear(),
        }
    }

    /// Called on every successful connection to the namespace.
    pub fn on_connect<F, Fut>(&self, f: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.state()
            .listeners
            .connect
            .push(Arc::new(move |s| Box::pin(f(s))));
    }

    /// Called on disconnection, with the reason (`io server disconnect`, ...).
    pub fn on_disconnect<F, Fut>(&self, f: F)
    where
        F: Fn(Socket, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.state()
            .listeners
            .disconnect
            .push(Arc::new(move |s, r| Box::pin(f(s, r))));
    }

    /// Called when connecting fails (refused by the server, or the connection failed).
    pub fn on_connect_error<F, Fut>(&self, f: F)
    where
        F: Fn(Socket, ConnectError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.state()
            .listeners
            .connect_error
            .push(Arc::new(move |s, e| Box::pin(f(s, e))));
    }

    /// A stream of every incoming event (besides the handlers), for code
    /// that prefers pulling: an [`EventStream`], a `futures` `Stream`
    /// with an async `recv()`. Events received from now on are queued
    /// until read; dropping the stream stops the queueing.
    ///
    /// ```no_run
    /// # async fn demo(socket: sio_client::Socket) {
    /// let mut events = socket.events();
    /// while let Some(event) = events.recv().await {
    ///     println!("{} {:?}", event.name(), event.values());
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> EventStream {
        let (tx, rx) = mpsc::unbounded_channel();
        let listener = self.on_any(move |ev| {
            let _ = tx.send(ev.clone());
        });
        EventStream {
            rx,
            socket: self.clone(),
            listener,
        }
    }

    // ---- called by the manager ---------------------------------------

    pub(crate) fn on_connected(&self, id: String, pid: Option<String>) {
        let (received, to_send, listeners) = {
            let mut s = self.state();
            s.id = Some(id);
            s.recovered = pid.is_some() && s.pid == pid;
            s.pid = pid;
            s.connected = true;
            (
                std::mem::take(&mut s.receive_buffer),
                std::mem::take(&mut s.send_buffer),
                s.listeners.clone(),
            )
        };
        for packet in received {
            self.dispatch(packet);
        }
        if let Some((tx, _)) = lock(&self.inner.engine).clone() {
            for (encoded, _) in to_send {
                // As the reference's emitBuffered: the outgoing listeners
                // see a buffered event when it leaves.
                if !listeners.any_outgoing.is_empty() {
                    if let Some((event, args)) = buffered_event(self.inner.parser, &encoded) {
                        notify_outgoing(&listeners.any_outgoing, &event, &args);
                    }
                }
                let _ = tx.send(EngineCmd::Send(encoded.frames().collect::<Vec<Frame>>()));
            }
        }
        // The retry queue's head goes (again) first thing.
        self.drain_queue(true);
        for f in listeners.connect {
            run(f(self.clone()));
        }
    }

    pub(crate) fn on_closed(&self, reason: &str) {
        let (was_connected, listeners, acks) = {
            let mut s = self.state();
            let was = s.connected;
            s.connected = false;
            s.id = None;
            // Acks of packets still in the send buffer survive (they go out on reconnect).
            let buffered: Vec<u64> = s.send_buffer.iter().filter_map(|(_, a)| *a).collect();
            let ids: Vec<u64> = s
                .acks
                .keys()
                .copied()
                .filter(|id| !buffered.contains(id))
                .collect();
            let acks: Vec<_> = ids
                .into_iter()
                .filter_map(|id| s.acks.remove(&id))
                .collect();
            (was, s.listeners.disconnect.clone(), acks)
        };
        // As the reference: `disconnect` first, then the pending acks fail.
        if was_connected {
            for f in listeners {
                run(f(self.clone(), reason.to_owned()));
            }
        }
        for tx in acks {
            let _ = tx.send(Err(AckError::Disconnected));
        }
    }

    pub(crate) fn on_connect_failed(&self, err: ConnectError) {
        let listeners = self.state().listeners.connect_error.clone();
        for f in listeners {
            run(f(self.clone(), err.clone()));
        }
    }

    /// An EVENT or ACK packet for this namespace.
    pub(crate) fn on_packet(&self, packet: sio_proto::Packet) {
        match packet.kind {
            PacketType::Ack => {
                let Some(id) = packet.id else { return };
                let tx = self.state().acks.remove(&id);
                if let Some(tx) = tx {
                    let _ = tx.send(Ok(packet
                        .data
                        .unwrap_or(Payload::Value(Value::Array(vec![])))));
                }
            }
            PacketType::Event => {
                let mut s = self.state();
                if !s.connected {
                    s.receive_buffer.push(packet);
                    return;
                }
                drop(s);
                self.dispatch(packet);
            }
            _ => {}
        }
    }

    fn dispatch(&self, packet: sio_proto::Packet) {
        let Some(data) = packet.data else { return };
        let Ok(name) = data.event_name() else { return };
        let event = Event(Arc::new(EventInner {
            socket: self.clone(),
            name,
            data,
            ack_id: packet.id,
            acked: AtomicBool::new(false),
        }));
        let (any, handlers) = {
            let mut s = self.state();
            let any: Vec<AnyFn> = s.listeners.any.iter().map(|(_, f)| f.clone()).collect();
            let handlers: Vec<EventFn> = match s.listeners.events.get_mut(event.name()) {
                Some(list) => {
                    let out = list.iter().map(|(_, _, f)| f.clone()).collect();
                    list.retain(|(_, once, _)| !once);
                    out
                }
                None => Vec::new(),
            };
            (any, handlers)
        };
        for f in any {
            f(&event);
        }
        for f in handlers {
            run(f(event.clone()));
        }
        // With recovery, the server appends the event's offset as its last
        // argument: remember it to ask for what comes after on reconnection.
        let mut s = self.state();
        if s.pid.is_some() {
            if let Some(Value::String(offset)) = event.values().pop() {
                s.last_offset = Some(offset);
            }
        }
    }

    pub(crate) fn connect_packet(&self) -> Result<Encoded, ConnectError> {
        let mut auth = lock(&self.inner.auth).eval();
        let (pid, offset) = {
            let s = self.state();
            (s.pid.clone(), s.last_offset.clone())
        };
        if let Some(pid) = pid {
            // `{pid, offset, ...auth}`: the application's keys win.
            let mut m = sio_proto::Map::new();
            m.insert("pid".into(), Value::String(pid));
            if let Some(offset) = offset {
                m.insert("offset".into(), Value::String(offset));
            }
            if let Some(Value::Object(a)) = auth.take() {
                m.extend(a);
            }
            auth = Some(Value::Object(m));
        }
        self.inner
            .parser
            .encode_connect(&self.inner.nsp, auth.as_ref())
            .map_err(|e| {
                ConnectError::new(
                    ConnectErrorKind::Local,
                    format!("invalid auth payload: {e}"),
                )
            })
    }
}

/// The name and arguments of an encoded EVENT (read back only when an
/// outgoing listener wants them, so buffering costs nothing otherwise).
fn buffered_event(parser: Parser, encoded: &Encoded) -> Option<(String, Value)> {
    let mut decoder = sio_proto::Decoder::new(parser);
    let mut packet = None;
    for frame in encoded.frames() {
        packet = decoder.decode(frame).ok()?;
    }
    let packet = packet?;
    let event = packet.event_name().ok()?;
    let args: Vec<Value> = packet.args().ok()?;
    Some((event, Value::Array(args)))
}

fn notify_outgoing<T: Serialize + ?Sized>(listeners: &[(u64, AnyOutFn)], event: &str, args: &T) {
    if listeners.is_empty() {
        return;
    }
    let args = match sio_proto::to_value(args) {
        Ok(Value::Array(a)) => Value::Array(a),
        Ok(Value::Null) | Err(_) => Value::Array(vec![]),
        Ok(one) => Value::Array(vec![one]),
    };
    for (_, f) in listeners {
        f(event, &args);
    }
}

struct EventInner {
    socket: Socket,
    name: String,
    data: Payload,
    ack_id: Option<u64>,
    acked: AtomicBool,
}

/// An incoming event. Cheap to clone.
///
/// ```
/// # fn demo(socket: sio_client::Socket) {
/// socket.on("ferret", |ev| async move {
///     let Ok((name,)) = ev.args::<(String,)>() else { return };
///     println!("{} {name}", ev.name()); // ferret tobi
///     ev.ack(&("woot",)).ok(); // answers the server's ack request, if any
/// });
/// # }
/// ```
#[derive(Clone)]
pub struct Event(Arc<EventInner>);

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.0.name)
            .finish_non_exhaustive()
    }
}

impl Event {
    /// The socket it arrived on.
    pub fn socket(&self) -> &Socket {
        &self.0.socket
    }

    /// The event name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The arguments read as the sequence `T` (extra arguments ignored).
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.0.data.args(PacketType::Event)
    }

    /// The arguments as values.
    pub fn values(&self) -> Vec<Value> {
        self.args().unwrap_or_default()
    }

    /// Whether the server asked for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.0.ack_id.is_some()
    }

    /// Answers the server's ack request with `args` (first call only).
    pub fn ack<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        let Some(id) = self.0.ack_id else {
            return Ok(());
        };
        if self.0.acked.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let socket = &self.0.socket;
        let encoded = socket
            .inner
            .parser
            .encode_ack(&socket.inner.nsp, id, args)?;
        if let Some((tx, _)) = lock(&socket.inner.engine).clone() {
            let _ = tx.send(EngineCmd::Send(encoded.frames().collect()));
        }
        Ok(())
    }
}

/// A socket with an acknowledgement timeout for its next emit: see
/// [`Socket::timeout`].
///
/// ```
/// # fn demo(socket: sio_client::Socket) {
/// use std::time::Duration;
/// use sio_client::AckError;
/// socket.timeout(Duration::from_secs(5)).emit_with_callback(
///     "request",
///     &(1, "two"),
///     |outcome: Result<(String,), AckError>| match outcome {
///         Ok((status,)) => println!("{status}"),
///         Err(AckError::Timeout) => println!("no answer in time"),
///         Err(e) => println!("{e}"),
///     },
/// );
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WithTimeout {
    socket: Socket,
    timeout: Duration,
}

impl WithTimeout {
    /// Emits `event` and waits for the server's acknowledgement, at most
    /// the timeout (`socket.timeout(ms).emitWithAck(...)`).
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        self.socket
            .emit_with_ack_timeout(event, args, Some(self.timeout))
    }

    /// Emits `event` and calls `callback` with the acknowledgement, or with
    /// [`AckError::Timeout`] (`socket.timeout(ms).emit(..., (err, res) => ...)`).
    pub fn emit_with_callback<R: DeserializeOwned + Send + 'static>(
        &self,
        event: &str,
        args: &(impl Serialize + ?Sized),
        callback: impl FnOnce(Result<R, AckError>) + Send + 'static,
    ) {
        let outcome = self.emit_with_ack(event, args);
        run(async move { callback(outcome.await) });
    }
}

/// The incoming events of one socket, pulled instead of pushed to
/// handlers: see [`Socket::events`]. Implements
/// [`Stream`](futures_util::Stream).
///
/// ```no_run
/// use futures_util::StreamExt;
/// # async fn demo(socket: sio_client::Socket) {
/// let first_two: Vec<_> = socket.events().take(2).collect().await;
/// # }
/// ```
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<Event>,
    socket: Socket,
    listener: u64,
}

impl EventStream {
    /// The next event, waiting for it.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is already queued.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl futures_util::Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> std::task::Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        // Nobody reads any more: stop queueing.
        self.socket.off_any(Some(self.listener));
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("nsp", &self.socket.nsp())
            .finish_non_exhaustive()
    }
}
