//! N sio server nodes on one Redis, in one process: a cluster to try, and
//! a measure of the cross-node broadcast latency.
//!
//!     redis-server --port 6379 &
//!     cargo run --release --example cluster -- --redis redis://127.0.0.1:6379 --nodes 3
//!     cargo run --release --example cluster -- --redis redis://127.0.0.1:6379 --nodes 3 --measure 2000
//!
//! Without `--measure`, the nodes listen on consecutive ports from `--port`
//! (3000, 3001, ...) until Ctrl-C: connect clients to any of them, and a
//! broadcast on one reaches the clients of all. Every node answers `chat`
//! (...args) with a broadcast of `chat` to the whole cluster.
//!
//! With `--measure N`, one client connects to each node, node 0 broadcasts
//! N events one after the other, and each event's time from the emit call
//! on node 0 to its arrival at the clients of the OTHER nodes (Redis
//! publish, delivery to the node, WebSocket to the client) is recorded; the
//! median, the 99th percentile and the maximum are printed.

use std::time::{Duration, Instant};

use clap::Parser as _;
use sio::redis::{RedisAdapter, RedisAdapterConfig};
use sio::server::{SocketIo, SocketIoConfig};

#[derive(clap::Parser, Debug)]
#[command(about = "N sio nodes on one Redis")]
struct Args {
    /// The Redis server.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// How many nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// The first port (0: any free ports).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Measure the latency of this many broadcasts, then exit.
    #[arg(long)]
    measure: Option<usize>,
}

/// Starts one node; returns its server and port.
async fn start_node(redis: &str, port: u16) -> Result<(SocketIo, u16), Box<dyn std::error::Error>> {
    let adapter = RedisAdapter::connect(redis, RedisAdapterConfig::default()).await?;
    let io = SocketIo::new(SocketIoConfig {
        adapter: adapter.factory(),
        ..Default::default()
    });
    io.ns("/", |socket| async move {
        socket.on("chat", |ev| async move {
            let _ = ev.socket().ns().emit("chat", &ev.arguments());
        });
    });
    io.of("/").ready().await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    let service = io.service();
    tokio::spawn(async move {
        if let Err(e) = sio::server::serve(listener, service).await {
            eprintln!("node on port {port} failed: {e}");
        }
    });
    Ok((io, port))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    if args.nodes == 0 {
        eprintln!("--nodes must be at least 1");
        std::process::exit(2);
    }
    let mut nodes = Vec::new();
    for i in 0..args.nodes {
        let port = if args.port == 0 {
            0
        } else {
            args.port + i as u16
        };
        match start_node(&args.redis, port).await {
            Ok(node) => nodes.push(node),
            Err(e) => {
                eprintln!("node {i}: {e}");
                std::process::exit(1);
            }
        }
    }
    for (i, (_, port)) in nodes.iter().enumerate() {
        println!("node {i} listening on 127.0.0.1:{port}");
    }
    match args.measure {
        Some(count) => {
            if let Err(e) = measure(&nodes, count).await {
                eprintln!("measure failed: {e}");
                std::process::exit(1);
            }
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    for (io, _) in &nodes {
        io.close();
    }
}

/// One client per node; node 0 broadcasts `count` events, one at a time.
async fn measure(
    nodes: &[(SocketIo, u16)],
    count: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    if nodes.len() < 2 {
        return Err("--measure needs at least 2 nodes".into());
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, u64, Instant)>();
    let mut clients = Vec::new();
    for (i, (_, port)) in nodes.iter().enumerate().skip(1) {
        let tx = tx.clone();
        let client = sio::client::ClientBuilder::new(&format!("http://127.0.0.1:{port}"))
            .transports([sio::client::Transport::WebSocket])
            .on("ping", move |ev| {
                let at = Instant::now();
                let seq = ev
                    .values()
                    .first()
                    .and_then(|v| v.as_u64())
                    .unwrap_or(u64::MAX);
                let _ = tx.send((i, seq, at));
                async {}
            })
            .connect()
            .await?;
        clients.push(client);
    }
    // Until every node counts the others (subscriptions settled).
    let ns = nodes[0].0.of("/");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ns.server_count().await.unwrap_or(0) < nodes.len() {
        if Instant::now() > deadline {
            return Err("the nodes do not see each other".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let receivers = nodes.len() - 1;
    let warmup = 50.min(count);
    let mut samples: Vec<Duration> = Vec::with_capacity(count * receivers);
    for seq in 0..(warmup + count) as u64 {
        let sent = Instant::now();
        ns.emit("ping", &(seq,))?;
        let mut got = 0;
        while got < receivers {
            let (_, s, at) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .map_err(|_| format!("event {seq} lost"))?
                .ok_or("clients gone")?;
            if s == seq {
                got += 1;
                if seq >= warmup as u64 {
                    samples.push(at - sent);
                }
            }
        }
    }
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "cross-node broadcast latency over {} deliveries ({} broadcasts x {} remote nodes): median {:?}, p99 {:?}, max {:?}",
        samples.len(),
        count,
        receivers,
        pick(0.5),
        pick(0.99),
        samples[samples.len() - 1]
    );
    drop(clients);
    Ok(())
}
