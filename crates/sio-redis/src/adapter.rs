//! [`RedisAdapter`]: the namespaces of one server node, on one Redis.
//!
//! One `RedisAdapter` is one node: a random uid, one subscriber connection
//! and one publisher connection, shared by every namespace. Each namespace
//! gets a [`NsAdapter`] (room membership in memory, as the in-memory adapter,
//! plus the [`Cluster`] part) that subscribes to the reference's channels:
//!
//! - `<key>#<nsp>#*` (pattern): broadcasts from other nodes;
//! - `<key>-request#<nsp>#`: requests (fetchSockets, socketsJoin, ...);
//!   `PUBSUB NUMSUB` of this channel is the number of nodes;
//! - `<key>-response#<nsp>#` and `<key>-response#<nsp>#<uid>#`: answers.
//!
//! Two tasks run per node. The supervisor owns the subscriber connection:
//! it connects, (re)subscribes every namespace's channels, dispatches
//! incoming messages in arrival order, and on a lost connection retries with
//! a backoff from 100 ms to 5 s, logging the outage once (and its end). The
//! publisher drains one bounded queue in order, several messages per round
//! trip (a pipeline); while Redis is down, what is published is dropped
//! (local clients are served regardless) and requests to other nodes fail
//! with an [`AdapterError`] instead of waiting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sio_proto::Value;
use sio_server::adapter::{Adapter, BroadcastOptions, Room};
use sio_server::cluster::{
    AckSink, AdapterError, AdapterFactory, BoxFuture, BroadcastFlags, Cluster, ClusterAdapter,
    LocalNode, SocketInfo,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::codec::{BroadcastMessage, Request, Response};

/// Settings of a [`RedisAdapter`] (the reference's options and defaults).
///
/// ```
/// let config = sio_redis::RedisAdapterConfig::default();
/// assert_eq!(config.key, "socket.io");
/// assert_eq!(config.request_timeout, std::time::Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct RedisAdapterConfig {
    /// The prefix of every channel (`key` in the reference; "socket.io").
    pub key: String,
    /// How long requests to other nodes wait (`requestsTimeout`; 5 s).
    pub request_timeout: Duration,
    /// Ask other nodes to answer on this node's own response channel
    /// (`publishOnSpecificResponseChannel`; false).
    pub publish_on_specific_response_channel: bool,
    /// How long [`RedisAdapter::connect`] waits for Redis (10 s).
    pub connect_timeout: Duration,
    /// How many messages may wait to be published; beyond, they are
    /// dropped with a log line (10 000).
    pub publish_queue: usize,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            key: "socket.io".into(),
            request_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            connect_timeout: Duration::from_secs(10),
            publish_queue: 10_000,
        }
    }
}

/// Backoff between reconnection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Messages per pipeline round trip.
const BATCH: usize = 256;

/// A fresh id (the reference's uid2(6): 6 characters).
pub(crate) fn uid() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 6];
    rand::fill(&mut raw);
    raw.iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// What a subscription is for.
#[derive(Clone)]
struct Route {
    ns: Weak<NsState>,
    pattern: bool,
}

struct Shared {
    config: RedisAdapterConfig,
    uid: String,
    client: redis::Client,
    /// The publisher connection, when connected.
    publisher: Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// The subscriber's command side, when connected.
    sink: Mutex<Option<redis::aio::PubSubSink>>,
    /// Channel or pattern → its namespace.
    routes: Mutex<HashMap<String, Route>>,
    queue: mpsc::Sender<(String, Vec<u8>)>,
    connected: watch::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Queues a message; never waits (dropped when the queue is full).
    fn publish(&self, channel: String, payload: Vec<u8>) {
        if let Err(e) = self.queue.try_send((channel, payload)) {
            tracing::debug!("redis publish dropped: {e}");
        }
    }

    fn publisher(&self) -> Option<redis::aio::MultiplexedConnection> {
        lock(&self.publisher).clone()
    }

    /// `PUBSUB NUMSUB channel`.
    async fn numsub(&self, channel: &str) -> Result<usize, AdapterError> {
        let mut conn = self
            .publisher()
            .ok_or_else(|| AdapterError::Unavailable("redis is not connected".into()))?;
        let reply: Vec<(String, usize)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(&mut conn)
            .await
            .map_err(|e| AdapterError::Unavailable(e.to_string()))?;
        Ok(reply.first().map(|(_, n)| *n).unwrap_or(0))
    }
}

/// A node of a cluster on Redis, wire-compatible with
/// @socket.io/redis-adapter 8 (Node.js nodes can share the cluster).
///
/// ```no_run
/// use sio_redis::{RedisAdapter, RedisAdapterConfig};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let adapter = RedisAdapter::connect("redis://127.0.0.1:6379", RedisAdapterConfig::default()).await?;
/// let io = sio_server::SocketIo::new(sio_server::SocketIoConfig {
///     adapter: adapter.factory(),
///     ..Default::default()
/// });
/// io.of("/").ready().await?; // subscribed
/// io.emit("hello", &("every node",))?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisAdapter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("uid", &self.shared.uid)
            .finish_non_exhaustive()
    }
}

impl RedisAdapter {
    /// Connects to Redis at `url` (`redis://host:port`); fails if Redis
    /// cannot be reached within `config.connect_timeout`. Afterwards the
    /// connection is kept up in the background (reconnecting as needed).
    pub async fn connect(
        url: &str,
        config: RedisAdapterConfig,
    ) -> Result<RedisAdapter, AdapterError> {
        let client =
            redis::Client::open(url).map_err(|e| AdapterError::Unavailable(e.to_string()))?;
        let (queue, rx) = mpsc::channel(config.publish_queue.max(1));
        let connect_timeout = config.connect_timeout;
        let shared = Arc::new(Shared {
            config,
            uid: uid(),
            client,
            publisher: Mutex::new(None),
            sink: Mutex::new(None),
            routes: Mutex::new(HashMap::new()),
            queue,
            connected: watch::Sender::new(false),
            tasks: Mutex::new(Vec::new()),
        });
        let sup = tokio::spawn(supervise(Arc::downgrade(&shared)));
        let publ = tokio::spawn(publish_loop(Arc::downgrade(&shared), rx));
        lock(&shared.tasks).extend([sup.abort_handle(), publ.abort_handle()]);
        let adapter = RedisAdapter { shared };
        let mut up = adapter.shared.connected.subscribe();
        let is_up = tokio::time::timeout(connect_timeout, up.wait_for(|c| *c))
            .await
            .is_ok_and(|r| r.is_ok());
        match is_up {
            true => Ok(adapter),
            _ => {
                adapter.close();
                Err(AdapterError::Unavailable(format!(
                    "cannot reach redis at {url} within {connect_timeout:?}"
                )))
            }
        }
    }

    /// This node's uid (in every message it publishes).
    pub fn uid(&self) -> &str {
        &self.shared.uid
    }

    /// Whether Redis is connected right now.
    pub fn is_connected(&self) -> bool {
        *self.shared.connected.borrow()
    }

    /// The adapter factory to put in [`SocketIoConfig::adapter`](sio_server::SocketIoConfig).
    pub fn factory(&self) -> AdapterFactory {
        let shared = self.shared.clone();
        AdapterFactory::new(move |node| {
            Arc::new(ClusterAdapter::new(NsAdapter::new(shared.clone(), node))) as Arc<dyn Adapter>
        })
    }

    /// Stops the background tasks (the connections close).
    pub fn close(&self) {
        for t in lock(&self.shared.tasks).drain(..) {
            t.abort();
        }
        *lock(&self.shared.publisher) = None;
        *lock(&self.shared.sink) = None;
        self.shared.connected.send_replace(false);
    }
}

async fn connect_both(
    client: &redis::Client,
) -> redis::RedisResult<(redis::aio::PubSub, redis::aio::MultiplexedConnection)> {
    let limit = Duration::from_secs(2);
    let timed_out = || redis::RedisError::from((redis::ErrorKind::Io, "connect timed out"));
    let pubsub = tokio::time::timeout(limit, client.get_async_pubsub())
        .await
        .map_err(|_| timed_out())??;
    let conn = tokio::time::timeout(limit, client.get_multiplexed_async_connection())
        .await
        .map_err(|_| timed_out())??;
    Ok((pubsub, conn))
}

/// Keeps the subscriber (and publisher) connected and dispatches messages.
async fn supervise(weak: Weak<Shared>) {
    let mut backoff = BACKOFF_MIN;
    let mut down_since: Option<Instant> = None;
    let mut ever_up = false;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let attempt = connect_both(&shared.client).await;
        let (pubsub, conn) = match attempt {
            Ok(c) => c,
            Err(e) => {
                if down_since.is_none() {
                    down_since = Some(Instant::now());
                    tracing::warn!(uid = %shared.uid, "redis unreachable, retrying in the background: {e}");
                } else {
                    tracing::debug!(uid = %shared.uid, "redis still unreachable: {e}");
                }
                drop(shared);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        // The sink first, so that a namespace created from now on
        // subscribes itself; then everything known so far.
        *lock(&shared.sink) = Some(sink.clone());
        let routes: Vec<(String, Route)> = lock(&shared.routes)
            .iter()
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        let mut ok = true;
        for (name, route) in &routes {
            let r = if route.pattern {
                sink.psubscribe(name).await
            } else {
                sink.subscribe(name).await
            };
            if let Err(e) = r {
                tracing::debug!("resubscribe to {name} failed: {e}");
                ok = false;
                break;
            }
        }
        if ok {
            *lock(&shared.publisher) = Some(conn);
            for (_, route) in &routes {
                if let Some(ns) = route.ns.upgrade() {
                    ns.subscribed.send_replace(true);
                }
            }
            shared.connected.send_replace(true);
            backoff = BACKOFF_MIN;
            if let Some(since) = down_since.take() {
                if ever_up {
                    tracing::info!(uid = %shared.uid, "redis reconnected after {:?}", since.elapsed());
                }
            }
            ever_up = true;
            drop(shared);
            while let Some(msg) = stream.next().await {
                let Some(shared) = weak.upgrade() else { return };
                dispatch(&shared, &msg);
            }
        } else {
            drop(shared);
        }
        let Some(shared) = weak.upgrade() else { return };
        *lock(&shared.sink) = None;
        *lock(&shared.publisher) = None;
        // `subscribed` stays true: a namespace that listened once is ready;
        // the supervisor resubscribes it when Redis is back.
        shared.connected.send_replace(false);
        if down_since.is_none() {
            down_since = Some(Instant::now());
            tracing::warn!(uid = %shared.uid, "redis connection lost, reconnecting in the background");
        }
        drop(shared);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn dispatch(shared: &Shared, msg: &redis::Msg) {
    let channel = msg.get_channel_name();
    let key = match msg.get_pattern::<Option<String>>() {
        Ok(Some(pattern)) => pattern,
        _ => channel.to_owned(),
    };
    let route = lock(&shared.routes).get(&key).cloned();
    let Some(ns) = route.and_then(|r| r.ns.upgrade()) else {
        return;
    };
    ns.on_message(channel, msg.get_payload_bytes());
}

/// Publishes queued messages in order, a pipeline of several per round trip.
async fn publish_loop(weak: Weak<Shared>, mut rx: mpsc::Receiver<(String, Vec<u8>)>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let Some(shared) = weak.upgrade() else { return };
        let Some(mut conn) = shared.publisher() else {
            tracing::debug!(count = batch.len(), "redis down: messages not published");
            batch.clear();
            continue;
        };
        drop(shared);
        let mut pipe = redis::pipe();
        for (channel, payload) in batch.drain(..) {
            pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::debug!("redis publish failed: {e}");
        }
    }
}

/// A request of this node waiting for other nodes' answers.
enum Pending {
    Fetch {
        remaining: usize,
        sockets: Vec<SocketInfo>,
        done: oneshot::Sender<Vec<SocketInfo>>,
    },
    ServerSideEmit {
        remaining: usize,
        responses: Vec<Value>,
        done: oneshot::Sender<Vec<Value>>,
    },
}

/// The per-namespace state that incoming messages reach.
struct NsState {
    shared: Arc<Shared>,
    node: LocalNode,
    channel: String,
    request_channel: String,
    response_channel: String,
    specific_response_channel: String,
    requests: Mutex<HashMap<String, Pending>>,
    ack_requests: Mutex<HashMap<String, AckSink>>,
    subscribed: watch::Sender<bool>,
}

impl NsState {
    fn uid(&self) -> &str {
        &self.shared.uid
    }

    fn on_message(&self, channel: &str, payload: &[u8]) {
        if channel.starts_with(&self.response_channel) {
            self.on_response(payload);
        } else if channel == self.request_channel {
            self.on_request(payload);
        } else if channel.starts_with(&self.channel) {
            self.on_broadcast(payload);
        }
    }

    fn on_broadcast(&self, payload: &[u8]) {
        let msg = match BroadcastMessage::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(ns = %self.node.name(), "malformed broadcast ignored: {e}");
                return;
            }
        };
        if msg.uid == self.uid() || msg.nsp != self.node.name() {
            return;
        }
        self.node.broadcast(&msg.data, &msg.opts, &msg.flags);
    }

    /// Where answers to `requester` go.
    fn response_channel_for(&self, requester: &str) -> String {
        if self.shared.config.publish_on_specific_response_channel {
            format!("{}{requester}#", self.response_channel)
        } else {
            self.response_channel.clone()
        }
    }

    fn respond(&self, requester: &str, response: Response) {
        let channel = self.response_channel_for(requester);
        self.shared.publish(channel, response.encode());
    }

    fn on_request(&self, payload: &[u8]) {
        let request = match Request::decode(payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(ns = %self.node.name(), "malformed request ignored: {e}");
                return;
            }
        };
        let mine = |uid: &Option<String>| uid.as_deref() == Some(self.uid());
        match request {
            Request::Sockets {
                uid,
                request_id,
                rooms,
            } => {
                if uid == self.uid() {
                    return;
                }
                let sockets = self.node.sockets(&rooms);
                self.respond(
                    &uid,
                    Response::Sockets {
                        request_id,
                        sockets,
                    },
                );
            }
            Request::AllRooms { uid, request_id } => {
                if uid == self.uid() {
                    return;
                }
                let rooms = self.node.rooms();
                self.respond(&uid, Response::AllRooms { request_id, rooms });
            }
            // Applied locally when sent: only other nodes' requests here.
            Request::RemoteJoin { uid, opts, rooms } => {
                if !mine(&uid) {
                    self.node.add_sockets(&opts, &rooms);
                }
            }
            Request::RemoteLeave { uid, opts, rooms } => {
                if !mine(&uid) {
                    self.node.del_sockets(&opts, &rooms);
                }
            }
            Request::RemoteDisconnect { uid, opts, close } => {
                if !mine(&uid) {
                    self.node.disconnect_sockets(&opts, close);
                }
            }
            Request::RemoteFetch {
                uid,
                request_id,
                opts,
            } => {
                if uid == self.uid() {
                    return;
                }
                let sockets = self.node.fetch_sockets(&opts);
                self.respond(
                    &uid,
                    Response::Fetch {
                        request_id,
                        sockets,
                    },
                );
            }
            Request::ServerSideEmit {
                uid,
                request_id,
                data,
            } => {
                if uid == self.uid() {
                    return;
                }
                let ack = request_id.map(|request_id| {
                    let shared = self.shared.clone();
                    let channel = self.response_channel.clone();
                    // The reference answers on the shared response channel.
                    Box::new(move |data: Value| {
                        shared.publish(
                            channel,
                            Response::ServerSideEmit { request_id, data }.encode(),
                        );
                    }) as sio_server::cluster::ServerAck
                });
                self.node.server_side_emit(&data, ack);
            }
            Request::Broadcast {
                uid,
                request_id,
                nsp,
                data,
                opts,
                flags,
            } => {
                if uid == self.uid() || nsp != self.node.name() {
                    return;
                }
                let shared = self.shared.clone();
                let channel = self.response_channel_for(&uid);
                let id = request_id.clone();
                let count = self
                    .node
                    .broadcast_with_ack(&data, &opts, &flags, move |packet| {
                        let ack = Response::BroadcastAck {
                            request_id: id.clone(),
                            packet,
                        };
                        shared.publish(channel.clone(), ack.encode());
                    });
                self.respond(
                    &uid,
                    Response::BroadcastClientCount {
                        request_id,
                        client_count: count,
                    },
                );
            }
        }
    }

    fn on_response(&self, payload: &[u8]) {
        let response = match Response::decode(payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(ns = %self.node.name(), "malformed response ignored: {e}");
                return;
            }
        };
        let id = response.request_id().to_owned();
        match response {
            Response::BroadcastClientCount { client_count, .. } => {
                let sink = lock(&self.ack_requests).get(&id).cloned();
                if let Some(sink) = sink {
                    sink.client_count(client_count);
                }
            }
            Response::BroadcastAck { packet, .. } => {
                let sink = lock(&self.ack_requests).get(&id).cloned();
                if let Some(sink) = sink {
                    sink.ack(packet);
                }
            }
            Response::Fetch { sockets: more, .. } => self.fetch_answer(&id, more),
            // An empty fetch answer reads as an empty SOCKETS one.
            Response::Sockets { sockets, .. } if sockets.is_empty() => {
                self.fetch_answer(&id, Vec::new())
            }
            Response::ServerSideEmit { data, .. } => {
                let mut requests = lock(&self.requests);
                if let Some(Pending::ServerSideEmit {
                    remaining,
                    responses,
                    ..
                }) = requests.get_mut(&id)
                {
                    responses.push(data);
                    *remaining = remaining.saturating_sub(1);
                    if *remaining == 0 {
                        if let Some(Pending::ServerSideEmit {
                            responses, done, ..
                        }) = requests.remove(&id)
                        {
                            let _ = done.send(responses);
                        }
                    }
                }
            }
            Response::Sockets { .. } | Response::AllRooms { .. } => {}
        }
    }

    fn fetch_answer(&self, id: &str, more: Vec<SocketInfo>) {
        let mut requests = lock(&self.requests);
        if let Some(Pending::Fetch {
            remaining, sockets, ..
        }) = requests.get_mut(id)
        {
            sockets.extend(more);
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                if let Some(Pending::Fetch { sockets, done, .. }) = requests.remove(id) {
                    let _ = done.send(sockets);
                }
            }
        }
    }

    /// Publishes `request` on the request channel.
    fn request(&self, request: &Request) {
        self.shared
            .publish(self.request_channel.clone(), request.encode());
    }

    fn forget(&self, id: &str) {
        lock(&self.requests).remove(id);
    }
}

/// Sends a request to the other nodes and waits for one answer from each
/// (the node count is `PUBSUB NUMSUB`, this node included), at most the
/// request timeout in all.
async fn ask<T: Default>(
    state: Arc<NsState>,
    what: &'static str,
    pending: impl FnOnce(usize, oneshot::Sender<T>) -> Pending,
    request: impl FnOnce(String) -> Request,
) -> Result<T, AdapterError> {
    let limit = state.shared.config.request_timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let count = tokio::time::timeout_at(deadline, state.shared.numsub(&state.request_channel))
        .await
        .map_err(|_| AdapterError::Timeout(what.into()))??;
    if count <= 1 {
        return Ok(T::default());
    }
    let request_id = uid();
    let (done, rx) = oneshot::channel();
    lock(&state.requests).insert(request_id.clone(), pending(count - 1, done));
    let encoded = request(request_id.clone()).encode();
    state.shared.publish(state.request_channel.clone(), encoded);
    match tokio::time::timeout_at(deadline, rx).await {
        Ok(Ok(answers)) => Ok(answers),
        _ => {
            state.forget(&request_id);
            Err(AdapterError::Timeout(what.into()))
        }
    }
}

/// One namespace's cluster part (its rooms are kept by the
/// [`ClusterAdapter`] around it).
pub struct NsAdapter {
    state: Arc<NsState>,
}

impl std::fmt::Debug for NsAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NsAdapter")
            .field("ns", &self.state.node.name())
            .finish_non_exhaustive()
    }
}

impl NsAdapter {
    fn new(shared: Arc<Shared>, node: LocalNode) -> NsAdapter {
        let key = &shared.config.key;
        let nsp = node.name();
        let response_channel = format!("{key}-response#{nsp}#");
        let state = Arc::new(NsState {
            channel: format!("{key}#{nsp}#"),
            request_channel: format!("{key}-request#{nsp}#"),
            specific_response_channel: format!("{response_channel}{}#", shared.uid),
            response_channel,
            requests: Mutex::new(HashMap::new()),
            ack_requests: Mutex::new(HashMap::new()),
            subscribed: watch::Sender::new(false),
            node,
            shared: shared.clone(),
        });
        let pattern = format!("{}*", state.channel);
        let channels = [
            state.request_channel.clone(),
            state.response_channel.clone(),
            state.specific_response_channel.clone(),
        ];
        {
            let mut routes = lock(&shared.routes);
            let route = |pattern| Route {
                ns: Arc::downgrade(&state),
                pattern,
            };
            routes.insert(pattern.clone(), route(true));
            for c in &channels {
                routes.insert(c.clone(), route(false));
            }
        }
        // Subscribe now if connected; otherwise the supervisor will.
        let sink = lock(&shared.sink).clone();
        if let Some(mut sink) = sink {
            let weak = Arc::downgrade(&state);
            let subscribe = async move {
                let r = async {
                    sink.psubscribe(&pattern).await?;
                    sink.subscribe(&channels[..]).await
                }
                .await;
                match (r, weak.upgrade()) {
                    (Ok(()), Some(state)) => {
                        state.subscribed.send_replace(true);
                    }
                    (Err(e), _) => {
                        tracing::debug!("subscribe failed (will retry on reconnection): {e}")
                    }
                    _ => {}
                }
            };
            match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    h.spawn(subscribe);
                }
                Err(_) => tracing::warn!("namespace created outside a tokio runtime: subscribed on the next reconnection"),
            }
        }
        NsAdapter { state }
    }

    fn timeout(&self) -> Duration {
        self.state.shared.config.request_timeout
    }

    /// Stops routing this namespace's channels and unsubscribes from them,
    /// as the reference's `close()` does: the other nodes' server count
    /// (from PUBSUB NUMSUB) drops at once. Idempotent.
    fn stop(&self) {
        let mut patterns = Vec::new();
        let mut channels = Vec::new();
        lock(&self.state.shared.routes).retain(|name, r| {
            let ours =
                r.ns.upgrade()
                    .is_none_or(|ns| Arc::ptr_eq(&ns, &self.state));
            if ours {
                if r.pattern {
                    patterns.push(name.clone());
                } else {
                    channels.push(name.clone());
                }
            }
            !ours
        });
        if patterns.is_empty() && channels.is_empty() {
            return;
        }
        let Some(mut sink) = lock(&self.state.shared.sink).clone() else {
            // Not connected: the supervisor resubscribes only what is routed.
            return;
        };
        let unsubscribe = async move {
            let r = async {
                if !patterns.is_empty() {
                    sink.punsubscribe(&patterns[..]).await?;
                }
                if !channels.is_empty() {
                    sink.unsubscribe(&channels[..]).await?;
                }
                Ok::<_, redis::RedisError>(())
            }
            .await;
            if let Err(e) = r {
                tracing::debug!("unsubscribe failed: {e}");
            }
        };
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(unsubscribe);
        }
    }
}

impl Drop for NsAdapter {
    fn drop(&mut self) {
        // The namespace is gone (a cleaned-up dynamic child).
        self.stop();
    }
}

impl Cluster for NsAdapter {
    fn ready(&self) -> BoxFuture<Result<(), AdapterError>> {
        let mut rx = self.state.subscribed.subscribe();
        let limit = self.timeout();
        // During an outage, waiting would only delay local clients.
        if !*rx.borrow() && !*self.state.shared.connected.borrow() {
            return Box::pin(async {
                Err(AdapterError::Unavailable("redis is not connected".into()))
            });
        }
        Box::pin(async move {
            match tokio::time::timeout(limit, rx.wait_for(|s| *s)).await {
                Ok(Ok(_)) => Ok(()),
                _ => Err(AdapterError::Timeout("subscribe".into())),
            }
        })
    }

    fn request_timeout(&self) -> Duration {
        self.timeout()
    }

    fn broadcast(&self, data: &[Value], opts: &BroadcastOptions, flags: &BroadcastFlags) {
        let mut channel = self.state.channel.clone();
        if let [room] = &opts.rooms[..] {
            channel.push_str(room);
            channel.push('#');
        }
        let msg = BroadcastMessage {
            uid: self.state.uid().to_owned(),
            nsp: self.state.node.name().to_owned(),
            data: data.to_vec(),
            opts: opts.clone(),
            flags: flags.clone(),
        };
        self.state.shared.publish(channel, msg.encode());
    }

    fn broadcast_with_ack(
        &self,
        data: &[Value],
        opts: &BroadcastOptions,
        flags: &BroadcastFlags,
        sink: AckSink,
    ) {
        let request_id = uid();
        lock(&self.state.ack_requests).insert(request_id.clone(), sink);
        let request = Request::Broadcast {
            uid: self.state.uid().to_owned(),
            request_id: request_id.clone(),
            nsp: self.state.node.name().to_owned(),
            data: data.to_vec(),
            opts: opts.clone(),
            flags: flags.clone(),
        };
        self.state.request(&request);
        // As the reference: no way to know when every client answered, so
        // forget the request after the ack timeout.
        let state = Arc::downgrade(&self.state);
        let after = flags.timeout.unwrap_or(self.timeout());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(state) = state.upgrade() {
                lock(&state.ack_requests).remove(&request_id);
            }
        });
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        let state = self.state.clone();
        let limit = self.timeout();
        Box::pin(async move {
            tokio::time::timeout(limit, state.shared.numsub(&state.request_channel))
                .await
                .map_err(|_| AdapterError::Timeout("serverCount".into()))?
        })
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>> {
        let opts = opts.clone();
        let uid = self.state.uid().to_owned();
        Box::pin(ask(
            self.state.clone(),
            "fetchSockets",
            |remaining, done| Pending::Fetch {
                remaining,
                sockets: Vec::new(),
                done,
            },
            move |request_id| Request::RemoteFetch {
                uid,
                request_id,
                opts,
            },
        ))
    }

    fn sockets_join(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let request = Request::RemoteJoin {
            uid: Some(self.state.uid().to_owned()),
            opts: opts.clone(),
            rooms: rooms.to_vec(),
        };
        self.state.request(&request);
    }

    fn sockets_leave(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let request = Request::RemoteLeave {
            uid: Some(self.state.uid().to_owned()),
            opts: opts.clone(),
            rooms: rooms.to_vec(),
        };
        self.state.request(&request);
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        let request = Request::RemoteDisconnect {
            uid: Some(self.state.uid().to_owned()),
            opts: opts.clone(),
            close,
        };
        self.state.request(&request);
    }

    fn server_side_emit(&self, data: &[Value]) {
        let request = Request::ServerSideEmit {
            uid: self.state.uid().to_owned(),
            request_id: None,
            data: data.to_vec(),
        };
        self.state.request(&request);
    }

    fn server_side_emit_with_ack(
        &self,
        data: &[Value],
    ) -> BoxFuture<Result<Vec<Value>, AdapterError>> {
        let data = data.to_vec();
        let uid = self.state.uid().to_owned();
        Box::pin(ask(
            self.state.clone(),
            "serverSideEmit",
            |remaining, done| Pending::ServerSideEmit {
                remaining,
                responses: Vec::new(),
                done,
            },
            move |request_id| Request::ServerSideEmit {
                uid,
                request_id: Some(request_id),
                data,
            },
        ))
    }

    fn close(&self) {
        self.stop();
    }
}
