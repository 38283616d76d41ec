//! [`Socket`]: one client in one namespace.
//!
//! A socket has a fresh id (not the Engine.IO session id), the handshake of
//! its connection, listeners (per event, catch-all, outgoing catch-all,
//! packet middlewares, error and disconnect listeners), the acks it is
//! waiting for, and its rooms (kept by the namespace's adapter).
//!
//! Handlers are async. To keep the reference's ordering, each handler's
//! future is polled once right where the packet is decoded: everything a
//! handler does before its first `.await` (typically its emits and acks)
//! happens in arrival order. A handler that awaits continues in a task.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Waker};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sio_proto::packet::{is_reserved_event, Arguments, PayloadError};
use sio_proto::{Encoded, Packet, PacketType, Parser, Payload, Str, Value};
use tokio::sync::oneshot;

use crate::adapter::{Room, Sid};
use crate::engine::{EngineSocket, SendError};
pub use crate::handshake::Handshake;
pub use crate::listeners::ListenerId;
use crate::listeners::{self, Kind, Listeners};
use crate::ns::Namespace;
use crate::operators::Operator;

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs a handler's future: polled once here, continued in a task if it waits.
pub(crate) fn run(fut: impl Future<Output = ()> + Send + 'static) {
    run_boxed(Box::pin(fut))
}

/// [`run`] for a future already boxed (event handlers return one).
pub(crate) fn run_boxed(mut fut: BoxFuture) {
    let mut cx = Context::from_waker(Waker::noop());
    if fut.as_mut().poll(&mut cx).is_pending() {
        // The task polls again with a real waker before anything can be lost:
        // a future re-registers its waker on every poll.
        tokio::spawn(fut);
    }
}

/// Why an emit failed.
///
/// ```
/// # fn demo(socket: std::sync::Arc<sio_server::Socket>) {
/// use sio_server::EmitError;
/// match socket.emit("connect", &()) {
///     Err(EmitError::ReservedEvent(name)) => println!("{name} is reserved"),
///     Err(e) => println!("not sent: {e}"),
///     Ok(()) => {}
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The event name is reserved (`connect`, `disconnect`, ...).
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    /// The arguments could not be encoded.
    #[error(transparent)]
    Encode(#[from] sio_proto::EncodeError),
    /// The connection is closed or its outgoing buffer is full.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// Why an acknowledgement did not come.
///
/// ```
/// # async fn demo(socket: std::sync::Arc<sio_server::Socket>) {
/// use std::time::Duration;
/// use sio_server::AckError;
/// let answer = socket
///     .timeout(Duration::from_secs(5))
///     .emit_with_ack::<_, (String,)>("question", &())
///     .await;
/// match answer {
///     Ok((text,)) => println!("{text}"),
///     Err(AckError::Timeout) => println!("no answer in time"),
///     Err(AckError::Disconnected) => println!("gone"),
///     Err(e) => println!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// No answer within the timeout.
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected first.
    #[error("socket has been disconnected")]
    Disconnected,
    /// The emit itself failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// The answer does not have the requested type.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The cluster adapter failed (other nodes did not answer in time).
    #[error(transparent)]
    Adapter(#[from] crate::cluster::AdapterError),
}

/// Why a socket disconnected, with the reference's reason strings.
///
/// ```
/// use sio_server::DisconnectReason;
/// # fn demo(socket: std::sync::Arc<sio_server::Socket>) {
/// socket.on_disconnect(|socket, reason| async move {
///     if reason == DisconnectReason::ClientNamespaceDisconnect {
///         println!("{} left ({reason})", socket.id()); // ... left (client namespace disconnect)
///     }
/// });
/// # }
/// assert_eq!(DisconnectReason::PingTimeout.as_str(), "ping timeout");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The transport failed.
    TransportError,
    /// The client closed the connection.
    TransportClose,
    /// The server closed the connection (for example after a decode error).
    ForcedClose,
    /// No pong in time.
    PingTimeout,
    /// An Engine.IO packet could not be decoded.
    ParseError,
    /// The server is closing.
    ServerShuttingDown,
    /// The server closed the connection (invalid state, connect timeout, `disconnect(true)`).
    ForcedServerClose,
    /// The client left the namespace.
    ClientNamespaceDisconnect,
    /// The server removed the socket from the namespace (`disconnect()`).
    ServerNamespaceDisconnect,
}

impl DisconnectReason {
    /// The reason string, e.g. `"transport close"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::ForcedServerClose => "forced server close",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
        }
    }
}

impl DisconnectReason {
    /// Whether connection state recovery keeps the session (the client may
    /// come back): not after a parse error or a namespace disconnect.
    pub fn is_recoverable(self) -> bool {
        !matches!(
            self,
            DisconnectReason::ParseError
                | DisconnectReason::ClientNamespaceDisconnect
                | DisconnectReason::ServerNamespaceDisconnect
        )
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a packet middleware refuses an event with: it reaches the
/// socket's [`on_error`](Socket::on_error) listeners (nothing is sent to the client).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct MiddlewareError {
    /// What went wrong.
    pub message: String,
}

impl MiddlewareError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        MiddlewareError {
            message: message.into(),
        }
    }
}

/// A waiting acknowledgement.
pub(crate) enum PendingAck {
    /// One socket's answer.
    Single(oneshot::Sender<Result<Payload, AckError>>),
    /// One answer towards a broadcast's collection.
    Broadcast(Arc<crate::operators::AckCollector>),
}

/// What one engine connection shares with its sockets: the transport, the
/// parser, and its sockets by namespace.
pub(crate) struct Conn {
    pub engine: Arc<EngineSocket>,
    pub parser: Parser,
    /// In the order they connected (the order DISCONNECTs go out in).
    pub sockets: Mutex<NsSockets>,
    /// Joined a namespace, or closed: the connect timeout no longer applies.
    pub settled: AtomicBool,
}

impl Conn {
    pub fn sockets_lock(&self) -> MutexGuard<'_, NsSockets> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends an encoded packet that nobody else sends: its frames move to
    /// the outbox (no copy, no reference count taken).
    pub fn send_owned(&self, encoded: Encoded) -> Result<(), SendError> {
        self.engine.send_all(encoded.into_frames())
    }

    /// Sends encoded frames; `volatile` drops them when the transport is busy.
    pub fn send(&self, encoded: &Encoded, volatile: bool) -> Result<(), SendError> {
        if volatile && !self.engine.is_writable() {
            return Ok(());
        }
        self.engine.send_all(encoded.frames())
    }
}

/// A connection's sockets by namespace, in the order they connected: a
/// short list (a client joins a few namespaces at most), searched in order;
/// one entry costs one small allocation, not a hash table.
#[derive(Default)]
pub(crate) struct NsSockets(Vec<(Str, Arc<Socket>)>);

impl NsSockets {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn values(&self) -> impl Iterator<Item = &Arc<Socket>> {
        self.0.iter().map(|(_, s)| s)
    }

    pub fn get(&self, ns: &str) -> Option<&Arc<Socket>> {
        self.0.iter().find(|(n, _)| n == ns).map(|(_, s)| s)
    }

    /// Adds or replaces (in place) the socket of `ns`.
    pub fn insert(&mut self, ns: Str, socket: Arc<Socket>) {
        match self.0.iter_mut().find(|(n, _)| *n == ns) {
            Some(entry) => entry.1 = socket,
            None => {
                self.0.reserve_exact(1);
                self.0.push((ns, socket));
            }
        }
    }

    /// Removes the socket of `ns`, keeping the order of the others.
    pub fn shift_remove(&mut self, ns: &str) {
        self.0.retain(|(n, _)| n != ns);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
    }
}

/// One client connected to one namespace: its id, rooms, handshake and
/// data; emitting to it, listening to its events, acknowledgements both
/// ways (the guide of the `sio` crate shows every method at work).
///
/// ```
/// let io = sio_server::SocketIo::new(Default::default());
/// io.ns("/", |socket| async move {
///     socket.join("lobby");
///     socket.emit("hello", &("world", 42)).ok();
///     socket.on("chat message", |ev| async move {
///         let Ok((text,)) = ev.args::<(String,)>() else { return };
///         ev.socket().to("lobby").emit("chat message", &(text,)).ok();
///         ev.ack(&("delivered",)).ok();
///     });
///     socket.on_disconnect(|socket, reason| async move {
///         println!("{} disconnected: {reason}", socket.id());
///     });
/// });
/// ```
pub struct Socket {
    id: Sid,
    ns: Arc<Namespace>,
    pub(crate) conn: Arc<Conn>,
    handshake: Handshake,
    connected: AtomicBool,
    listeners: Mutex<Arc<Listeners>>,
    acks: Mutex<HashMap<u64, PendingAck>>,
    data: Mutex<Value>,
    /// The private id of connection state recovery (when enabled).
    pid: Option<Str>,
    recovered: bool,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("ns", &self.ns.name())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Socket {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: Sid,
        ns: Arc<Namespace>,
        conn: Arc<Conn>,
        handshake: Handshake,
        pid: Option<Str>,
        recovered: bool,
        data: Value,
    ) -> Socket {
        Socket {
            id,
            ns,
            conn,
            handshake,
            connected: AtomicBool::new(false),
            listeners: Mutex::new(listeners::EMPTY.clone()),
            acks: Mutex::new(HashMap::new()),
            data: Mutex::new(data),
            pid,
            recovered,
        }
    }

    /// The socket id: fresh for each namespace socket.
    pub fn id(&self) -> &Sid {
        &self.id
    }

    /// The namespace.
    pub fn ns(&self) -> &Arc<Namespace> {
        &self.ns
    }

    /// The handshake details.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The Engine.IO connection under this socket.
    pub fn conn(&self) -> &Arc<EngineSocket> {
        &self.conn.engine
    }

    /// Whether the socket is connected to its namespace.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Whether this socket's state (id, rooms, data, missed events) was
    /// recovered after a short disconnection.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// Arbitrary data attached to the socket (`socket.data`; `{}` at first).
    pub fn data(&self) -> Value {
        lock(&self.data).clone()
    }

    /// Replaces the socket's data.
    pub fn set_data(&self, data: Value) {
        *lock(&self.data) = data;
    }

    // ---- rooms -------------------------------------------------------

    /// Joins one or more rooms.
    ///
    /// ```
    /// # fn demo(socket: std::sync::Arc<sio_server::Socket>) {
    /// socket.join("room 237");
    /// socket.join(["a", "b"]);
    /// # }
    /// ```
    pub fn join(&self, rooms: impl IntoRooms) {
        if self.connected() {
            self.ns.adapter().add_all(&self.id, &rooms.into_rooms());
        }
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.ns.adapter().del(&self.id, room);
    }

    /// The rooms of this socket (its own id included), in joining order.
    pub fn rooms(&self) -> Vec<Room> {
        self.ns.adapter().socket_rooms(&self.id)
    }

    // ---- emitting ----------------------------------------------------

    /// An operator that targets this socket only (to set flags).
    pub fn op(self: &Arc<Self>) -> Operator {
        Operator::socket(self.clone())
    }

    /// Emits `event` to this client. `args` is the argument list: a tuple,
    /// a `Vec`, or `()`; any other value is one argument. `bytes::Bytes`
    /// inside travel as binary.
    pub fn emit<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.op().emit(event, args)
    }

    /// Emits `event` and waits for the client's acknowledgement (its
    /// arguments, read as the sequence `R`), for at most `timeout` if set
    /// with [`timeout`](Socket::timeout).
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        self.op().emit_with_ack(event, args)
    }

    /// Emits `event` and calls `callback` with the client's acknowledgement
    /// (see [`Operator::emit_with_callback`]).
    pub fn emit_with_callback<T, R, F>(self: &Arc<Self>, event: &str, args: &T, callback: F)
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
        F: FnOnce(Result<R, AckError>) + Send + 'static,
    {
        self.op().emit_with_callback(event, args, callback)
    }

    /// Targets the sockets in `rooms` (this socket excluded).
    pub fn to(self: &Arc<Self>, rooms: impl IntoRooms) -> Operator {
        self.op().to(rooms)
    }

    /// Same as [`to`](Socket::to).
    pub fn within(self: &Arc<Self>, rooms: impl IntoRooms) -> Operator {
        self.op().to(rooms)
    }

    /// Targets every socket of the namespace except those in `rooms` and this one.
    pub fn except(self: &Arc<Self>, rooms: impl IntoRooms) -> Operator {
        self.op().except(rooms)
    }

    /// Targets every other socket of the namespace.
    pub fn broadcast(self: &Arc<Self>) -> Operator {
        self.op().broadcast()
    }

    /// Drops the next emit if the transport is not ready for it.
    pub fn volatile(self: &Arc<Self>) -> Operator {
        self.op().volatile()
    }

    /// Sets a timeout for the next emit's acknowledgement.
    pub fn timeout(self: &Arc<Self>, timeout: Duration) -> Operator {
        self.op().timeout(timeout)
    }

    /// Sets the compress flag of the next emit (kept for API parity; the
    /// transports here do not compress).
    pub fn compress(self: &Arc<Self>, compress: bool) -> Operator {
        self.op().compress(compress)
    }

    /// Only this node (relevant with a cluster adapter).
    pub fn local(self: &Arc<Self>) -> Operator {
        self.op().local()
    }

    /// Sends `message` events (`socket.send` in the reference).
    pub fn send<T: Serialize + ?Sized>(self: &Arc<Self>, args: &T) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// Encodes and writes one event to this socket (no listeners called).
    pub(crate) fn write_event<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        id: Option<u64>,
        volatile: bool,
    ) -> Result<(), EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent(event.to_owned()));
        }
        let encoded = self
            .ns
            .encode_event(self.conn.parser, event, args, id, volatile, || {
                crate::adapter::BroadcastOptions {
                    rooms: vec![self.id.clone()],
                    except: vec![],
                }
            })?;
        self.notify_outgoing(event, || sio_proto::to_value(args).ok());
        if volatile {
            self.conn.send(&encoded, true)?;
        } else {
            self.conn.send_owned(encoded)?;
        }
        Ok(())
    }

    /// Calls the outgoing catch-all listeners, building the value only if any.
    pub(crate) fn notify_outgoing(&self, event: &str, args: impl FnOnce() -> Option<Value>) {
        let listeners = self.listeners();
        if listeners.any_outgoing().next().is_none() {
            return;
        }
        let args = match args() {
            Some(Value::Array(a)) => Value::Array(a),
            Some(Value::Null) | None => Value::Array(vec![]),
            Some(one) => Value::Array(vec![one]),
        };
        for f in listeners.any_outgoing() {
            f(event, &args);
        }
    }

    /// A snapshot of the listeners.
    fn listeners(&self) -> Arc<Listeners> {
        lock(&self.listeners).clone()
    }

    /// Changes the listeners (copying them first if a snapshot is in use).
    fn edit_listeners<R>(&self, f: impl FnOnce(&mut Listeners) -> R) -> R {
        let mut guard = lock(&self.listeners);
        let listeners = Arc::make_mut(&mut guard);
        let r = f(listeners);
        listeners.reindex();
        r
    }

    /// Adds a listener at the end (no walk of the list, unlike an edit).
    fn push_listener(&self, kind: Kind) -> ListenerId {
        let mut guard = lock(&self.listeners);
        let list = Arc::make_mut(&mut guard);
        let id = list.new_id();
        list.push(id, kind);
        id
    }

    /// Once the connection handler has registered the listeners (most
    /// sockets never change them again): shares the list with the sockets
    /// that have the same one, or frees its spare capacity.
    pub(crate) fn shrink_listeners(&self) {
        listeners::share(&mut lock(&self.listeners));
    }

    /// How many acknowledgements this socket is waiting for.
    pub fn pending_acks(&self) -> usize {
        lock(&self.acks).len()
    }

    pub(crate) fn register_ack(&self, id: u64, ack: PendingAck) {
        lock(&self.acks).insert(id, ack);
    }

    pub(crate) fn remove_ack(&self, id: u64) {
        lock(&self.acks).remove(&id);
    }

    /// Sends an encoded packet as is.
    pub(crate) fn write_encoded(&self, encoded: &Encoded, volatile: bool) -> Result<(), SendError> {
        self.conn.send(encoded, volatile)
    }

    // ---- listeners ---------------------------------------------------

    /// Registers a handler for `event`. Several handlers may listen to one
    /// event; they run in registration order.
    ///
    /// ```
    /// # fn demo(socket: std::sync::Arc<sio_server::Socket>) {
    /// socket.on("chat message", |ev| async move {
    ///     let Ok((text,)) = ev.args::<(String,)>() else { return };
    ///     ev.socket().broadcast().emit("chat message", &(text,)).ok();
    /// });
    /// # }
    /// ```
    pub fn on<F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_listener(event, false, handler)
    }

    /// Like [`on`](Socket::on), removed after its first call.
    pub fn once<F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_listener(event, true, handler)
    }

    fn add_listener<F, Fut>(&self, event: &str, once: bool, handler: F) -> ListenerId
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f = listeners::handler(move |ev| -> BoxFuture { Box::pin(handler(ev)) }, |f| f);
        let event = listeners::intern(event);
        let kind = if once {
            Kind::Once(event, f)
        } else {
            Kind::Event(event, f)
        };
        self.push_listener(kind)
    }

    /// Removes every handler of `event`.
    pub fn off(&self, event: &str) {
        self.edit_listeners(|l| l.entries.retain(|x| x.event() != Some(event)));
    }

    /// Removes one listener (of any kind) by id.
    pub fn off_listener(&self, id: ListenerId) {
        self.edit_listeners(|l| l.entries.retain(|x| x.id != id));
    }

    /// Removes every handler of every event (`socket.removeAllListeners()`);
    /// the catch-all, middleware and disconnect listeners stay.
    ///
    /// ```
    /// # fn demo(socket: std::sync::Arc<sio_server::Socket>) {
    /// socket.on("a", |_| async {});
    /// socket.on("a", |_| async {});
    /// assert_eq!(socket.event_names(), ["a"]);
    /// assert_eq!(socket.listener_count("a"), 2);
    /// socket.remove_all_listeners();
    /// assert!(socket.event_names().is_empty());
    /// # }
    /// ```
    pub fn remove_all_listeners(&self) {
        self.edit_listeners(|l| l.entries.retain(|x| x.event().is_none()));
    }

    /// The events that have handlers (`socket.eventNames()`), in no
    /// particular order.
    pub fn event_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for event in self.listeners().entries.iter().filter_map(|x| x.event()) {
            if !names.iter().any(|n| n == event) {
                names.push(event.to_owned());
            }
        }
        names
    }

    /// How many handlers `event` has (`socket.listenerCount(event)`).
    pub fn listener_count(&self, event: &str) -> usize {
        let l = self.listeners();
        l.entries
            .iter()
            .filter(|x| x.event() == Some(event))
            .count()
    }

    /// Whether `event` has handlers.
    pub fn has_listeners(&self, event: &str) -> bool {
        (self.listeners().entries.iter()).any(|x| x.event() == Some(event))
    }

    /// A catch-all listener, called for every incoming event before the
    /// packet middlewares and the event's handlers.
    pub fn on_any<F: Fn(&Event) + Send + Sync + 'static>(&self, listener: F) -> ListenerId {
        let f = listeners::handler(listener, |f| f);
        self.push_listener(Kind::Any(f))
    }

    /// Like [`on_any`](Socket::on_any), called before the others.
    pub fn prepend_any<F: Fn(&Event) + Send + Sync + 'static>(&self, listener: F) -> ListenerId {
        let f = listeners::handler(listener, |f| f);
        self.edit_listeners(|l| {
            let id = l.new_id();
            let at = l.first(|k| matches!(k, Kind::Any(_)));
            l.entries.insert(
                at,
                listeners::Entry {
                    id,
                    kind: Kind::Any(f),
                },
            );
            id
        })
    }

    /// Removes one catch-all listener, or all of them with `None`.
    pub fn off_any(&self, id: Option<ListenerId>) {
        self.edit_listeners(|l| {
            (l.entries)
                .retain(|x| !matches!(x.kind, Kind::Any(_)) || id.is_some_and(|id| x.id != id))
        });
    }

    /// A catch-all listener for outgoing events: called with the event name
    /// and the argument array of every emit and broadcast reaching this socket.
    pub fn on_any_outgoing<F: Fn(&str, &Value) + Send + Sync + 'static>(
        &self,
        listener: F,
    ) -> ListenerId {
        let f = listeners::handler(listener, |f| f);
        self.push_listener(Kind::AnyOutgoing(f))
    }

    /// Like [`on_any_outgoing`](Socket::on_any_outgoing), called before the others.
    pub fn prepend_any_outgoing<F: Fn(&str, &Value) + Send + Sync + 'static>(
        &self,
        listener: F,
    ) -> ListenerId {
        let f = listeners::handler(listener, |f| f);
        self.edit_listeners(|l| {
            let id = l.new_id();
            let at = l.first(|k| matches!(k, Kind::AnyOutgoing(_)));
            let kind = Kind::AnyOutgoing(f);
            l.entries.insert(at, listeners::Entry { id, kind });
            id
        })
    }

    /// Removes one outgoing catch-all listener, or all of them with `None`.
    pub fn off_any_outgoing(&self, id: Option<ListenerId>) {
        self.edit_listeners(|l| {
            (l.entries).retain(|x| {
                !matches!(x.kind, Kind::AnyOutgoing(_)) || id.is_some_and(|id| x.id != id)
            })
        });
    }

    /// A packet middleware (`socket.use` in the reference): runs for every
    /// incoming event, after the catch-all listeners; an error stops the
    /// event and goes to the [`on_error`](Socket::on_error) listeners.
    pub fn use_middleware<F>(&self, middleware: F)
    where
        F: Fn(&Event) -> Result<(), MiddlewareError> + Send + Sync + 'static,
    {
        let f = listeners::handler(middleware, |f| f);
        self.push_listener(Kind::Middleware(f));
    }

    /// Listens to errors from packet middlewares.
    pub fn on_error<F: Fn(&Arc<Socket>, &MiddlewareError) + Send + Sync + 'static>(
        &self,
        listener: F,
    ) {
        let f = listeners::handler(listener, |f| f);
        self.push_listener(Kind::Error(f));
    }

    /// Called when the socket is about to disconnect (its rooms still set).
    pub fn on_disconnecting<F, Fut>(&self, handler: F)
    where
        F: Fn(Arc<Socket>, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f = listeners::handler(move |s, r| -> BoxFuture { Box::pin(handler(s, r)) }, |f| f);
        self.push_listener(Kind::Disconnecting(f));
    }

    /// Called when the socket has disconnected.
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(Arc<Socket>, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f = listeners::handler(move |s, r| -> BoxFuture { Box::pin(handler(s, r)) }, |f| f);
        self.push_listener(Kind::Disconnect(f));
    }

    // ---- lifecycle ---------------------------------------------------

    /// Disconnects the socket from its namespace; with `close`, closes the
    /// whole connection (every namespace of this client).
    pub fn disconnect(self: &Arc<Self>, close: bool) {
        if !self.connected() {
            return;
        }
        if close {
            let sockets: Vec<Arc<Socket>> = self.conn.sockets_lock().values().cloned().collect();
            for s in sockets {
                s.send_disconnect();
                s.on_close(DisconnectReason::ServerNamespaceDisconnect);
            }
            self.conn.engine.close();
        } else {
            self.send_disconnect();
            self.on_close(DisconnectReason::ServerNamespaceDisconnect);
        }
    }

    fn send_disconnect(&self) {
        if let Ok(encoded) = self.conn.parser.encode_disconnect(self.ns.name()) {
            let _ = self.conn.send(&encoded, false);
        }
    }

    /// Marks the socket connected, joins its own room, sends the CONNECT reply.
    pub(crate) fn on_connect(&self) -> Result<(), EmitError> {
        self.connected.store(true, Ordering::Release);
        self.ns
            .adapter()
            .add_all(&self.id, std::slice::from_ref(&self.id));
        /// `{"sid"}`, or `{"sid","pid"}` with recovery (in this order, as the reference).
        #[derive(Serialize)]
        struct Reply<'a> {
            sid: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            pid: Option<&'a str>,
        }
        let reply = Reply {
            sid: &self.id,
            pid: self.pid.as_deref(),
        };
        let encoded = self
            .conn
            .parser
            .encode_connect(self.ns.name(), Some(&reply))?;
        self.conn.send(&encoded, false)?;
        Ok(())
    }

    /// Leaves the namespace with `reason`: disconnecting listeners, rooms
    /// left, pending acks failed, disconnect listeners. Runs once.
    pub(crate) fn on_close(self: &Arc<Self>, reason: DisconnectReason) {
        if !self.connected.swap(false, Ordering::AcqRel) {
            return;
        }
        let listeners = self.listeners();
        for f in listeners.disconnect(true) {
            run(f(self.clone(), reason));
        }
        if let (Some(recovery), Some(pid)) = (&self.ns.recovery, &self.pid) {
            if reason.is_recoverable() {
                recovery.persist(self.id.clone(), pid.clone(), self.rooms(), self.data());
            }
        }
        self.ns.adapter().del_all(&self.id);
        self.ns.remove_socket(&self.id);
        self.conn.sockets_lock().shift_remove(self.ns.name());
        let acks: Vec<PendingAck> = lock(&self.acks).drain().map(|(_, a)| a).collect();
        for ack in acks {
            match ack {
                PendingAck::Single(tx) => {
                    let _ = tx.send(Err(AckError::Disconnected));
                }
                PendingAck::Broadcast(c) => c.fail_one(),
            }
        }
        for f in listeners.disconnect(false) {
            run(f(self.clone(), reason));
        }
        // Listeners hold closures that may hold this socket: break the cycle.
        *lock(&self.listeners) = listeners::EMPTY.clone();
    }

    /// An incoming packet for this socket (not CONNECT / CONNECT_ERROR).
    pub(crate) fn on_packet(self: &Arc<Self>, packet: Packet) {
        match packet.kind {
            PacketType::Event => self.on_event(packet),
            PacketType::Ack => {
                let Some(id) = packet.id else { return };
                let pending = lock(&self.acks).remove(&id);
                let data = packet.data.unwrap_or(Payload::Value(Value::Array(vec![])));
                match pending {
                    Some(PendingAck::Single(tx)) => {
                        let _ = tx.send(Ok(data));
                    }
                    Some(PendingAck::Broadcast(c)) => c.add(&data),
                    None => {
                        tracing::debug!(socket = %self.id, id, "ack with an unknown id, ignored")
                    }
                }
            }
            PacketType::Disconnect => self.on_close(DisconnectReason::ClientNamespaceDisconnect),
            PacketType::Connect | PacketType::ConnectError => {}
        }
    }

    fn on_event(self: &Arc<Self>, packet: Packet) {
        let Some(data) = packet.data else { return };
        let Ok((name, args)) = data.event_parts() else {
            return;
        };
        let event = Event(Arc::new(EventInner {
            socket: self.clone(),
            name,
            args,
            data,
            ack_id: packet.id,
            acked: AtomicBool::new(false),
        }));
        let listeners = self.listeners();
        for f in listeners.any() {
            f(&event);
        }
        for m in listeners.middlewares() {
            if let Err(err) = m(&event) {
                for f in self.listeners().errors() {
                    f(self, &err);
                }
                return;
            }
        }
        if !self.connected() {
            return;
        }
        let name = event.name();
        let mut once = false;
        for (f, is_once) in listeners.handlers(name) {
            once |= is_once;
            run_boxed(f(event.clone()));
        }
        if once {
            let ids: Vec<ListenerId> = (listeners.entries.iter())
                .filter(|x| matches!(x.handler_of(name), Some((_, true))))
                .map(|x| x.id)
                .collect();
            self.edit_listeners(|l| l.entries.retain(|x| !ids.contains(&x.id)));
        }
    }
}

/// Room names: one (`"a"`), several (`["a", "b"]`, a `Vec`).
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Str::from(self)]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Str::from(self)]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Str::from(self.as_str())]
    }
}

impl IntoRooms for Str {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for &Str {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.clone()]
    }
}

impl<T: IntoRooms> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

struct EventInner {
    socket: Arc<Socket>,
    name: Str,
    /// Read with the name, in the same pass over the text.
    args: Arguments,
    data: Payload,
    ack_id: Option<u64>,
    acked: AtomicBool,
}

/// An incoming event: its name, its arguments, and the means to answer it.
/// Cheap to clone.
///
/// ```
/// # fn demo(socket: std::sync::Arc<sio_server::Socket>) {
/// socket.on("update item", |ev| async move {
///     // typed arguments, or ev.values() for dynamic ones
///     let Ok((id, changes)) = ev.args::<(u32, serde_json::Value)>() else { return };
///     println!("{} {id} {changes}", ev.name());
///     if ev.wants_ack() {
///         ev.ack(&(serde_json::json!({ "status": "ok" }),)).ok();
///     }
/// });
/// # }
/// ```
#[derive(Clone)]
pub struct Event(Arc<EventInner>);

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.0.name)
            .field("ack_id", &self.0.ack_id)
            .finish_non_exhaustive()
    }
}

impl Event {
    /// The socket that sent it.
    pub fn socket(&self) -> &Arc<Socket> {
        &self.0.socket
    }

    /// The event name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The arguments, read as the sequence `T`: a tuple (`(String, u32)`), a
    /// `Vec<Value>`, or a struct read by position. Extra arguments are ignored.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.0.data.args(PacketType::Event)
    }

    /// The arguments as values (empty if they cannot be read).
    pub fn values(&self) -> Vec<Value> {
        self.args().unwrap_or_default()
    }

    /// The arguments as they arrived: emitting or acking them writes JSON
    /// arguments back byte for byte, without parsing them.
    ///
    /// ```
    /// # fn demo(socket: std::sync::Arc<sio_server::Socket>) {
    /// socket.on("echo", |ev| async move {
    ///     ev.ack(&ev.arguments()).ok();
    /// });
    /// # }
    /// ```
    pub fn arguments(&self) -> Arguments {
        self.0.args.clone()
    }

    /// The raw data: `[name, ...args]`.
    pub fn payload(&self) -> &Payload {
        &self.0.data
    }

    /// Whether the client asked for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.0.ack_id.is_some()
    }

    /// Acknowledges the event with `args` (an argument list, as for emit).
    /// Only the first call sends anything; without an ack request it does
    /// nothing.
    pub fn ack<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        let Some(id) = self.0.ack_id else {
            return Ok(());
        };
        if self.0.acked.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let socket = &self.0.socket;
        let encoded = socket.conn.parser.encode_ack(socket.ns.name(), id, args)?;
        socket.conn.send_owned(encoded)?;
        Ok(())
    }
}
