//! `sio bench`: a load generator for Socket.IO servers, built directly on
//! `sio-proto` (raw tokio TCP, its own small WebSocket and HTTP clients), so
//! that its own cost stays low next to the server it measures.
//!
//! ```text
//! sio bench conn         [URL] --connections N [--concurrency C] [--duration S]
//! sio bench echo         [URL] --connections C (--duration S | --count N) [--rate R] [--binary] [--payload B]
//! sio bench fanout       [URL] --connections N (--duration S | --count N) [--rate R] [--concurrency W]
//! sio bench polling-echo [URL] --connections C (--duration S | --count N) [--binary] [--payload B]
//!           ... [--server-pid PID] [--max-time S] [--json]
//! ```
//!
//! The server must implement the conformance server's handlers
//! (`message-with-ack` acks its arguments, `emit-all` emits `all-message` to
//! the whole namespace). Only loopback addresses are accepted, and every run
//! is bounded: by `--count` or `--duration`, and in any case by `--max-time`.
//!
//! Scenarios:
//! - `conn`: opens N WebSocket sessions connected to `/` (C handshakes in
//!   flight), holds them idle for `--duration`, then closes them. Setup rate
//!   and latency; with `--server-pid` the server's RSS growth per connection.
//! - `echo`: C WebSocket sessions, each in a closed loop of
//!   `message-with-ack` (or at a fixed total `--rate`): acks/s and latency.
//! - `fanout`: N sessions receive `all-message`, triggered by `emit-all`
//!   from the first of them, with at most `--concurrency` messages in flight
//!   (or at `--rate` messages per second): deliveries/s, latency, lost.
//! - `polling-echo`: `echo` over HTTP long-polling.
//!
//! With `--server-pid`, every scenario reports the server's CPU time (and
//! per 1000 messages) and RSS, read from `/proc/<pid>`. The exit status is 0
//! when the run had no error and lost nothing, 1 otherwise.

mod polling;
mod stats;
mod ws;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, ValueEnum};
use serde_json::{json, Value as Json};
use sio_proto::{Frame, Parser};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;

use polling::PollingSession;
use stats::{Latencies, ProcSample};
use ws::WsSession;

/// The most connections one run may open.
const MAX_CONNECTIONS: u32 = 100_000;

/// How long a run waits for answers still in flight once it stops sending.
const DRAIN: Duration = Duration::from_secs(5);

/// How long `sio bench` waits for the server before measuring an idle state.
const SETTLE: Duration = Duration::from_millis(300);

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Idle WebSocket sessions: setup rate, server RSS per connection.
    Conn,
    /// `message-with-ack` round trips over WebSocket.
    Echo,
    /// `emit-all` to every connected session.
    Fanout,
    /// `message-with-ack` round trips over HTTP long-polling.
    PollingEcho,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Conn => "conn",
            Scenario::Echo => "echo",
            Scenario::Fanout => "fanout",
            Scenario::PollingEcho => "polling-echo",
        }
    }
}

/// `sio bench` options.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// The scenario.
    #[arg(value_enum)]
    scenario: Scenario,
    /// The server (loopback only): http://127.0.0.1:PORT
    #[arg(default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The Engine.IO path.
    #[arg(long, default_value = "/socket.io/")]
    path: String,
    /// Sessions to open (conn: 1000, echo and polling-echo: 10, fanout: 100).
    #[arg(long, short = 'c', value_name = "N")]
    connections: Option<u32>,
    /// Seconds of load (conn: seconds the sessions stay idle). Default 5.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// A fixed number of messages instead of a duration (echo and
    /// polling-echo: acks in total; fanout: messages sent).
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    count: Option<u64>,
    /// A fixed rate instead of a closed loop (echo: requests/s in total;
    /// fanout: messages/s).
    #[arg(long, value_name = "PER_SEC")]
    rate: Option<f64>,
    /// Send a binary payload (an attachment) instead of a string.
    #[arg(long)]
    binary: bool,
    /// Payload size in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 32)]
    payload: usize,
    /// The server's process id: report its CPU time and RSS (from /proc).
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// conn: handshakes in flight; fanout: messages in flight. Default 64 and 4.
    #[arg(long, value_name = "N")]
    concurrency: Option<u32>,
    /// Hard limit on the whole run, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    max_time: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// A run's fixed parameters, checked.
struct Plan {
    scenario: Scenario,
    addr: SocketAddr,
    path: String,
    connections: u32,
    limit: Limit,
    rate: Option<f64>,
    binary: bool,
    payload: usize,
    server_pid: Option<u32>,
    concurrency: u32,
}

#[derive(Clone, Copy, Debug)]
enum Limit {
    Count(u64),
    Duration(Duration),
}

/// Runs `sio bench`; the exit status is 0 for a clean run.
pub async fn run(args: BenchArgs) -> std::process::ExitCode {
    let max_time = Duration::from_secs_f64(args.max_time.clamp(0.1, 3600.0));
    let json_out = args.json;
    let plan = match plan(args).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sio bench: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let scenario = plan.scenario;
    let result = tokio::time::timeout(max_time, async move {
        match plan.scenario {
            Scenario::Conn => conn(&plan).await,
            Scenario::Echo => echo(&plan).await,
            Scenario::Fanout => fanout(&plan).await,
            Scenario::PollingEcho => echo(&plan).await,
        }
    })
    .await;
    let report = match result {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => {
            eprintln!("sio bench {}: {e}", scenario.name());
            return std::process::ExitCode::from(1);
        }
        Err(_) => {
            eprintln!(
                "sio bench {}: not finished within --max-time {} s",
                scenario.name(),
                max_time.as_secs_f64()
            );
            return std::process::ExitCode::from(1);
        }
    };
    if json_out {
        println!("{report}");
    } else {
        print_text(&report);
    }
    let clean = report["errors"].as_u64() == Some(0) && report["lost"].as_u64() == Some(0);
    if clean {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}

async fn plan(args: BenchArgs) -> Result<Plan, String> {
    let addr = loopback_addr(&args.url).await?;
    let default_conns = match args.scenario {
        Scenario::Conn => 1000,
        Scenario::Fanout => 100,
        Scenario::Echo | Scenario::PollingEcho => 10,
    };
    let connections = args.connections.unwrap_or(default_conns);
    if connections == 0 || connections > MAX_CONNECTIONS {
        return Err(format!("--connections must be 1..={MAX_CONNECTIONS}"));
    }
    let limit = match (args.count, args.duration) {
        (Some(0), _) => return Err("--count must be at least 1".into()),
        (Some(n), _) => Limit::Count(n),
        (None, Some(d)) if d.is_finite() && d > 0.0 && d <= 3600.0 => {
            Limit::Duration(Duration::from_secs_f64(d))
        }
        (None, Some(_)) => return Err("--duration must be in (0, 3600] seconds".into()),
        (None, None) => Limit::Duration(Duration::from_secs(5)),
    };
    if args.scenario == Scenario::Conn && args.count.is_some() {
        return Err("conn counts connections: use --connections, not --count".into());
    }
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0 && r <= 10_000_000.0) {
            return Err("--rate must be in (0, 10000000]".into());
        }
        if matches!(args.scenario, Scenario::Conn | Scenario::PollingEcho) {
            return Err("--rate is for echo and fanout".into());
        }
    }
    if args.binary && matches!(args.scenario, Scenario::Conn | Scenario::Fanout) {
        return Err("--binary is for echo and polling-echo".into());
    }
    if args.payload > 1_000_000 {
        return Err("--payload must be at most 1000000 bytes".into());
    }
    if !args.path.starts_with('/') {
        return Err("--path must start with /".into());
    }
    let concurrency = args.concurrency.unwrap_or(match args.scenario {
        Scenario::Fanout => 4,
        _ => 64,
    });
    if concurrency == 0 || concurrency > MAX_CONNECTIONS {
        return Err(format!("--concurrency must be 1..={MAX_CONNECTIONS}"));
    }
    if let Some(pid) = args.server_pid {
        stats::sample(pid).map_err(|e| format!("--server-pid {pid}: {e}"))?;
    }
    Ok(Plan {
        scenario: args.scenario,
        addr,
        path: args.path,
        connections,
        limit,
        rate: args.rate,
        binary: args.binary,
        payload: args.payload,
        server_pid: args.server_pid,
        concurrency,
    })
}

/// `http://HOST:PORT[/]` (or `ws://`, or `HOST:PORT`), resolved to a loopback address.
async fn loopback_addr(url: &str) -> Result<SocketAddr, String> {
    let rest = ["http://", "ws://"]
        .iter()
        .find_map(|p| url.strip_prefix(p))
        .unwrap_or(url);
    if url.starts_with("https://") || url.starts_with("wss://") {
        return Err("TLS is not supported by sio bench: use http:// on loopback".into());
    }
    let host_port = rest.trim_end_matches('/');
    if host_port.contains('/') {
        return Err(format!("{url}: give the path with --path, not in the URL"));
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(host_port)
        .await
        .map_err(|e| format!("{url}: {e}"))?
        .collect();
    addrs
        .into_iter()
        .find(|a| a.ip().is_loopback())
        .ok_or_else(|| format!("{url}: sio bench only loads loopback servers (127.0.0.1)"))
}

/// Microseconds since the run's first call: one clock for every task, so a
/// timestamp written into a message can be compared by any receiver.
fn now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

fn server_sample(plan: &Plan) -> Option<ProcSample> {
    plan.server_pid.and_then(|pid| stats::sample(pid).ok())
}

/// The `server` object of a report: RSS and CPU, per 1000 messages.
fn server_report(before: Option<ProcSample>, after: Option<ProcSample>, messages: u64) -> Json {
    let (Some(before), Some(after)) = (before, after) else {
        return Json::Null;
    };
    let mut s = stats::server_figures(before, after);
    let cpu_ms = s["cpu_ms"].as_f64().unwrap_or(0.0);
    if messages > 0 {
        s["cpu_ms_per_1000"] = json!(cpu_ms * 1000.0 / messages as f64);
    }
    s
}

/// Starts the measured part of a run, once the sessions are open: lets the
/// connection work (and the `auth` events) finish, samples the server.
/// Returns the sample, the start time and the end time for `--duration`.
async fn begin_load(plan: &Plan) -> (Option<ProcSample>, Instant, Option<Instant>) {
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = server_sample(plan);
    let started = Instant::now();
    let deadline = match plan.limit {
        Limit::Duration(d) => Some(started + d),
        Limit::Count(_) => None,
    };
    (before, started, deadline)
}

/// Opens `n` sessions with at most `concurrency` handshakes in flight.
/// Returns the sessions, the setup latencies and the failures.
async fn open_many<S, F, Fut>(
    n: u32,
    concurrency: u32,
    open: F,
) -> (Vec<S>, Latencies, Vec<std::io::Error>)
where
    S: Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<S>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(concurrency as usize));
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await.expect("never closed");
        let fut = open();
        tasks.spawn(async move {
            let start = Instant::now();
            let r = fut.await;
            drop(permit);
            (i, r, start.elapsed())
        });
    }
    let mut sessions = Vec::with_capacity(n as usize);
    let mut latencies = Latencies::default();
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, Ok(s), took)) => {
                latencies.push(took);
                sessions.push((i, s));
            }
            Ok((_, Err(e), _)) => errors.push(e),
            Err(e) => errors.push(std::io::Error::other(e.to_string())),
        }
    }
    sessions.sort_by_key(|(i, _)| *i);
    (
        sessions.into_iter().map(|(_, s)| s).collect(),
        latencies,
        errors,
    )
}

fn first_error(errors: &[std::io::Error]) -> Json {
    errors
        .first()
        .map(|e| Json::from(e.to_string()))
        .unwrap_or(Json::Null)
}

// ---- conn ---------------------------------------------------------------

async fn conn(plan: &Plan) -> Result<Json, String> {
    let hold = match plan.limit {
        Limit::Duration(d) => d,
        Limit::Count(_) => unreachable!("refused by plan()"),
    };
    let before = server_sample(plan);
    let started = Instant::now();
    let (addr, path) = (plan.addr, plan.path.clone());
    let (sessions, mut setup, errors) = open_many(plan.connections, plan.concurrency, || {
        let path = path.clone();
        async move { WsSession::connect(addr, &path).await }
    })
    .await;
    let setup_time = started.elapsed();
    let opened = sessions.len() as u64;
    // Keep each session answering heartbeats while it is idle.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut idle = JoinSet::new();
    for mut s in sessions {
        let mut stop = stop_rx.clone();
        idle.spawn(async move {
            loop {
                tokio::select! {
                    r = s.next() => if r.is_err() { return false },
                    _ = stop.changed() => return true,
                }
            }
        });
    }
    tokio::time::sleep(hold.max(SETTLE)).await;
    let during = server_sample(plan);
    let _ = stop_tx.send(true);
    let mut dropped = 0u64;
    while let Some(r) = idle.join_next().await {
        if !matches!(r, Ok(true)) {
            dropped += 1;
        }
    }
    // Give the server time to notice the closes before the last sample.
    tokio::time::sleep(SETTLE).await;
    let after = server_sample(plan);
    let mut server = server_report(before, after, 0);
    if let (Some(b), Some(d)) = (before, during) {
        server["rss_with_connections_kib"] = json!(d.rss_kib);
        if opened > 0 {
            server["rss_per_conn_kib"] =
                json!((d.rss_kib as f64 - b.rss_kib as f64) / opened as f64);
        }
        if let Some(a) = after {
            server["cpu_ms_per_conn"] =
                json!(a.cpu.saturating_sub(b.cpu).as_secs_f64() * 1000.0 / opened.max(1) as f64);
        }
    }
    Ok(json!({
        "scenario": "conn",
        "transport": "websocket",
        "connections": plan.connections,
        "messages": opened,
        "errors": errors.len() as u64 + dropped,
        "first_error": first_error(&errors),
        "lost": 0,
        "elapsed_s": setup_time.as_secs_f64(),
        "rate_per_s": opened as f64 / setup_time.as_secs_f64().max(1e-9),
        "latency_us": setup.summary(),
        "server": server,
    }))
}

// ---- echo and polling-echo ----------------------------------------------

/// What one echo request looks like, and the answer it must get.
struct EchoShape {
    binary: bool,
    text: Arc<str>,
    bytes: Bytes,
}

impl EchoShape {
    fn new(plan: &Plan) -> EchoShape {
        EchoShape {
            binary: plan.binary,
            text: "a".repeat(plan.payload).into(),
            bytes: (0..plan.payload)
                .map(|i| i as u8)
                .collect::<Vec<u8>>()
                .into(),
        }
    }

    /// The frames of request `id` (Socket.IO packets, no Engine.IO prefix).
    fn request(&self, id: u64) -> Vec<Frame> {
        let encoded = if self.binary {
            Parser::Json.encode_event("/", "message-with-ack", &(self.bytes.clone(),), Some(id))
        } else {
            Parser::Json.encode_event("/", "message-with-ack", &(&*self.text,), Some(id))
        };
        encoded.expect("plain arguments encode").frames().collect()
    }

    /// The frames the server must answer request `id` with.
    fn answer(&self, id: u64) -> Vec<Frame> {
        let encoded = if self.binary {
            Parser::Json.encode_ack("/", id, &(self.bytes.clone(),))
        } else {
            Parser::Json.encode_ack("/", id, &(&*self.text,))
        };
        encoded.expect("plain arguments encode").frames().collect()
    }
}

/// Matches incoming frames against the expected answers. Answers may come
/// in any order (some servers run handlers concurrently); an answer of
/// several frames (a binary ack and its attachments) comes in one piece.
struct AckMatcher {
    /// (expected frames, sent at) per request in flight, by ack id.
    pending: std::collections::HashMap<u64, (Vec<Frame>, Instant)>,
    /// The answer being received: (ack id, frames matched so far).
    current: Option<(u64, usize)>,
    acked: u64,
    errors: u64,
    latencies: Latencies,
}

impl AckMatcher {
    fn new() -> AckMatcher {
        AckMatcher {
            pending: Default::default(),
            current: None,
            acked: 0,
            errors: 0,
            latencies: Latencies::default(),
        }
    }

    fn expect(&mut self, id: u64, answer: Vec<Frame>) {
        self.pending.insert(id, (answer, Instant::now()));
    }

    fn is_done(&self) -> bool {
        self.pending.is_empty()
    }

    /// The ack id of an ACK or BINARY_ACK packet on `/` (`3ID[` or `6N-ID[`).
    fn ack_id(text: &str) -> Option<u64> {
        let rest = match text.as_bytes().first()? {
            b'3' => &text[1..],
            b'6' => text[1..].split_once('-')?.1,
            _ => return None,
        };
        let end = rest.find('[')?;
        rest[..end].parse().ok()
    }

    /// Feeds one incoming frame. Events (`auth`) are skipped; anything else
    /// that is not an expected answer is an error.
    fn feed(&mut self, frame: Frame) -> Result<(), String> {
        let (id, pos) = match (&frame, self.current) {
            (_, Some(current)) => current,
            (Frame::Text(t), None) if t.starts_with('2') => return Ok(()),
            (Frame::Text(t), None) => match AckMatcher::ack_id(t) {
                Some(id) if self.pending.contains_key(&id) => (id, 0),
                _ => return self.fail(format!("unexpected {frame:?}")),
            },
            (Frame::Binary(_), None) => return self.fail("an attachment without a packet".into()),
        };
        let (frames, sent) = &self.pending[&id];
        if frames[pos] != frame {
            let expected = format!("expected {:?}, got {frame:?}", frames[pos]);
            return self.fail(expected);
        }
        if pos + 1 < frames.len() {
            self.current = Some((id, pos + 1));
            return Ok(());
        }
        self.latencies.push(sent.elapsed());
        self.acked += 1;
        self.current = None;
        self.pending.remove(&id);
        Ok(())
    }

    fn fail(&mut self, why: String) -> Result<(), String> {
        self.errors += 1;
        Err(why)
    }
}

/// One session's share of an echo run.
struct EchoJob {
    shape: Arc<EchoShape>,
    /// Requests to send (None: until `deadline`).
    count: Option<u64>,
    deadline: Option<Instant>,
    /// Seconds between requests (fixed rate), None for a closed loop.
    interval: Option<Duration>,
}

struct EchoOutcome {
    sent: u64,
    matcher: AckMatcher,
    error: Option<String>,
}

impl EchoJob {
    fn more(&self, sent: u64) -> bool {
        self.count.is_none_or(|c| sent < c) && self.deadline.is_none_or(|d| Instant::now() < d)
    }

    /// Starts request number `sent`: returns its frames, its answer expected.
    fn start(&self, m: &mut AckMatcher, sent: &mut u64) -> Vec<Frame> {
        let frames = self.shape.request(*sent);
        m.expect(*sent, self.shape.answer(*sent));
        *sent += 1;
        frames
    }

    async fn run(self, session: AnySession) -> EchoOutcome {
        let mut m = AckMatcher::new();
        let mut sent = 0u64;
        let r = match session {
            AnySession::Ws(s) => self.drive_ws(s, &mut m, &mut sent).await,
            AnySession::Polling(s) => self.drive_polling(s, &mut m, &mut sent).await,
        };
        EchoOutcome {
            sent,
            matcher: m,
            error: r.err(),
        }
    }

    async fn drive_ws(
        &self,
        mut s: WsSession,
        m: &mut AckMatcher,
        sent: &mut u64,
    ) -> Result<(), String> {
        let Some(every) = self.interval else {
            // Closed loop: one request in flight.
            while self.more(*sent) {
                queue_ws(&mut s, &self.start(m, sent));
                s.ws.flush().await.map_err(|e| e.to_string())?;
                while !m.is_done() {
                    m.feed(s.next().await.map_err(|e| e.to_string())?)?;
                }
            }
            return Ok(());
        };
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        while self.more(*sent) {
            tokio::select! {
                _ = tick.tick() => queue_ws(&mut s, &self.start(m, sent)),
                r = s.ws.fill() => r.map_err(|e| e.to_string())?,
            }
            while let Some(f) = s.poll_next().map_err(|e| e.to_string())? {
                m.feed(f)?;
            }
            s.ws.flush().await.map_err(|e| e.to_string())?;
        }
        let drain = tokio::time::Instant::now() + DRAIN;
        while !m.is_done() {
            let f = tokio::time::timeout_at(drain, s.next())
                .await
                .map_err(|_| "answers still missing after the drain time".to_string())?
                .map_err(|e| e.to_string())?;
            m.feed(f)?;
        }
        Ok(())
    }

    async fn drive_polling(
        &self,
        mut s: PollingSession,
        m: &mut AckMatcher,
        sent: &mut u64,
    ) -> Result<(), String> {
        let mut body = Vec::new();
        while self.more(*sent) {
            body.clear();
            for (i, f) in self.start(m, sent).into_iter().enumerate() {
                if i > 0 {
                    body.push(sio_proto::engine::SEPARATOR);
                }
                sio_proto::engine::Packet::from_frame_data(f).encode_text_into(&mut body);
            }
            s.post(&body).await.map_err(|e| e.to_string())?;
            while !m.is_done() {
                for f in s.poll().await.map_err(|e| e.to_string())? {
                    m.feed(f)?;
                }
            }
        }
        Ok(())
    }
}

/// Queues the frames of one Socket.IO packet as Engine.IO messages.
fn queue_ws(s: &mut WsSession, frames: &[Frame]) {
    let mut text = Vec::new();
    for f in frames {
        match f {
            Frame::Text(t) => {
                text.clear();
                text.push(b'4');
                text.extend_from_slice(t.as_bytes());
                s.ws.queue_text(&text);
            }
            Frame::Binary(b) => s.ws.queue_binary(b),
        }
    }
}

enum AnySession {
    Ws(WsSession),
    Polling(PollingSession),
}

async fn echo(plan: &Plan) -> Result<Json, String> {
    let polling = plan.scenario == Scenario::PollingEcho;
    let (addr, path) = (plan.addr, plan.path.clone());
    let (sessions, _, errors) = open_many(plan.connections, plan.concurrency, || {
        let path = path.clone();
        async move {
            if polling {
                PollingSession::connect(addr, &path)
                    .await
                    .map(AnySession::Polling)
            } else {
                WsSession::connect(addr, &path).await.map(AnySession::Ws)
            }
        }
    })
    .await;
    if sessions.is_empty() {
        return Err(format!(
            "no session could connect: {}",
            first_error(&errors)
        ));
    }
    let shape = Arc::new(EchoShape::new(plan));
    let n = sessions.len() as u64;
    let (before, started, deadline) = begin_load(plan).await;
    let mut tasks = JoinSet::new();
    for (i, session) in sessions.into_iter().enumerate() {
        let count = match plan.limit {
            Limit::Count(c) => Some(c / n + u64::from((i as u64) < c % n)),
            Limit::Duration(_) => None,
        };
        let job = EchoJob {
            shape: shape.clone(),
            count,
            deadline,
            interval: plan
                .rate
                .map(|r| Duration::from_secs_f64(n as f64 / r).max(Duration::from_micros(1))),
        };
        tasks.spawn(job.run(session));
    }
    let mut latencies = Latencies::default();
    let (mut sent, mut acked, mut errs) = (0u64, 0u64, errors.len() as u64);
    let mut first = errors.first().map(|e| e.to_string());
    while let Some(joined) = tasks.join_next().await {
        let out = joined.map_err(|e| e.to_string())?;
        sent += out.sent;
        acked += out.matcher.acked;
        errs += out.matcher.errors;
        if let Some(e) = out.error {
            if out.matcher.errors == 0 {
                errs += 1;
            }
            first.get_or_insert(e);
        }
        latencies.merge(out.matcher.latencies);
    }
    let elapsed = started.elapsed();
    let after = server_sample(plan);
    Ok(json!({
        "scenario": plan.scenario.name(),
        "transport": if polling { "polling" } else { "websocket" },
        "connections": plan.connections,
        "binary": plan.binary,
        "payload_bytes": plan.payload,
        "rate_target": plan.rate,
        "sent": sent,
        "messages": acked,
        "errors": errs,
        "first_error": first,
        "lost": sent - acked,
        "elapsed_s": elapsed.as_secs_f64(),
        "rate_per_s": acked as f64 / elapsed.as_secs_f64().max(1e-9),
        "latency_us": latencies.summary(),
        "server": server_report(before, after, acked),
    }))
}

// ---- fanout -------------------------------------------------------------

/// Shared progress of a fanout run.
struct Fanout {
    delivered: AtomicU64,
    errors: AtomicU64,
    /// Deliveries that came after a later message.
    reordered: AtomicU64,
    /// The sender sleeps until `delivered` reaches this.
    wake_at: AtomicU64,
    progress: Notify,
}

impl Fanout {
    /// Reads one delivery `2["all-message",[SEQ,T_US]]` (one argument, so
    /// that servers which echo one value can play too); returns its
    /// sequence number and latency. Other events (`auth`) give None.
    fn parse(frame: &Frame) -> Option<Result<(u64, u64), ()>> {
        let Frame::Text(t) = frame else {
            return Some(Err(()));
        };
        let rest = t.strip_prefix("2[\"all-message\",")?;
        let parse = || -> Option<(u64, u64)> {
            let (seq, ts) = rest
                .strip_prefix('[')?
                .strip_suffix("]]")?
                .split_once(',')?;
            Some((seq.parse().ok()?, ts.parse().ok()?))
        };
        Some(parse().ok_or(()))
    }

    /// Counts one delivery for a receiver that has `seen` these messages.
    /// A message seen twice is an error; out of order is only counted
    /// (servers that run handlers concurrently may reorder broadcasts).
    fn deliver(&self, frame: &Frame, seen: &mut Seen, lat: &mut Latencies) {
        match Fanout::parse(frame) {
            None => {}
            Some(Ok((seq, ts))) => {
                lat.push_micros(now_us().saturating_sub(ts));
                if seq < seen.next {
                    self.reordered.fetch_add(1, Ordering::Relaxed);
                }
                if !seen.insert(seq) {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                let total = self.delivered.fetch_add(1, Ordering::Relaxed) + 1;
                if total >= self.wake_at.load(Ordering::Relaxed) {
                    self.progress.notify_one();
                }
            }
            Some(Err(())) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The sequence numbers one receiver got: a bit set, and the next number
/// in order.
#[derive(Default)]
struct Seen {
    bits: Vec<u64>,
    next: u64,
}

impl Seen {
    /// Marks `seq`; false if it was already there.
    fn insert(&mut self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let new = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        self.next = self.next.max(seq + 1);
        new
    }
}

async fn fanout(plan: &Plan) -> Result<Json, String> {
    let (addr, path) = (plan.addr, plan.path.clone());
    let (sessions, _, errors) = open_many(plan.connections, 64, || {
        let path = path.clone();
        async move { WsSession::connect(addr, &path).await }
    })
    .await;
    if !errors.is_empty() {
        return Err(format!(
            "{} of {} sessions failed to connect: {}",
            errors.len(),
            plan.connections,
            first_error(&errors)
        ));
    }
    let n = sessions.len() as u64;
    let shared = Arc::new(Fanout {
        delivered: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        reordered: AtomicU64::new(0),
        wake_at: AtomicU64::new(0),
        progress: Notify::new(),
    });
    let mut sessions = sessions.into_iter();
    let mut sender = sessions.next().expect("at least one session");
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut receivers = JoinSet::new();
    for mut s in sessions {
        let shared = shared.clone();
        let mut stop = stop_rx.clone();
        receivers.spawn(async move {
            let (mut seen, mut lat) = (Seen::default(), Latencies::default());
            loop {
                tokio::select! {
                    r = s.next() => match r {
                        Ok(f) => shared.deliver(&f, &mut seen, &mut lat),
                        Err(_) => {
                            shared.errors.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    },
                    _ = stop.changed() => break,
                }
            }
            lat
        });
    }
    let (before, started, deadline) = begin_load(plan).await;
    let total = match plan.limit {
        Limit::Count(c) => Some(c),
        Limit::Duration(_) => None,
    };
    let window = u64::from(plan.concurrency);
    let every = plan.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let mut next_due = tokio::time::Instant::now();
    let (mut sent, mut own_seen, mut own_lat) = (0u64, Seen::default(), Latencies::default());
    let mut send_error = None;
    let mut text = String::new();
    loop {
        let more = total.is_none_or(|c| sent < c) && deadline.is_none_or(|d| Instant::now() < d);
        if !more {
            break;
        }
        // Room in the window: every message older than the window is fully delivered.
        let need = sent.saturating_sub(window) * n;
        let room = shared.delivered.load(Ordering::Relaxed) >= need;
        let due = tokio::time::Instant::now() >= next_due;
        if room && due {
            text.clear();
            text.push_str("42[\"emit-all\",[");
            text.push_str(itoa::Buffer::new().format(sent));
            text.push(',');
            text.push_str(itoa::Buffer::new().format(now_us()));
            text.push_str("]]");
            sender.ws.queue_text(text.as_bytes());
            sent += 1;
            if let Some(e) = every {
                next_due += e;
            }
            continue;
        }
        if let Err(e) = sender.ws.flush().await {
            send_error = Some(e.to_string());
            break;
        }
        shared
            .wake_at
            .store(sent.saturating_sub(window) * n, Ordering::Relaxed);
        let wait_room = async {
            if !room {
                shared.progress.notified().await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            r = sender.ws.fill() => {
                if let Err(e) = r {
                    send_error = Some(e.to_string());
                    break;
                }
                loop {
                    match sender.poll_next() {
                        Ok(Some(f)) => shared.deliver(&f, &mut own_seen, &mut own_lat),
                        Ok(None) => break,
                        Err(e) => {
                            send_error = Some(e.to_string());
                            break;
                        }
                    }
                }
                if send_error.is_some() {
                    break;
                }
            }
            _ = wait_room => {}
            _ = tokio::time::sleep_until(next_due), if room && !due => {}
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
    let _ = sender.ws.flush().await;
    // Drain: wait until every message reached every session (or give up).
    let expected = sent * n;
    let drain_end = Instant::now() + DRAIN;
    while send_error.is_none()
        && shared.delivered.load(Ordering::Relaxed) < expected
        && Instant::now() < drain_end
    {
        tokio::select! {
            r = sender.next() => match r {
                Ok(f) => shared.deliver(&f, &mut own_seen, &mut own_lat),
                Err(e) => send_error = Some(e.to_string()),
            },
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
    let elapsed = started.elapsed();
    let after = server_sample(plan);
    let _ = stop_tx.send(true);
    let mut latencies = own_lat;
    while let Some(r) = receivers.join_next().await {
        latencies.merge(r.map_err(|e| e.to_string())?);
    }
    let delivered = shared.delivered.load(Ordering::Relaxed);
    let errors = shared.errors.load(Ordering::Relaxed) + u64::from(send_error.is_some());
    Ok(json!({
        "scenario": "fanout",
        "transport": "websocket",
        "connections": plan.connections,
        "sent": sent,
        "messages": delivered,
        "errors": errors,
        "first_error": send_error,
        "lost": expected.saturating_sub(delivered),
        "reordered": shared.reordered.load(Ordering::Relaxed),
        "elapsed_s": elapsed.as_secs_f64(),
        "rate_per_s": delivered as f64 / elapsed.as_secs_f64().max(1e-9),
        "latency_us": latencies.summary(),
        "server": server_report(before, after, delivered),
    }))
}

// ---- output ---------------------------------------------------------------

fn print_text(r: &Json) {
    let scenario = r["scenario"].as_str().unwrap_or("?");
    let unit = match scenario {
        "conn" => "connections",
        "fanout" => "deliveries",
        _ => "acks",
    };
    println!(
        "{scenario}: {} sessions, {} {unit} in {:.2} s = {:.0}/s, errors {}, lost {}",
        r["connections"],
        r["messages"],
        r["elapsed_s"].as_f64().unwrap_or(0.0),
        r["rate_per_s"].as_f64().unwrap_or(0.0),
        r["errors"],
        r["lost"],
    );
    if let Some(e) = r["first_error"].as_str() {
        println!("first error: {e}");
    }
    let l = &r["latency_us"];
    println!(
        "latency (µs): p50 {} p90 {} p99 {} max {}",
        l["p50"], l["p90"], l["p99"], l["max"]
    );
    let s = &r["server"];
    if s.is_object() {
        let mut line = format!(
            "server: cpu {:.1} ms, rss {} KiB -> {} KiB",
            s["cpu_ms"].as_f64().unwrap_or(0.0),
            s["rss_before_kib"],
            s["rss_after_kib"],
        );
        if let Some(v) = s["cpu_ms_per_1000"].as_f64() {
            line.push_str(&format!(", {v:.2} ms cpu per 1000 {unit}"));
        }
        if let Some(v) = s["rss_per_conn_kib"].as_f64() {
            line.push_str(&format!(", {v:.2} KiB per connection"));
        }
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Frame {
        Frame::from(s)
    }

    #[test]
    fn acks_match_in_any_order_and_strangers_are_errors() {
        let mut m = AckMatcher::new();
        m.expect(1, vec![text("31[\"a\"]")]);
        m.expect(
            2,
            vec![
                text("61-2[{\"_placeholder\":true,\"num\":0}]"),
                Frame::Binary(Bytes::from_static(b"x")),
            ],
        );
        m.feed(text("2[\"auth\",{}]")).unwrap();
        m.feed(text("61-2[{\"_placeholder\":true,\"num\":0}]"))
            .unwrap();
        m.feed(Frame::Binary(Bytes::from_static(b"x"))).unwrap();
        m.feed(text("31[\"a\"]")).unwrap();
        assert!(m.is_done());
        assert_eq!((m.acked, m.errors), (2, 0));
        assert!(m.feed(text("37[\"a\"]")).is_err());
        m.expect(3, vec![text("33[\"a\"]")]);
        assert!(m.feed(text("33[\"b\"]")).is_err());
        assert_eq!(m.errors, 2);
        assert_eq!(AckMatcher::ack_id("312[1]"), Some(12));
        assert_eq!(AckMatcher::ack_id("62-7[1]"), Some(7));
        assert_eq!(AckMatcher::ack_id("2[1]"), None);
    }

    #[test]
    fn fanout_deliveries_are_parsed_and_duplicates_seen() {
        assert_eq!(
            Fanout::parse(&text("2[\"all-message\",[3,1000]]")),
            Some(Ok((3, 1000)))
        );
        assert_eq!(Fanout::parse(&text("2[\"auth\",{}]")), None);
        assert_eq!(Fanout::parse(&text("2[\"all-message\",3]")), Some(Err(())));
        let mut seen = Seen::default();
        assert!(seen.insert(70));
        assert!(seen.insert(2));
        assert!(!seen.insert(70));
        assert_eq!(seen.next, 71);
    }
}
