//! The cluster layer: what a namespace does across several server nodes.
//!
//! Room membership stays local and synchronous (the [`Adapter`] trait):
//! each node only knows its own sockets. A cluster adapter (Redis) adds a
//! [`Cluster`] beside it, returned by [`Adapter::cluster`]: the server calls
//! it after doing the local part of a broadcast, a `sockets_join`, a
//! `disconnect_sockets`..., and awaits it for what needs answers from the
//! other nodes (`fetch_sockets`, broadcast acks, `server_side_emit` acks,
//! `server_count`). Every such request is bounded by a timeout: a node that
//! is gone, or a Redis that is down, gives an [`AdapterError`], never a
//! future that hangs.
//!
//! In the other direction, the adapter acts on this node for requests that
//! come from the others through a [`LocalNode`], the handle it is given when
//! the namespace creates it (see [`AdapterFactory`]).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sio_proto::{Str, Value};

use crate::adapter::{Adapter, BroadcastOptions, InMemoryAdapter, Room, Sid};
use crate::ns::Namespace;
use crate::operators::{AckCollector, Operator};
use crate::socket::{AckError, EmitError};

/// A boxed, sendable future (what the [`Cluster`] methods return).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Why a request across the cluster failed.
///
/// ```
/// use sio_server::cluster::AdapterError;
/// let e = AdapterError::Timeout("fetchSockets".into());
/// assert_eq!(e.to_string(), "timeout reached while waiting for fetchSockets response");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// Not every node answered in time (the reference's message).
    #[error("timeout reached while waiting for {0} response")]
    Timeout(String),
    /// The cluster backend (Redis) cannot be reached.
    #[error("adapter unavailable: {0}")]
    Unavailable(String),
    /// A message could not be encoded or decoded.
    #[error("adapter codec error: {0}")]
    Codec(String),
}

/// The flags of a broadcast, as they travel between nodes.
///
/// ```
/// use sio_server::cluster::BroadcastFlags;
/// let flags = BroadcastFlags { volatile: true, ..Default::default() };
/// assert!(!flags.local);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Dropped for clients whose transport is not ready.
    pub volatile: bool,
    /// The compress flag, when set explicitly.
    pub compress: Option<bool>,
    /// This node only (never sent to other nodes).
    pub local: bool,
    /// The acknowledgement timeout of a broadcast with acks.
    pub timeout: Option<Duration>,
}

/// What `fetch_sockets` learns about a socket of another node (the
/// reference's `{id, handshake, rooms, data}`).
///
/// ```
/// use sio_server::cluster::SocketInfo;
/// let info = SocketInfo { id: "abc".into(), handshake: Default::default(), rooms: vec!["abc".into()], data: Default::default() };
/// assert_eq!(info.rooms[0], "abc");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SocketInfo {
    /// The socket id.
    pub id: Sid,
    /// Its handshake, as the reference serializes it (see [`Handshake::to_value`](crate::Handshake::to_value)).
    pub handshake: Value,
    /// Its rooms, its own id included.
    pub rooms: Vec<Room>,
    /// Its `data`.
    pub data: Value,
}

/// The cross-node part of an adapter. Implemented by cluster adapters
/// (`sio_redis::RedisAdapter`); the in-memory adapter has none.
///
/// Methods that only publish return at once; methods that wait for other
/// nodes return a `'static` future bounded by [`request_timeout`](Cluster::request_timeout).
pub trait Cluster: Send + Sync + 'static {
    /// Resolves once the adapter listens to the other nodes (subscribed),
    /// or with an error if it could not within its timeout.
    fn ready(&self) -> BoxFuture<Result<(), AdapterError>>;

    /// How long requests to other nodes wait for answers.
    fn request_timeout(&self) -> Duration;

    /// Sends a broadcast (already delivered locally) to the other nodes.
    /// `data` is `[event, ...args]`.
    fn broadcast(&self, data: &[Value], opts: &BroadcastOptions, flags: &BroadcastFlags);

    /// Sends a broadcast with acks (already delivered locally) to the other
    /// nodes; each node reports its number of targets and then their acks
    /// to `sink`.
    fn broadcast_with_ack(
        &self,
        data: &[Value],
        opts: &BroadcastOptions,
        flags: &BroadcastFlags,
        sink: AckSink,
    );

    /// The number of nodes in the cluster, this one included.
    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>>;

    /// The sockets of the OTHER nodes that `opts` targets.
    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>>;

    /// Makes the targets on the other nodes join `rooms`.
    fn sockets_join(&self, opts: &BroadcastOptions, rooms: &[Room]);

    /// Makes the targets on the other nodes leave `rooms`.
    fn sockets_leave(&self, opts: &BroadcastOptions, rooms: &[Room]);

    /// Disconnects the targets on the other nodes.
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);

    /// Sends `[event, ...args]` to the server-side listeners of the other nodes.
    fn server_side_emit(&self, data: &[Value]);

    /// Same, and collects one answer per other node.
    fn server_side_emit_with_ack(
        &self,
        data: &[Value],
    ) -> BoxFuture<Result<Vec<Value>, AdapterError>>;

    /// Stops listening (the namespace is gone, or the server closes:
    /// [`SocketIo::close`](crate::SocketIo::close)).
    fn close(&self) {}
}

/// An adapter for a cluster: the rooms of this node in memory, plus a
/// [`Cluster`] for the other nodes. What a cluster adapter's factory
/// usually returns.
///
/// ```ignore
/// AdapterFactory::new(|node| Arc::new(ClusterAdapter::new(MyCluster::new(node))))
/// ```
#[derive(Default)]
pub struct ClusterAdapter<C> {
    rooms: InMemoryAdapter,
    cluster: C,
}

impl<C: fmt::Debug> fmt::Debug for ClusterAdapter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterAdapter")
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl<C: Cluster> ClusterAdapter<C> {
    /// Local rooms in memory, and `cluster`.
    pub fn new(cluster: C) -> Self {
        ClusterAdapter {
            rooms: InMemoryAdapter::default(),
            cluster,
        }
    }

    /// The cluster part.
    pub fn inner(&self) -> &C {
        &self.cluster
    }
}

impl<C: Cluster> Adapter for ClusterAdapter<C> {
    fn add_all(&self, sid: &Sid, rooms: &[Room]) {
        self.rooms.add_all(sid, rooms)
    }

    fn del(&self, sid: &Sid, room: &str) {
        self.rooms.del(sid, room)
    }

    fn del_all(&self, sid: &Sid) {
        self.rooms.del_all(sid)
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.rooms.socket_rooms(sid)
    }

    fn apply(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        self.rooms.apply(opts)
    }

    fn rooms(&self) -> Vec<Room> {
        self.rooms.rooms()
    }

    fn cluster(&self) -> Option<&dyn Cluster> {
        Some(&self.cluster)
    }
}

/// Where the acknowledgements of a broadcast arrive from other nodes.
#[derive(Clone)]
pub struct AckSink(pub(crate) Arc<AckCollector>);

impl fmt::Debug for AckSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AckSink")
    }
}

impl AckSink {
    /// One more node reported: it sent the broadcast to `clients` clients.
    pub fn client_count(&self, clients: usize) {
        self.0.add_server(clients);
    }

    /// One client's acknowledgement (its first argument).
    pub fn ack(&self, value: Value) {
        self.0.add_value(value);
    }

    /// The whole broadcast failed.
    pub fn fail(&self, err: AdapterError) {
        self.0.fail(AckError::Adapter(err));
    }
}

/// Creates each namespace's adapter. The default makes in-memory adapters
/// (one node); `sio_redis::RedisAdapter::factory` makes Redis ones.
///
/// ```
/// use std::sync::Arc;
/// use sio_server::cluster::AdapterFactory;
/// use sio_server::adapter::InMemoryAdapter;
/// let factory = AdapterFactory::new(|_node| Arc::new(InMemoryAdapter::default()));
/// let config = sio_server::SocketIoConfig { adapter: factory, ..Default::default() };
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct AdapterFactory(Arc<dyn Fn(LocalNode) -> Arc<dyn Adapter> + Send + Sync>);

impl AdapterFactory {
    /// A factory calling `f` for each namespace.
    pub fn new(f: impl Fn(LocalNode) -> Arc<dyn Adapter> + Send + Sync + 'static) -> Self {
        AdapterFactory(Arc::new(f))
    }

    pub(crate) fn create(&self, node: LocalNode) -> Arc<dyn Adapter> {
        (self.0)(node)
    }
}

impl Default for AdapterFactory {
    fn default() -> Self {
        AdapterFactory::new(|_| Arc::new(InMemoryAdapter::default()))
    }
}

impl fmt::Debug for AdapterFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdapterFactory")
    }
}

/// `args` (an argument list, as for emit) as a `Vec` of values.
pub(crate) fn arg_list<T: Serialize + ?Sized>(args: &T) -> Result<Vec<Value>, EmitError> {
    match sio_proto::to_value(args) {
        Ok(Value::Array(a)) => Ok(a),
        Ok(Value::Null) => Ok(Vec::new()),
        Ok(one) => Ok(vec![one]),
        Err(e) => Err(EmitError::Encode(sio_proto::EncodeError(e.to_string()))),
    }
}

/// `[event, ...args]`.
pub(crate) fn event_data<T: Serialize + ?Sized>(
    event: &str,
    args: &T,
) -> Result<Vec<Value>, EmitError> {
    let mut data = vec![Value::String(event.to_owned())];
    data.extend(arg_list(args)?);
    Ok(data)
}

/// The adapter's handle on its namespace, to act on this node for requests
/// from other nodes. Holds the namespace weakly (the namespace owns the
/// adapter).
#[derive(Clone)]
pub struct LocalNode {
    ns: Weak<Namespace>,
    name: Str,
}

impl fmt::Debug for LocalNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalNode").field("ns", &self.name).finish()
    }
}

impl LocalNode {
    pub(crate) fn new(ns: Weak<Namespace>, name: Str) -> LocalNode {
        LocalNode { ns, name }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn op(&self, opts: &BroadcastOptions) -> Option<Operator> {
        let ns = self.ns.upgrade()?;
        Some(
            ns.op()
                .local()
                .to(opts.rooms.clone())
                .except(opts.except.clone()),
        )
    }

    /// Delivers a broadcast from another node to the local targets.
    /// `data` is `[event, ...args]`.
    pub fn broadcast(&self, data: &[Value], opts: &BroadcastOptions, flags: &BroadcastFlags) {
        let Some((event, args)) = split_event(data) else {
            tracing::debug!(ns = %self.name, "remote broadcast without an event name, ignored");
            return;
        };
        let Some(mut op) = self.op(opts) else { return };
        if flags.volatile {
            op = op.volatile();
        }
        if let Err(e) = op.emit(event, args) {
            tracing::debug!(ns = %self.name, "remote broadcast not delivered: {e}");
        }
    }

    /// Delivers a broadcast with acks from another node; returns the number
    /// of local targets, and calls `on_ack` with each one's first argument.
    pub fn broadcast_with_ack(
        &self,
        data: &[Value],
        opts: &BroadcastOptions,
        flags: &BroadcastFlags,
        on_ack: impl Fn(Value) + Send + Sync + 'static,
    ) -> usize {
        let Some((event, args)) = split_event(data) else {
            return 0;
        };
        let Some(mut op) = self.op(opts) else {
            return 0;
        };
        if flags.volatile {
            op = op.volatile();
        }
        op.emit_forwarding_acks(event, args, Arc::new(on_ack))
    }

    /// The ids of the local sockets in any of `rooms` (all when empty).
    pub fn sockets(&self, rooms: &[Room]) -> Vec<Sid> {
        let Some(ns) = self.ns.upgrade() else {
            return Vec::new();
        };
        let opts = BroadcastOptions {
            rooms: rooms.to_vec(),
            except: Vec::new(),
        };
        ns.adapter().apply(&opts)
    }

    /// The local rooms.
    pub fn rooms(&self) -> Vec<Room> {
        self.ns
            .upgrade()
            .map(|ns| ns.adapter().rooms())
            .unwrap_or_default()
    }

    /// The local sockets that `opts` targets, described for another node.
    pub fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        let Some(op) = self.op(opts) else {
            return Vec::new();
        };
        op.local_sockets()
            .iter()
            .map(|s| SocketInfo {
                id: s.id().clone(),
                handshake: s.handshake().to_value(),
                rooms: s.rooms(),
                data: s.data(),
            })
            .collect()
    }

    /// Makes the local targets join `rooms`.
    pub fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        if let Some(op) = self.op(opts) {
            op.sockets_join(rooms.to_vec());
        }
    }

    /// Makes the local targets leave `rooms`.
    pub fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        if let Some(op) = self.op(opts) {
            op.sockets_leave(rooms.to_vec());
        }
    }

    /// Disconnects the local targets.
    pub fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        if let Some(op) = self.op(opts) {
            op.disconnect_sockets(close);
        }
    }

    /// Runs the server-side listeners of `data[0]` with the other elements
    /// as arguments; `ack` (when the sender wants one answer from this node)
    /// is called at most once.
    pub fn server_side_emit(&self, data: &[Value], ack: Option<ServerAck>) {
        let Some(ns) = self.ns.upgrade() else { return };
        let Some((event, args)) = split_event(data) else {
            return;
        };
        ns.server_events().dispatch(event, args.to_vec(), ack);
    }
}

fn split_event(data: &[Value]) -> Option<(&str, &[Value])> {
    let (first, args) = data.split_first()?;
    Some((first.as_str()?, args))
}

/// The answer callback of a server-side event (one value, called once).
pub type ServerAck = Box<dyn FnOnce(Value) + Send>;

type ServerEventFn = Arc<dyn Fn(ServerEvent) -> crate::socket::BoxFuture + Send + Sync>;

/// The listeners of server-side events of one namespace.
#[derive(Default)]
pub(crate) struct ServerEvents {
    handlers: RwLock<HashMap<String, Vec<ServerEventFn>>>,
}

impl ServerEvents {
    pub(crate) fn add(&self, event: &str, f: ServerEventFn) {
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event.to_owned())
            .or_default()
            .push(f);
    }

    fn dispatch(&self, event: &str, args: Vec<Value>, ack: Option<ServerAck>) {
        let handlers = self
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(event)
            .cloned()
            .unwrap_or_default();
        let ev = ServerEvent(Arc::new(ServerEventInner {
            name: event.to_owned(),
            args,
            ack: Mutex::new(ack),
        }));
        for h in handlers {
            crate::socket::run(h(ev.clone()));
        }
    }
}

struct ServerEventInner {
    name: String,
    args: Vec<Value>,
    ack: Mutex<Option<ServerAck>>,
}

/// An event another node sent with `server_side_emit` (see
/// [`Namespace::on_server_event`]). Cheap to clone.
#[derive(Clone)]
pub struct ServerEvent(Arc<ServerEventInner>);

impl fmt::Debug for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerEvent")
            .field("name", &self.0.name)
            .field("args", &self.0.args)
            .finish_non_exhaustive()
    }
}

impl ServerEvent {
    /// The event name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The arguments as values.
    pub fn values(&self) -> &[Value] {
        &self.0.args
    }

    /// The arguments read as the sequence `T` (a tuple, a `Vec`, ...).
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, sio_proto::value::DeserializeError> {
        sio_proto::from_value(Value::Array(self.0.args.clone()))
    }

    /// Whether the sender waits for an answer.
    pub fn wants_ack(&self) -> bool {
        self.0
            .ack
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Answers the sender with one value (only the first call counts).
    pub fn ack<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), EmitError> {
        let value = sio_proto::to_value(value)
            .map_err(|e| EmitError::Encode(sio_proto::EncodeError(e.to_string())))?;
        let ack = self.0.ack.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(ack) = ack {
            ack(value);
        }
        Ok(())
    }
}
