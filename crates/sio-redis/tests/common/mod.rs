//! What the Redis tests share: a real redis-server on a free port (killed
//! when dropped, even when a test fails), Rust server nodes on one Redis,
//! and clients.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use sio_proto::Value;
use sio_redis::{RedisAdapter, RedisAdapterConfig};
use sio_server::{SocketIo, SocketIoConfig};

pub use sio_testkit::free_port;

/// A redis-server process on 127.0.0.1, killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts redis-server on a free port. Panics if it is not installed
    /// (scripts/setup installs it): these tests never skip.
    pub fn start() -> RedisServer {
        let mut s = RedisServer {
            port: free_port(),
            child: None,
        };
        s.restart();
        s
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/setup installs it)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL: an outage, not a clean shutdown).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Rust server node on Redis, serving on a free port.
pub struct Node {
    pub io: SocketIo,
    pub adapter: RedisAdapter,
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Node {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.io.close();
        self.adapter.close();
        self.task.abort();
    }
}

pub fn test_config() -> RedisAdapterConfig {
    RedisAdapterConfig {
        request_timeout: Duration::from_millis(1500),
        ..Default::default()
    }
}

/// Starts a node; `setup` adds handlers before it listens.
pub async fn node(redis: &str, setup: impl FnOnce(&SocketIo)) -> Node {
    let adapter = RedisAdapter::connect(redis, test_config())
        .await
        .expect("redis reachable");
    let io = SocketIo::new(SocketIoConfig {
        adapter: adapter.factory(),
        ..Default::default()
    });
    setup(&io);
    io.of("/").ready().await.expect("subscribed");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let service = io.service();
    let task = tokio::spawn(async move {
        let _ = sio_server::serve(listener, service).await;
    });
    Node {
        io,
        adapter,
        port,
        task,
    }
}

/// Waits until every node sees `n` servers on `/`.
pub async fn wait_server_count(nodes: &[&Node], n: usize) {
    for node in nodes {
        let ns = node.io.of("/");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if ns.server_count().await.ok() == Some(n) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server count never reached {n}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A client of `url` (namespace `/`), with its event stream.
pub async fn client(url: &str) -> (sio_client::Socket, sio_client::EventStream) {
    let socket = sio_client::ClientBuilder::new(url)
        .connect()
        .await
        .expect("client connects");
    let events = socket.events();
    (socket, events)
}

/// The next event named `name` within 3 s (other events skipped), as values.
pub async fn next(events: &mut sio_client::EventStream, name: &str) -> Vec<Value> {
    tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            let ev = events.recv().await.expect("stream open");
            if ev.name() == name {
                return ev.values();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name} event within 3 s"))
}

/// Whether an event named `name` arrives within `ms`.
pub async fn arrives(events: &mut sio_client::EventStream, name: &str, ms: u64) -> bool {
    tokio::time::timeout(Duration::from_millis(ms), async {
        loop {
            match events.recv().await {
                Some(ev) if ev.name() == name => return,
                Some(_) => {}
                None => std::future::pending::<()>().await,
            }
        }
    })
    .await
    .is_ok()
}

/// The server-side socket of client `c` on `node`.
pub fn server_socket(node: &Node, c: &sio_client::Socket) -> Arc<sio_server::Socket> {
    let id = c.id().expect("connected");
    node.io
        .of("/")
        .get_socket(&id)
        .expect("socket on that node")
}

/// The Node.js conformance server (official socket.io +
/// @socket.io/redis-adapter) on `redis`, killed on drop.
pub struct NodeJsNode {
    pub port: u16,
    _child: tokio::process::Child,
}

impl NodeJsNode {
    pub async fn start(redis: &str) -> NodeJsNode {
        sio_testkit::require_npm("@socket.io/redis-adapter");
        let port = free_port();
        let mut cmd =
            tokio::process::Command::from(sio_testkit::conformance(sio_testkit::Peer::Node));
        cmd.args(["--redis", redis, "--port", &port.to_string()]);
        NodeJsNode {
            port,
            _child: sio_testkit::spawn_ready(&mut cmd).await,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
