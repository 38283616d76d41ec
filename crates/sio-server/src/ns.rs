//! [`Namespace`]: a channel of sockets with its own handlers, middlewares,
//! rooms (its adapter) and ack id counter.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sio_proto::{Str, Value};

use crate::adapter::{Adapter, BroadcastOptions, InMemoryAdapter, Sid};
use crate::cluster::{AdapterError, AdapterFactory, LocalNode, ServerEvent, ServerEvents};
use crate::engine::sid_hash::SidHash;
use crate::operators::Operator;
use crate::recovery::{Recovery, RecoveryConfig};
use crate::remote::RemoteSocket;
use crate::socket::{run, AckError, BoxFuture, EmitError, IntoRooms, Socket};

type ConnectFn = Arc<dyn Fn(Arc<Socket>) -> BoxFuture + Send + Sync>;
type MiddlewareFuture = Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>;
type ConnectMiddlewareFn = Arc<dyn Fn(Arc<Socket>) -> MiddlewareFuture + Send + Sync>;

/// A refusal from a connection middleware: the client gets a
/// `connect_error` with this message and data.
///
/// ```
/// use sio_server::ConnectError;
/// let err = ConnectError::new("forbidden").with_data(serde_json::json!({"reason": "bad token"}));
/// assert_eq!(err.message, "forbidden");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The message (`err.message` on the client).
    pub message: String,
    /// Optional details (`err.data` on the client).
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// The same refusal with `data` (anything serializable).
    pub fn with_data<T: Serialize>(mut self, data: T) -> Self {
        self.data = sio_proto::to_value(&data).ok();
        self
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

/// A namespace: a channel of its own over the shared connections, with its
/// middlewares, handlers, sockets and rooms (`io.of(name)`).
///
/// ```
/// use sio_server::{ConnectError, SocketIo};
/// let io = SocketIo::new(Default::default());
/// let admin = io.of("/admin");
/// admin.use_middleware(|socket| async move {
///     match socket.handshake().auth["token"].as_str() {
///         Some("secret") => Ok(()),
///         _ => Err(ConnectError::new("not an admin")),
///     }
/// });
/// admin.on_connection(|socket| async move {
///     socket.emit("welcome", &("admin",)).ok();
/// });
/// // every socket of /admin
/// admin.emit("notice", &("maintenance at noon",)).ok();
/// assert_eq!(admin.name(), "/admin");
/// ```
pub struct Namespace {
    name: Str,
    adapter: Arc<dyn Adapter>,
    sockets: RwLock<HashMap<Sid, Arc<Socket>, SidHash>>,
    ack_ids: AtomicU64,
    middlewares: RwLock<Vec<ConnectMiddlewareFn>>,
    handlers: RwLock<Vec<ConnectFn>>,
    /// Called when the last socket leaves (set on dynamic children when the
    /// server cleans up empty ones).
    on_empty: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// Connection state recovery, when enabled.
    pub(crate) recovery: Option<Arc<Recovery>>,
    /// The packet format of the server.
    pub(crate) parser: sio_proto::Parser,
    /// Listeners of events from other nodes (`server_side_emit`).
    server_events: ServerEvents,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl Namespace {
    /// A namespace whose adapter comes from `factory` (in memory without).
    pub(crate) fn new(
        name: Str,
        recovery: Option<RecoveryConfig>,
        parser: sio_proto::Parser,
        factory: Option<&AdapterFactory>,
    ) -> Arc<Namespace> {
        Arc::new_cyclic(|weak| Namespace {
            parser,
            recovery: recovery.map(|c| Arc::new(Recovery::new(c))),
            adapter: match factory {
                Some(f) => f.create(LocalNode::new(weak.clone(), name.clone())),
                None => Arc::new(InMemoryAdapter::default()),
            },
            name,
            sockets: RwLock::new(HashMap::default()),
            ack_ids: AtomicU64::new(0),
            middlewares: RwLock::new(Vec::new()),
            handlers: RwLock::new(Vec::new()),
            on_empty: std::sync::OnceLock::new(),
            server_events: ServerEvents::default(),
        })
    }

    pub(crate) fn set_on_empty(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_empty.set(Box::new(f));
    }

    /// A namespace named `name` with this one's middlewares and handlers (a
    /// child of a dynamic namespace).
    pub(crate) fn child(&self, name: Str, factory: &AdapterFactory) -> Arc<Namespace> {
        let child = Namespace::new(
            name,
            self.recovery.as_ref().map(|r| r.config.clone()),
            self.parser,
            Some(factory),
        );
        *write(&child.middlewares) = read(&self.middlewares).clone();
        *write(&child.handlers) = read(&self.handlers).clone();
        child
    }

    /// The name (`/`, `/admin`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The adapter (room membership).
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
    }

    /// Adds a connection handler, run for every socket that joins.
    ///
    /// ```
    /// let io = sio_server::SocketIo::new(Default::default());
    /// io.of("/").on_connection(|socket| async move {
    ///     socket.emit("hello", &("world",)).ok();
    /// });
    /// ```
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        write(&self.handlers).push(Arc::new(move |s| Box::pin(handler(s))));
    }

    /// Adds a connection middleware: runs before a socket joins, in
    /// registration order; an error refuses the connection with a
    /// `connect_error`.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        write(&self.middlewares).push(Arc::new(move |s| Box::pin(middleware(s))));
    }

    /// The connected sockets.
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        read(&self.sockets).values().cloned().collect()
    }

    /// The connected socket with id `id`.
    pub fn get_socket(&self, id: &str) -> Option<Arc<Socket>> {
        read(&self.sockets).get(id).cloned()
    }

    pub(crate) fn remove_socket(&self, id: &str) {
        let now_empty = {
            let mut sockets = write(&self.sockets);
            sockets.remove(id).is_some() && sockets.is_empty()
        };
        if now_empty {
            if let Some(f) = self.on_empty.get() {
                f();
            }
        }
    }

    /// Encodes an event for sending. With connection state recovery, an
    /// event that is not volatile and asks for no ack gets an offset as its
    /// last argument and is kept for replay to the sockets `opts` targets.
    pub(crate) fn encode_event<T: serde::Serialize + ?Sized>(
        &self,
        parser: sio_proto::Parser,
        event: &str,
        args: &T,
        id: Option<u64>,
        volatile: bool,
        opts: impl FnOnce() -> BroadcastOptions,
    ) -> Result<sio_proto::Encoded, EmitError> {
        match &self.recovery {
            Some(recovery) if id.is_none() && !volatile => {
                let mut list = match sio_proto::to_value(args) {
                    Ok(Value::Array(a)) => a,
                    Ok(Value::Null) => Vec::new(),
                    Ok(one) => vec![one],
                    Err(e) => return Err(EmitError::Encode(sio_proto::EncodeError(e.to_string()))),
                };
                let offset = recovery.next_offset();
                list.push(Value::String(offset.to_string()));
                let encoded = parser.encode_event(&self.name, event, &list, None)?;
                recovery.store(offset, opts(), encoded.clone());
                Ok(encoded)
            }
            _ => Ok(parser.encode_event(&self.name, event, args, id)?),
        }
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs the middlewares, then connects the socket (or refuses it).
    pub(crate) fn add(self: &Arc<Self>, socket: Arc<Socket>) {
        let middlewares = read(&self.middlewares).clone();
        let ns = self.clone();
        run(async move {
            // A cluster adapter listens to the other nodes before the first
            // socket is confirmed (immediate once it does).
            if let Some(cluster) = ns.adapter.cluster() {
                if let Err(e) = cluster.ready().await {
                    tracing::warn!(ns = %ns.name, "adapter not ready: {e}");
                }
            }
            for m in middlewares {
                if let Err(err) = m(socket.clone()).await {
                    // A restored socket already had its rooms back.
                    ns.adapter.del_all(socket.id());
                    if socket.conn.engine.is_open() {
                        let sent = socket.conn.parser.encode_connect_error(
                            &ns.name,
                            &err.message,
                            err.data.as_ref(),
                        );
                        if let Ok(encoded) = sent {
                            let _ = socket.conn.send(&encoded, false);
                        }
                    }
                    return;
                }
            }
            if socket.conn.engine.is_open() {
                ns.do_connect(socket);
            }
        });
    }

    pub(crate) fn do_connect(self: &Arc<Self>, socket: Arc<Socket>) {
        // Registered before the CONNECT reply leaves, so that the client's
        // first packets find the socket.
        write(&self.sockets).insert(socket.id().clone(), socket.clone());
        socket
            .conn
            .sockets_lock()
            .insert(self.name.clone(), socket.clone());
        // The connect timeout no longer applies.
        (socket.conn.settled).store(true, std::sync::atomic::Ordering::Release);
        if socket.on_connect().is_err() {
            return;
        }
        let handlers = read(&self.handlers).clone();
        for h in handlers {
            run(h(socket.clone()));
        }
        // The handlers have registered their listeners (before any await).
        socket.shrink_listeners();
    }

    // ---- broadcasting (every socket of the namespace) ----------------

    /// An operator targeting every socket of the namespace.
    pub fn op(self: &Arc<Self>) -> Operator {
        Operator::namespace(self.clone())
    }

    /// Emits to every socket of the namespace.
    pub fn emit<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.op().emit(event, args)
    }

    /// Emits to every socket and collects one answer per socket (see
    /// [`Operator::emit_with_ack`]).
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        self: &Arc<Self>,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        self.op().emit_with_ack(event, args)
    }

    /// Targets the sockets in `rooms`.
    pub fn to(self: &Arc<Self>, rooms: impl IntoRooms) -> Operator {
        self.op().to(rooms)
    }

    /// Same as [`to`](Namespace::to).
    pub fn within(self: &Arc<Self>, rooms: impl IntoRooms) -> Operator {
        self.op().to(rooms)
    }

    /// Targets every socket except those in `rooms`.
    pub fn except(self: &Arc<Self>, rooms: impl IntoRooms) -> Operator {
        self.op().except(rooms)
    }

    /// Drops the emit for sockets whose transport is not ready.
    pub fn volatile(self: &Arc<Self>) -> Operator {
        self.op().volatile()
    }

    /// Only this node.
    pub fn local(self: &Arc<Self>) -> Operator {
        self.op().local()
    }

    /// A timeout for the acknowledgements of the next emit.
    pub fn timeout(self: &Arc<Self>, timeout: Duration) -> Operator {
        self.op().timeout(timeout)
    }

    /// The compress flag of the next emit.
    pub fn compress(self: &Arc<Self>, compress: bool) -> Operator {
        self.op().compress(compress)
    }

    /// The sockets of the namespace on every node (see [`Operator::fetch_sockets`]).
    pub fn fetch_sockets(
        self: &Arc<Self>,
    ) -> impl Future<Output = Result<Vec<RemoteSocket>, AdapterError>> + Send + 'static {
        self.op().fetch_sockets()
    }

    /// The sockets of the namespace on this node.
    pub fn local_sockets(self: &Arc<Self>) -> Vec<Arc<Socket>> {
        self.op().local_sockets()
    }

    /// Resolves once the adapter is ready (a cluster adapter subscribed to
    /// the other nodes); at once for the in-memory adapter.
    pub async fn ready(&self) -> Result<(), AdapterError> {
        match self.adapter.cluster() {
            Some(cluster) => cluster.ready().await,
            None => Ok(()),
        }
    }

    /// Listens to `event` sent by other nodes with
    /// [`server_side_emit`](Namespace::server_side_emit) (the reference's
    /// `io.on("event", ...)`).
    ///
    /// ```ignore
    /// io.of("/").on_server_event("ping", |ev| async move {
    ///     ev.ack(&"pong").ok(); // if the sender waits for answers
    /// });
    /// ```
    pub fn on_server_event<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(ServerEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.server_events
            .add(event, Arc::new(move |ev| Box::pin(handler(ev))));
    }

    pub(crate) fn server_events(&self) -> &ServerEvents {
        &self.server_events
    }

    /// Sends `event` with `args` to the server-side listeners of the OTHER
    /// nodes (nothing without a cluster adapter).
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let data = crate::cluster::event_data(event, args)?;
        if let Some(cluster) = self.adapter.cluster() {
            cluster.server_side_emit(&data);
        }
        Ok(())
    }

    /// Like [`server_side_emit`](Namespace::server_side_emit), and collects
    /// one answer per other node; fails if they do not all answer within the
    /// adapter's request timeout.
    pub fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<Vec<Value>, AckError>> + Send + 'static {
        let request = crate::cluster::event_data(event, args).map(|data| {
            self.adapter
                .cluster()
                .map(|c| c.server_side_emit_with_ack(&data))
        });
        async move {
            match request? {
                Some(answers) => Ok(answers.await?),
                None => Ok(Vec::new()),
            }
        }
    }

    /// The number of server nodes (1 without a cluster adapter).
    pub fn server_count(
        &self,
    ) -> impl Future<Output = Result<usize, AdapterError>> + Send + 'static {
        let count = self.adapter.cluster().map(|c| c.server_count());
        async move {
            match count {
                Some(count) => count.await,
                None => Ok(1),
            }
        }
    }

    /// Makes every socket join `rooms`.
    pub fn sockets_join(self: &Arc<Self>, rooms: impl IntoRooms) {
        self.op().sockets_join(rooms)
    }

    /// Makes every socket leave `rooms`.
    pub fn sockets_leave(self: &Arc<Self>, rooms: impl IntoRooms) {
        self.op().sockets_leave(rooms)
    }

    /// Disconnects every socket.
    pub fn disconnect_sockets(self: &Arc<Self>, close: bool) {
        self.op().disconnect_sockets(close)
    }
}
