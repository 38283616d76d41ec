//! [`SocketIo`]: the server: namespaces on top of the engine.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sio_proto::{Frame, Parser, Str, Value};

use crate::client::{self, ClientConn};
use crate::cluster::AdapterFactory;
use crate::engine::{CloseReason, Engine, EngineConfig, EngineHandler, EngineSocket};
use crate::ns::Namespace;
use crate::operators::Operator;
use crate::recovery::RecoveryConfig;
use crate::service::{EngineLayer, EngineService, NotFound};
use crate::socket::{AckError, DisconnectReason, EmitError, IntoRooms, Socket};

/// Server settings: the engine's, plus the Socket.IO layer's.
///
/// ```
/// use std::time::Duration;
/// use sio_server::engine::EngineConfig;
/// use sio_server::{RecoveryConfig, SocketIo, SocketIoConfig};
///
/// let io = SocketIo::new(SocketIoConfig {
///     engine: EngineConfig {
///         ping_interval: Duration::from_secs(10),
///         max_payload: 100_000,
///         ..Default::default()
///     },
///     connect_timeout: Duration::from_secs(10),
///     connection_state_recovery: Some(RecoveryConfig::default()),
///     ..Default::default()
/// });
/// # drop(io);
/// ```
#[derive(Debug, Clone)]
pub struct SocketIoConfig {
    /// Engine.IO settings (path `/socket.io/` by default).
    pub engine: EngineConfig,
    /// How long a connection may stay without joining a namespace (default 45 s).
    pub connect_timeout: Duration,
    /// The packet format (default JSON).
    pub parser: Parser,
    /// Remove a child of a dynamic namespace when its last socket leaves
    /// (default false; a later connection creates it again).
    pub cleanup_empty_child_namespaces: bool,
    /// Connection state recovery (default off): see [`RecoveryConfig`].
    pub connection_state_recovery: Option<RecoveryConfig>,
    /// Serve the browser client at `<path>socket.io.js` like the
    /// reference's `serveClient` (default off: a library has no npm
    /// package to serve unless told where it is).
    pub serve_client: Option<crate::ClientFiles>,
    /// Makes each namespace's adapter (default: in memory, one node; see
    /// `sio_redis` for a cluster on Redis).
    pub adapter: AdapterFactory,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            engine: EngineConfig::default(),
            connect_timeout: Duration::from_secs(45),
            parser: Parser::Json,
            cleanup_empty_child_namespaces: false,
            connection_state_recovery: None,
            serve_client: None,
            adapter: AdapterFactory::default(),
        }
    }
}

type Matcher = Arc<dyn Fn(&str, &Value) -> bool + Send + Sync>;

/// A dynamic namespace: a name pattern and the template its children copy.
struct Dynamic {
    matcher: Matcher,
    template: Arc<Namespace>,
}

pub(crate) struct IoInner {
    pub config: SocketIoConfig,
    namespaces: RwLock<HashMap<Str, Arc<Namespace>>>,
    dynamic: RwLock<Vec<Dynamic>>,
    pub connect_deadlines: client::ConnectDeadlines,
}

impl IoInner {
    /// The namespace a CONNECT to `name` joins: a static one, or a child of
    /// the first dynamic namespace that matches (created on first use).
    pub fn namespace_for(self: &Arc<Self>, name: &str, auth: &Value) -> Option<Arc<Namespace>> {
        if let Some(ns) = self
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Some(ns.clone());
        }
        let template = {
            let dynamic = self.dynamic.read().unwrap_or_else(|e| e.into_inner());
            dynamic
                .iter()
                .find(|d| (d.matcher)(name, auth))
                .map(|d| d.template.clone())?
        };
        let mut namespaces = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
        let ns = namespaces.entry(Str::from(name)).or_insert_with(|| {
            let child = template.child(Str::from(name), &self.config.adapter);
            if self.config.cleanup_empty_child_namespaces {
                let io = Arc::downgrade(self);
                let weak_child = Arc::downgrade(&child);
                child.set_on_empty(move || {
                    let (Some(io), Some(child)) = (io.upgrade(), weak_child.upgrade()) else {
                        return;
                    };
                    let mut namespaces = io.namespaces.write().unwrap_or_else(|e| e.into_inner());
                    // Only this very child, and only if it is still empty.
                    let same = namespaces
                        .get(child.name())
                        .is_some_and(|ns| Arc::ptr_eq(ns, &child));
                    if same && child.sockets().is_empty() {
                        namespaces.remove(child.name());
                    }
                });
            }
            child
        });
        Some(ns.clone())
    }

    fn of(&self, name: &str) -> Arc<Namespace> {
        let name = if name.starts_with('/') {
            name.to_owned()
        } else {
            format!("/{name}")
        };
        let mut namespaces = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
        namespaces
            .entry(Str::from(name.as_str()))
            .or_insert_with(|| {
                Namespace::new(
                    Str::from(name.as_str()),
                    self.config.connection_state_recovery.clone(),
                    self.config.parser,
                    Some(&self.config.adapter),
                )
            })
            .clone()
    }
}

/// The engine handler of the Socket.IO layer.
#[derive(Clone)]
pub struct IoHandler(Arc<IoInner>);

impl EngineHandler for IoHandler {
    type Conn = ClientConn;

    fn on_open(&self, socket: Arc<EngineSocket>) -> ClientConn {
        ClientConn::new(&self.0, socket)
    }

    fn on_message(&self, conn: &ClientConn, data: Frame) {
        client::on_message(&self.0, conn, data)
    }

    fn on_close(&self, conn: &ClientConn, reason: CloseReason) {
        client::on_close(conn, reason)
    }
}

/// A Socket.IO server. Cheap to clone: every clone is the same server.
///
/// ```no_run
/// use sio_server::SocketIo;
///
/// # async fn run() -> std::io::Result<()> {
/// let io = SocketIo::new(Default::default());
/// io.ns("/", |socket| async move {
///     socket.on("hello", |ev| async move {
///         let (name,): (String,) = ev.args().unwrap_or_default();
///         ev.socket().emit("greeting", &(format!("hello {name}"),)).ok();
///     });
/// });
/// io.listen("127.0.0.1:3000".parse().unwrap()).await
/// # }
/// ```
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<IoInner>,
    engine: Arc<Engine<IoHandler>>,
}

impl SocketIo {
    /// A server with `config`. The main namespace `/` exists from the start.
    pub fn new(config: SocketIoConfig) -> SocketIo {
        let inner = Arc::new(IoInner {
            config: config.clone(),
            namespaces: RwLock::new(HashMap::new()),
            dynamic: RwLock::new(Vec::new()),
            connect_deadlines: Default::default(),
        });
        inner.of("/");
        let engine = Engine::new(config.engine, IoHandler(inner.clone()));
        SocketIo { inner, engine }
    }

    /// The namespace `name`, created if needed.
    pub fn of(&self, name: &str) -> Arc<Namespace> {
        self.inner.of(name)
    }

    /// The namespace `name` with `handler` for its connections.
    pub fn ns<F, Fut>(&self, name: &str, handler: F) -> Arc<Namespace>
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let ns = self.of(name);
        ns.on_connection(handler);
        ns
    }

    /// A connection middleware on the main namespace (`io.use(...)`): see
    /// [`Namespace::use_middleware`].
    ///
    /// ```
    /// use sio_server::{ConnectError, SocketIo};
    /// let io = SocketIo::new(Default::default());
    /// io.use_middleware(|socket| async move {
    ///     match socket.handshake().auth["token"].as_str() {
    ///         Some("abc") => Ok(()),
    ///         _ => Err(ConnectError::new("forbidden")),
    ///     }
    /// });
    /// ```
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), crate::ConnectError>> + Send + 'static,
    {
        self.main().use_middleware(middleware)
    }

    /// A dynamic namespace: any name (and auth) that `matcher` accepts is
    /// created on first use, with the middlewares and handlers of the
    /// returned template namespace (add them before clients connect).
    ///
    /// ```
    /// let io = sio_server::SocketIo::new(Default::default());
    /// let dynamic = io.dynamic_ns(
    ///     |name, _auth| name.strip_prefix("/dynamic-").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
    ///     |socket| async move { let _ = socket.emit("welcome", &()); },
    /// );
    /// assert_eq!(dynamic.name(), "/_0");
    /// ```
    pub fn dynamic_ns<M, F, Fut>(&self, matcher: M, handler: F) -> Arc<Namespace>
    where
        M: Fn(&str, &Value) -> bool + Send + Sync + 'static,
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut dynamic = self
            .inner
            .dynamic
            .write()
            .unwrap_or_else(|e| e.into_inner());
        // The template never has sockets: no cluster adapter for it.
        let template = Namespace::new(
            Str::from(format!("/_{}", dynamic.len())),
            self.inner.config.connection_state_recovery.clone(),
            self.inner.config.parser,
            None,
        );
        template.on_connection(handler);
        dynamic.push(Dynamic {
            matcher: Arc::new(matcher),
            template: template.clone(),
        });
        template
    }

    /// The namespace `name`, if it exists.
    pub fn get_ns(&self, name: &str) -> Option<Arc<Namespace>> {
        self.inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    fn main(&self) -> Arc<Namespace> {
        self.of("/")
    }

    /// Emits to every socket of the main namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.main().emit(event, args)
    }

    /// Emits to every socket of the main namespace and collects their acks.
    pub fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        self.main().emit_with_ack(event, args)
    }

    /// Targets rooms of the main namespace.
    pub fn to(&self, rooms: impl IntoRooms) -> Operator {
        self.main().to(rooms)
    }

    /// Same as [`to`](SocketIo::to).
    pub fn within(&self, rooms: impl IntoRooms) -> Operator {
        self.main().to(rooms)
    }

    /// Targets the main namespace except `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> Operator {
        self.main().except(rooms)
    }

    /// Volatile emit on the main namespace.
    pub fn volatile(&self) -> Operator {
        self.main().volatile()
    }

    /// Ack timeout for the next emit on the main namespace.
    pub fn timeout(&self, timeout: Duration) -> Operator {
        self.main().timeout(timeout)
    }

    /// Only this node.
    pub fn local(&self) -> Operator {
        self.main().local()
    }

    /// The Engine.IO layer.
    pub fn engine(&self) -> &Arc<Engine<IoHandler>> {
        &self.engine
    }

    /// The tower layer that mounts this server in front of another service
    /// (an axum `Router`).
    pub fn layer(&self) -> EngineLayer<IoHandler> {
        EngineLayer::new(self.engine.clone())
            .with_client_files(self.inner.config.serve_client.clone())
    }

    /// This server as a tower service answering 404 to other paths.
    pub fn service(&self) -> EngineService<IoHandler, NotFound> {
        EngineService::new(self.engine.clone(), NotFound)
            .with_client_files(self.inner.config.serve_client.clone())
    }

    /// Serves on `addr` until the task is dropped.
    pub async fn listen(&self, addr: SocketAddr) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        crate::serve(listener, self.service()).await
    }

    /// Closes the server: every socket disconnects with
    /// `server shutting down`, every namespace's adapter closes (a cluster
    /// adapter stops listening to the other nodes), every connection is
    /// closed.
    pub fn close(&self) {
        let namespaces: Vec<Arc<Namespace>> = self
            .inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for ns in namespaces {
            for s in ns.sockets() {
                s.on_close(DisconnectReason::ServerShuttingDown);
            }
            if let Some(cluster) = ns.adapter().cluster() {
                cluster.close();
            }
        }
        self.engine.close_all();
    }
}
