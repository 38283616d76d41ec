//! [`Operator`]: who an emit goes to, and how.
//!
//! One type for every target: one socket (`socket.volatile()`,
//! `socket.timeout(..)`), a socket's peers (`socket.to(room)`,
//! `socket.broadcast()`), or a namespace (`io.to(room)`, `nsp.except(..)`).
//! Modifiers consume and return the operator; `emit` ends it. A broadcast
//! encodes its packet once and hands the same frames to every target.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sio_proto::packet::is_reserved_event;
use sio_proto::{Payload, Value};
use tokio::sync::oneshot;

use crate::adapter::{BroadcastOptions, Room};
use crate::cluster::{AckSink, AdapterError, BroadcastFlags, Cluster};
use crate::ns::Namespace;
use crate::remote::RemoteSocket;
use crate::socket::{AckError, EmitError, IntoRooms, PendingAck, Socket};

/// Who an emit goes to, and with which flags: one type for a socket's
/// emits and for broadcasts (`socket.to(..)`, `io.except(..)`,
/// `socket.broadcast()`, `volatile()`, `timeout(..)`...), each call adding
/// to the selection, [`emit`](Operator::emit) (or an ack variant) ending it.
///
/// ```
/// # fn demo(io: sio_server::SocketIo, socket: std::sync::Arc<sio_server::Socket>) {
/// // everyone in "room1" or "room2" but the sender, once each
/// socket.to("room1").to("room2").emit("hello", &()).ok();
/// // everyone but the room "muted", if their transport is ready
/// io.except("muted").volatile().emit("tick", &(42,)).ok();
/// # }
/// ```
#[derive(Clone)]
pub struct Operator {
    ns: Arc<Namespace>,
    /// The socket this operator came from (the target when not broadcasting,
    /// excluded from the targets when broadcasting).
    socket: Option<Arc<Socket>>,
    broadcast: bool,
    rooms: Vec<Room>,
    except: Vec<Room>,
    volatile: bool,
    local: bool,
    compress: bool,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("ns", &self.ns.name())
            .field("broadcast", &self.broadcast)
            .field("rooms", &self.rooms)
            .field("except", &self.except)
            .finish_non_exhaustive()
    }
}

impl Operator {
    pub(crate) fn socket(socket: Arc<Socket>) -> Operator {
        Operator {
            ns: socket.ns().clone(),
            socket: Some(socket),
            broadcast: false,
            rooms: Vec::new(),
            except: Vec::new(),
            volatile: false,
            local: false,
            compress: true,
            timeout: None,
        }
    }

    pub(crate) fn namespace(ns: Arc<Namespace>) -> Operator {
        Operator {
            ns,
            socket: None,
            broadcast: true,
            rooms: Vec::new(),
            except: Vec::new(),
            volatile: false,
            local: false,
            compress: true,
            timeout: None,
        }
    }

    /// Targets the sockets in `rooms` (added to earlier ones; each socket
    /// gets the event once).
    pub fn to(mut self, rooms: impl IntoRooms) -> Operator {
        self.broadcast = true;
        self.rooms.extend(rooms.into_rooms());
        self
    }

    /// Same as [`to`](Operator::to) (`in` is a Rust keyword).
    pub fn within(self, rooms: impl IntoRooms) -> Operator {
        self.to(rooms)
    }

    /// Excludes the sockets in `rooms`.
    pub fn except(mut self, rooms: impl IntoRooms) -> Operator {
        self.broadcast = true;
        self.except.extend(rooms.into_rooms());
        self
    }

    /// Targets every socket of the namespace (but the originating socket).
    pub fn broadcast(mut self) -> Operator {
        self.broadcast = true;
        self
    }

    /// Drops the event for targets whose transport is not ready for it.
    pub fn volatile(mut self) -> Operator {
        self.volatile = true;
        self
    }

    /// Only the sockets of this node (relevant with a cluster adapter).
    pub fn local(mut self) -> Operator {
        self.local = true;
        self
    }

    /// The compress flag (kept for API parity).
    pub fn compress(mut self, compress: bool) -> Operator {
        self.compress = compress;
        self
    }

    /// How long to wait for acknowledgements.
    pub fn timeout(mut self, timeout: Duration) -> Operator {
        self.timeout = Some(timeout);
        self
    }

    fn options(&self) -> BroadcastOptions {
        let mut except = self.except.clone();
        if let Some(s) = &self.socket {
            except.push(s.id().clone());
        }
        BroadcastOptions {
            rooms: self.rooms.clone(),
            except,
        }
    }

    fn flags(&self) -> BroadcastFlags {
        BroadcastFlags {
            volatile: self.volatile,
            compress: (!self.compress).then_some(false),
            local: self.local,
            timeout: self.timeout,
        }
    }

    /// The other nodes, when this operator reaches them (a broadcast, not
    /// `local`, with a cluster adapter).
    fn remote(&self) -> Option<&dyn Cluster> {
        if self.local || (self.socket.is_some() && !self.broadcast) {
            return None;
        }
        self.ns.adapter().cluster()
    }

    fn targets(&self) -> Vec<Arc<Socket>> {
        self.ns
            .adapter()
            .apply(&self.options())
            .iter()
            .filter_map(|sid| self.ns.get_socket(sid))
            .collect()
    }

    /// Sends `event` with `args` (an argument list: a tuple, a `Vec`, `()`;
    /// any other value is one argument) to the targets.
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, args: &T) -> Result<(), EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent(event.to_owned()));
        }
        match (&self.socket, self.broadcast) {
            (Some(socket), false) => socket.write_event(event, args, None, self.volatile),
            _ => {
                // Encoded (and, with recovery, stored) even without targets
                // now: a socket that is away may come back for it.
                let encoded = self.ns.encode_event(
                    self.ns.parser,
                    event,
                    args,
                    None,
                    self.volatile,
                    || self.options(),
                )?;
                let targets = self.targets();
                let mut value = None;
                for target in &targets {
                    target.notify_outgoing(event, || {
                        value
                            .get_or_insert_with(|| sio_proto::to_value(args).ok())
                            .clone()
                    });
                    if let Err(e) = target.write_encoded(&encoded, self.volatile) {
                        tracing::debug!(socket = %target.id(), "broadcast not delivered: {e}");
                    }
                }
                if let Some(cluster) = self.remote() {
                    let data = crate::cluster::event_data(event, args)?;
                    cluster.broadcast(&data, &self.options(), &self.flags());
                }
                Ok(())
            }
        }
    }

    /// Sends `event` and waits for acknowledgements, at most
    /// [`timeout`](Operator::timeout) if set (otherwise until the targets
    /// answer or disconnect).
    ///
    /// - One socket: resolves with its acknowledgement's arguments, read as
    ///   the sequence `R` (a tuple, `Vec<Value>`, ...).
    /// - A broadcast: resolves with the first argument of each target's
    ///   acknowledgement, read as the sequence `R` (`Vec<T>`); fails as a
    ///   whole if any target does not answer in time.
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        let started = self.start_ack(event, args);
        // Across nodes, never wait forever for answers that may not come.
        let timeout = self
            .timeout
            .or_else(|| self.remote().map(|c| c.request_timeout()));
        async move {
            let (rx, cleanup) = started?;
            let outcome = match timeout {
                Some(t) => tokio::time::timeout(t, rx)
                    .await
                    .map_err(|_| AckError::Timeout),
                None => Ok(rx.await),
            };
            let payload = match outcome {
                Ok(Ok(result)) => result?,
                Ok(Err(_)) => return Err(AckError::Disconnected),
                Err(e) => {
                    cleanup.run();
                    return Err(e);
                }
            };
            Ok(payload.args(sio_proto::PacketType::Ack)?)
        }
    }

    /// Like [`emit_with_ack`](Operator::emit_with_ack), with a callback
    /// instead of a future (the reference's `emit(ev, ...args, cb)`): the
    /// event is sent now; `callback` runs once with the outcome.
    ///
    /// ```
    /// # use std::{sync::Arc, time::Duration};
    /// # use sio_server::{AckError, Socket};
    /// # fn demo(socket: Arc<Socket>) {
    /// socket.timeout(Duration::from_secs(5)).emit_with_callback(
    ///     "request",
    ///     &(1,),
    ///     |res: Result<(String,), AckError>| match res {
    ///         Ok((status,)) => println!("{status}"),
    ///         Err(e) => eprintln!("{e}"),
    ///     },
    /// );
    /// # }
    /// ```
    pub fn emit_with_callback<T, R, F>(self, event: &str, args: &T, callback: F)
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
        F: FnOnce(Result<R, AckError>) + Send + 'static,
    {
        let outcome = self.emit_with_ack::<T, R>(event, args);
        crate::socket::run(async move { callback(outcome.await) });
    }

    /// Sends the event with an ack id and registers the waiting ack(s).
    fn start_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(oneshot::Receiver<Result<Payload, AckError>>, AckCleanup), AckError> {
        if is_reserved_event(event) {
            return Err(EmitError::ReservedEvent(event.to_owned()).into());
        }
        let id = self.ns.next_ack_id();
        let (tx, rx) = oneshot::channel();
        match (&self.socket, self.broadcast) {
            (Some(socket), false) => {
                socket.register_ack(id, PendingAck::Single(tx));
                if let Err(e) = socket.write_event(event, args, Some(id), self.volatile) {
                    socket.remove_ack(id);
                    return Err(e.into());
                }
                Ok((
                    rx,
                    AckCleanup {
                        id,
                        sockets: vec![socket.clone()],
                        _collector: None,
                    },
                ))
            }
            _ => {
                let remote = self.remote();
                let collector = Arc::new(AckCollector::new(tx, remote.is_some()));
                let targets = self.send_with_ack(event, args, id, &collector)?;
                collector.add_server(targets.len());
                if let Some(cluster) = remote {
                    let data = crate::cluster::event_data(event, args)?;
                    let flags = BroadcastFlags {
                        timeout: self.timeout.or(Some(cluster.request_timeout())),
                        ..self.flags()
                    };
                    cluster.broadcast_with_ack(
                        &data,
                        &self.options(),
                        &flags,
                        AckSink(collector.clone()),
                    );
                    let count = cluster.server_count();
                    let collector = collector.clone();
                    tokio::spawn(async move {
                        match count.await {
                            Ok(n) => collector.set_servers(n),
                            Err(e) => collector.fail(AckError::Adapter(e)),
                        }
                    });
                }
                Ok((
                    rx,
                    AckCleanup {
                        id,
                        sockets: targets,
                        _collector: Some(collector),
                    },
                ))
            }
        }
    }

    /// Sends the event with ack id `id` to the local targets, each answer
    /// going to `collector`; returns the targets.
    fn send_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        id: u64,
        collector: &Arc<AckCollector>,
    ) -> Result<Vec<Arc<Socket>>, EmitError> {
        let targets = self.targets();
        if targets.is_empty() {
            return Ok(targets);
        }
        let encoded = self
            .ns
            .parser
            .encode_event(self.ns.name(), event, args, Some(id))?;
        for target in &targets {
            target.register_ack(id, PendingAck::Broadcast(collector.clone()));
            target.notify_outgoing(event, || sio_proto::to_value(args).ok());
            if target.write_encoded(&encoded, self.volatile).is_err() {
                target.remove_ack(id);
                collector.fail_one();
            }
        }
        Ok(targets)
    }

    /// A broadcast with acks on behalf of another node: sends to the local
    /// targets and hands each answer (its first argument) to `forward`.
    /// Returns the number of targets.
    pub(crate) fn emit_forwarding_acks(
        self,
        event: &str,
        args: &[Value],
        forward: Arc<dyn Fn(Value) + Send + Sync>,
    ) -> usize {
        let id = self.ns.next_ack_id();
        let collector = Arc::new(AckCollector::forwarding(forward));
        match self.send_with_ack(event, args, id, &collector) {
            Ok(targets) => targets.len(),
            Err(e) => {
                tracing::debug!(ns = %self.ns.name(), "remote broadcast with ack not delivered: {e}");
                0
            }
        }
    }

    /// The target sockets of this node.
    pub fn local_sockets(&self) -> Vec<Arc<Socket>> {
        match (&self.socket, self.broadcast) {
            (Some(socket), false) => vec![socket.clone()],
            _ => self.targets(),
        }
    }

    /// The target sockets of every node (this one's first), as the
    /// reference's `fetchSockets()`: with a cluster adapter, asks the other
    /// nodes and fails if they do not all answer in time.
    ///
    /// ```ignore
    /// for s in io.to("lobby").fetch_sockets().await? {
    ///     println!("{} in {:?}", s.id(), s.rooms());
    /// }
    /// ```
    pub fn fetch_sockets(
        self,
    ) -> impl Future<Output = Result<Vec<RemoteSocket>, AdapterError>> + Send + 'static {
        let local: Vec<RemoteSocket> = self
            .local_sockets()
            .into_iter()
            .map(RemoteSocket::from_local)
            .collect();
        let remote = self.remote().map(|c| c.fetch_sockets(&self.options()));
        let ns = self.ns.clone();
        async move {
            let mut out = local;
            if let Some(remote) = remote {
                for info in remote.await? {
                    out.push(RemoteSocket::from_info(ns.clone(), info));
                }
            }
            Ok(out)
        }
    }

    /// Makes the targets (of every node) join `rooms`.
    pub fn sockets_join(self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        if let Some(cluster) = self.remote() {
            cluster.sockets_join(&self.options(), &rooms);
        }
        for s in self.local_sockets() {
            s.join(rooms.clone());
        }
    }

    /// Makes the targets (of every node) leave `rooms`.
    pub fn sockets_leave(self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        if let Some(cluster) = self.remote() {
            cluster.sockets_leave(&self.options(), &rooms);
        }
        for s in self.local_sockets() {
            for r in &rooms {
                s.leave(r);
            }
        }
    }

    /// Disconnects the targets of every node (with `close`, their whole
    /// connections).
    pub fn disconnect_sockets(self, close: bool) {
        if let Some(cluster) = self.remote() {
            cluster.disconnect_sockets(&self.options(), close);
        }
        for s in self.local_sockets() {
            s.disconnect(close);
        }
    }
}

/// Removes the waiting acks of a timed-out emit.
struct AckCleanup {
    id: u64,
    sockets: Vec<Arc<Socket>>,
    /// Kept until the emit ends: the answer channel must not close before
    /// the timeout fires, whoever else lets go of the collector first.
    _collector: Option<Arc<AckCollector>>,
}

impl AckCleanup {
    fn run(self) {
        for s in self.sockets {
            s.remove_ack(self.id);
        }
    }
}

/// Collects one answer per target of a broadcast with ack: complete when
/// every node has reported its number of targets and that many answers
/// came (the reference's expected server count and client count).
pub(crate) struct AckCollector {
    state: Mutex<Collect>,
    /// On behalf of another node: each answer is handed over, not kept.
    forward: Option<Arc<dyn Fn(Value) + Send + Sync>>,
}

struct Collect {
    /// How many nodes will report (None until the cluster said).
    servers: Option<usize>,
    reported: usize,
    expected: usize,
    responses: Vec<Value>,
    done: Option<oneshot::Sender<Result<Payload, AckError>>>,
}

impl AckCollector {
    /// A collector; with `cluster`, the number of nodes comes later
    /// ([`set_servers`](Self::set_servers)), else this node is the only one.
    fn new(done: oneshot::Sender<Result<Payload, AckError>>, cluster: bool) -> AckCollector {
        AckCollector {
            state: Mutex::new(Collect {
                servers: (!cluster).then_some(1),
                reported: 0,
                expected: 0,
                responses: Vec::new(),
                done: Some(done),
            }),
            forward: None,
        }
    }

    fn forwarding(forward: Arc<dyn Fn(Value) + Send + Sync>) -> AckCollector {
        AckCollector {
            state: Mutex::new(Collect {
                servers: None,
                reported: 0,
                expected: 0,
                responses: Vec::new(),
                done: None,
            }),
            forward: Some(forward),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Collect> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(&self) {
        let mut s = self.lock();
        if s.servers == Some(s.reported) && s.responses.len() >= s.expected {
            if let Some(done) = s.done.take() {
                let responses = std::mem::take(&mut s.responses);
                let _ = done.send(Ok(Payload::Value(Value::Array(responses))));
            }
        }
    }

    /// The number of nodes in the cluster (this one included).
    pub(crate) fn set_servers(&self, servers: usize) {
        self.lock().servers = Some(servers);
        self.check();
    }

    /// One node reported how many clients it sent the event to.
    pub(crate) fn add_server(&self, clients: usize) {
        {
            let mut s = self.lock();
            s.reported += 1;
            s.expected += clients;
        }
        self.check();
    }

    /// One target answered: keep its first argument.
    pub(crate) fn add(&self, data: &Payload) {
        let first = data
            .args::<Vec<Value>>(sio_proto::PacketType::Ack)
            .ok()
            .and_then(|a| a.into_iter().next());
        self.add_value(first.unwrap_or(Value::Null));
    }

    /// One answer (a target's first argument).
    pub(crate) fn add_value(&self, value: Value) {
        if let Some(forward) = &self.forward {
            forward(value);
            return;
        }
        self.lock().responses.push(value);
        self.check();
    }

    /// One target will never answer (disconnected): the whole ack fails.
    pub(crate) fn fail_one(&self) {
        self.fail(AckError::Disconnected);
    }

    /// The whole ack fails with `err`.
    pub(crate) fn fail(&self, err: AckError) {
        if let Some(done) = self.lock().done.take() {
            let _ = done.send(Err(err));
        }
    }
}
