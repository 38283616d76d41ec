//! The Engine.IO v4 client: one task per connection attempt.
//!
//! The task owns the transport: HTTP long-polling (one GET always in
//! flight, one POST at a time, batched under the server's `maxPayload`) or
//! WebSocket, and the upgrade from the first to the second (probe `2probe`
//! → `3probe`, pause polling, `5`). It answers pings and closes the session
//! when no ping came within `pingInterval + pingTimeout`. The layer above
//! talks to it through two channels: commands in, events out.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Future, SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use sio_proto::engine::{decode_payload, encode_payload_into, OpenPacket, Packet, PacketType};
use sio_proto::{Frame, Str};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// A transport the client may use.
///
/// ```
/// use sio_client::{ClientBuilder, Transport};
/// // only WebSocket (the default is long-polling, then the upgrade)
/// let builder = ClientBuilder::new("http://127.0.0.1:3000")
///     .transports([Transport::WebSocket]);
/// # drop(builder);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

/// Why an Engine.IO connection closed (the reference client's reasons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineClose {
    /// The server closed it, or the connection dropped.
    TransportClose,
    /// A transport failed (HTTP error status, WebSocket error, connect failure).
    TransportError(String),
    /// No ping within `pingInterval + pingTimeout`.
    PingTimeout,
    /// Closed by this side.
    ForcedClose,
}

impl EngineClose {
    /// The reason string, e.g. `"transport close"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EngineClose::TransportClose => "transport close",
            EngineClose::TransportError(_) => "transport error",
            EngineClose::PingTimeout => "ping timeout",
            EngineClose::ForcedClose => "forced close",
        }
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub(crate) struct EngineOptions {
    /// `http` or `https` style base, without path: `http://127.0.0.1:3000`.
    pub origin: String,
    /// The path, with a trailing slash (`/socket.io/`).
    pub path: String,
    /// Extra query parameters (before `EIO`, `transport`, `sid`).
    pub query: Vec<(String, String)>,
    /// Transports in order of preference.
    pub transports: Vec<Transport>,
    /// Whether to upgrade from polling to WebSocket.
    pub upgrade: bool,
    /// Extra headers on every request and the WebSocket handshake.
    pub headers: http::HeaderMap,
    /// TLS settings for `https` / `wss` (default: the webpki root certificates).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Start with WebSocket when one worked before in this process.
    pub remember_upgrade: bool,
}

/// A TLS configuration that trusts the webpki root certificates.
pub(crate) fn default_tls() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

impl EngineOptions {
    fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls.clone().unwrap_or_else(default_tls)
    }
}

impl EngineOptions {
    fn url(&self, transport: Transport, sid: Option<&str>) -> String {
        let mut url = match transport {
            Transport::Polling => self.origin.clone(),
            Transport::WebSocket => {
                if let Some(rest) = self.origin.strip_prefix("https://") {
                    format!("wss://{rest}")
                } else {
                    format!("ws://{}", self.origin.trim_start_matches("http://"))
                }
            }
        };
        url.push_str(&self.path);
        url.push('?');
        for (k, v) in &self.query {
            url.push_str(&encode_component(k));
            url.push('=');
            url.push_str(&encode_component(v));
            url.push('&');
        }
        url.push_str("EIO=4&transport=");
        url.push_str(match transport {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        });
        if let Some(sid) = sid {
            url.push_str("&sid=");
            url.push_str(sid);
        }
        if transport == Transport::Polling {
            // Defeats caches, as the reference's `t` parameter.
            url.push_str("&t=");
            url.push_str(&format!("{:x}", rand::random::<u32>()));
        }
        url
    }
}

fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the engine task reports.
#[derive(Debug)]
pub(crate) enum EngineEvent {
    /// The handshake completed over this transport.
    Open(OpenPacket, Transport),
    /// A message arrived.
    Message(Frame),
    /// The transport changed (after an upgrade).
    Upgraded,
    /// The connection is over.
    Closed(EngineClose),
}

/// What the engine task is asked to do.
#[derive(Debug)]
pub(crate) enum EngineCmd {
    /// Send these messages, in order.
    Send(Vec<Frame>),
    /// Close the connection.
    Close,
}

/// The layer above's handle on a running engine task.
pub(crate) struct EngineHandle {
    pub cmd: mpsc::UnboundedSender<EngineCmd>,
    pub events: mpsc::UnboundedReceiver<EngineEvent>,
    /// Whether a message sent now goes out at once (volatile emits are
    /// dropped otherwise).
    pub writable: Arc<AtomicBool>,
}

/// Starts an engine task.
pub(crate) fn open(opts: Arc<EngineOptions>) -> EngineHandle {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let writable = Arc::new(AtomicBool::new(false));
    let w = writable.clone();
    tokio::spawn(async move {
        let reason = run(opts, &ev_tx, cmd_rx, &w).await;
        w.store(false, Ordering::Release);
        let _ = ev_tx.send(EngineEvent::Closed(reason));
    });
    EngineHandle {
        cmd: cmd_tx,
        events: ev_rx,
        writable,
    }
}

type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Http = HttpClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

struct Session {
    sid: String,
    ping_interval: Duration,
    ping_timeout: Duration,
    max_payload: usize,
    /// When the connection is dead for want of a ping.
    watchdog: Instant,
}

impl Session {
    fn new(open: &OpenPacket) -> Session {
        let ping_interval = Duration::from_millis(open.ping_interval);
        let ping_timeout = Duration::from_millis(open.ping_timeout);
        Session {
            sid: open.sid.clone(),
            ping_interval,
            ping_timeout,
            max_payload: open.max_payload as usize,
            watchdog: Instant::now() + ping_interval + ping_timeout,
        }
    }

    fn on_ping(&mut self) {
        self.watchdog = Instant::now() + self.ping_interval + self.ping_timeout;
    }
}

async fn run(
    opts: Arc<EngineOptions>,
    events: &mpsc::UnboundedSender<EngineEvent>,
    mut cmds: mpsc::UnboundedReceiver<EngineCmd>,
    writable: &AtomicBool,
) -> EngineClose {
    // `remember_upgrade`: after a WebSocket session worked in this process,
    // start with WebSocket directly (the reference's priorWebsocketSuccess).
    let first = if opts.remember_upgrade
        && PRIOR_WEBSOCKET_SUCCESS.load(Ordering::Acquire)
        && opts.transports.contains(&Transport::WebSocket)
    {
        Some(&Transport::WebSocket)
    } else {
        opts.transports.first()
    };
    let closed = match first {
        Some(Transport::WebSocket) => {
            let mut ws = match connect_ws(&opts, None).await {
                Ok(ws) => ws,
                Err(e) => return EngineClose::TransportError(e),
            };
            // The first frame is the open packet.
            let open = match ws.next().await {
                Some(Ok(Message::Text(t))) => parse_open(Str::from(t.as_str())),
                _ => Err("no open packet".to_owned()),
            };
            let open = match open {
                Ok(open) => open,
                Err(e) => return EngineClose::TransportError(e),
            };
            let mut session = Session::new(&open);
            let _ = events.send(EngineEvent::Open(open, Transport::WebSocket));
            PRIOR_WEBSOCKET_SUCCESS.store(true, Ordering::Release);
            writable.store(true, Ordering::Release);
            run_ws(&mut ws, &mut session, events, &mut cmds, Vec::new()).await
        }
        Some(Transport::Polling) => run_polling(opts, events, cmds, writable).await,
        None => EngineClose::TransportError("no transports available".into()),
    };
    if matches!(closed, EngineClose::TransportError(_)) {
        PRIOR_WEBSOCKET_SUCCESS.store(false, Ordering::Release);
    }
    closed
}

/// Whether a WebSocket session worked in this process (for `remember_upgrade`).
static PRIOR_WEBSOCKET_SUCCESS: AtomicBool = AtomicBool::new(false);

fn parse_open(text: Str) -> Result<OpenPacket, String> {
    let packet = Packet::decode_text(text).map_err(|e| e.to_string())?;
    match (packet.kind, packet.data) {
        (PacketType::Open, Some(Frame::Text(json))) => {
            OpenPacket::from_json(&json).map_err(|e| e.to_string())
        }
        _ => Err("expected an open packet".into()),
    }
}

async fn connect_ws(opts: &EngineOptions, sid: Option<&str>) -> Result<WsStream, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = opts
        .url(Transport::WebSocket, sid)
        .into_client_request()
        .map_err(|e| e.to_string())?;
    for (k, v) in &opts.headers {
        req.headers_mut().insert(k.clone(), v.clone());
    }
    let connector = opts
        .origin
        .starts_with("https://")
        .then(|| tokio_tungstenite::Connector::Rustls(opts.tls()));
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(req, None, true, connector)
        .await
        .map_err(|e| format!("websocket error: {e}"))?;
    Ok(ws)
}

fn to_message(packet: &Packet) -> Message {
    match packet.to_frame() {
        Frame::Binary(b) => Message::Binary(b),
        // SAFETY: a `Str` is valid UTF-8.
        Frame::Text(t) => Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(t.into_bytes()) }),
    }
}

/// The WebSocket phase; `pending` are messages to send first.
async fn run_ws(
    ws: &mut WsStream,
    session: &mut Session,
    events: &mpsc::UnboundedSender<EngineEvent>,
    cmds: &mut mpsc::UnboundedReceiver<EngineCmd>,
    pending: Vec<Packet>,
) -> EngineClose {
    for p in &pending {
        if ws.feed(to_message(p)).await.is_err() {
            return EngineClose::TransportError("websocket error".into());
        }
    }
    if ws.flush().await.is_err() {
        return EngineClose::TransportError("websocket error".into());
    }
    loop {
        tokio::select! {
            msg = ws.next() => {
                let frame = match msg {
                    Some(Ok(Message::Text(t))) => Frame::Text(Str::from(t.as_str())),
                    Some(Ok(Message::Binary(b))) => Frame::Binary(b),
                    Some(Ok(Message::Close(_))) | None => return EngineClose::TransportClose,
                    // The peer went away without a closing handshake (a
                    // killed server): the reference's WebSocket sees a
                    // `close` event (code 1006), hence "transport close".
                    Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)))
                    | Some(Err(WsError::ConnectionClosed)) => return EngineClose::TransportClose,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return EngineClose::TransportError(format!("websocket error: {e}")),
                };
                let Ok(packet) = Packet::decode_frame(frame) else {
                    return EngineClose::TransportError("parse error".into());
                };
                match packet.kind {
                    PacketType::Ping => {
                        session.on_ping();
                        if ws.send(to_message(&Packet::pong())).await.is_err() {
                            return EngineClose::TransportError("websocket error".into());
                        }
                    }
                    PacketType::Message => {
                        let _ = events.send(EngineEvent::Message(packet.data.unwrap_or(Frame::Text(Str::new()))));
                    }
                    PacketType::Close => return EngineClose::TransportClose,
                    _ => {}
                }
            }
            cmd = cmds.recv() => match cmd {
                Some(EngineCmd::Send(frames)) => {
                    for f in frames {
                        if ws.feed(to_message(&Packet::from_frame_data(f))).await.is_err() {
                            return EngineClose::TransportError("websocket error".into());
                        }
                    }
                    if ws.flush().await.is_err() {
                        return EngineClose::TransportError("websocket error".into());
                    }
                }
                Some(EngineCmd::Close) | None => {
                    let _ = ws.close(None).await;
                    return EngineClose::ForcedClose;
                }
            },
            _ = tokio::time::sleep_until(session.watchdog) => return EngineClose::PingTimeout,
        }
    }
}

async fn http_get(http: Http, url: String, headers: http::HeaderMap) -> Result<Bytes, String> {
    let mut req = http::Request::get(url)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    *req.headers_mut() = headers;
    let res = http
        .request(req)
        .await
        .map_err(|e| format!("xhr poll error: {e}"))?;
    if res.status() != http::StatusCode::OK {
        return Err(format!("xhr poll error: {}", res.status().as_u16()));
    }
    res.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| format!("xhr poll error: {e}"))
}

async fn http_post(
    http: Http,
    url: String,
    headers: http::HeaderMap,
    body: Bytes,
) -> Result<(), String> {
    let mut req = http::Request::post(url)
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    *req.headers_mut() = headers;
    req.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    let res = http
        .request(req)
        .await
        .map_err(|e| format!("xhr post error: {e}"))?;
    if res.status() != http::StatusCode::OK {
        return Err(format!("xhr post error: {}", res.status().as_u16()));
    }
    let _ = res.into_body().collect().await;
    Ok(())
}

/// The packets of `queue` that fit in one POST under `max_payload` (at
/// least one), as the reference client batches them.
fn take_batch(queue: &mut Vec<Packet>, max_payload: usize) -> Vec<Packet> {
    let mut size = 1usize;
    let mut n = 0;
    for (i, p) in queue.iter().enumerate() {
        size += match &p.data {
            Some(Frame::Text(t)) => t.len(),
            Some(Frame::Binary(b)) => (b.len() as f64 * 1.33).ceil() as usize,
            None => 0,
        };
        if i > 0 && size > max_payload {
            break;
        }
        size += 2;
        n = i + 1;
    }
    queue.drain(..n).collect()
}

/// The probe of an upgrade: a WebSocket that answered `3probe`.
async fn probe(opts: Arc<EngineOptions>, sid: String) -> Result<WsStream, String> {
    let mut ws = connect_ws(&opts, Some(&sid)).await?;
    ws.send(to_message(&Packet::ping_probe()))
        .await
        .map_err(|e| e.to_string())?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.as_str() == "3probe" => Ok(ws),
        _ => Err("probe error".into()),
    }
}

async fn run_polling(
    opts: Arc<EngineOptions>,
    events: &mpsc::UnboundedSender<EngineEvent>,
    mut cmds: mpsc::UnboundedReceiver<EngineCmd>,
    writable: &AtomicBool,
) -> EngineClose {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*opts.tls()).clone())
        .https_or_http()
        .enable_http1()
        .build();
    let http: Http = HttpClient::builder(TokioExecutor::new()).build(connector);
    let headers = opts.headers.clone();
    // Handshake.
    let body = match http_get(
        http.clone(),
        opts.url(Transport::Polling, None),
        headers.clone(),
    )
    .await
    {
        Ok(b) => b,
        Err(e) => return EngineClose::TransportError(e),
    };
    let Ok(body) = Str::from_utf8(body) else {
        return EngineClose::TransportError("invalid handshake".into());
    };
    let mut packets = decode_payload(body);
    let open = match packets.next() {
        Some(Ok(p)) if p.kind == PacketType::Open => match p.data {
            Some(Frame::Text(json)) => OpenPacket::from_json(&json).map_err(|e| e.to_string()),
            _ => Err("empty open packet".into()),
        },
        _ => Err("expected an open packet".into()),
    };
    let open = match open {
        Ok(o) => o,
        Err(e) => return EngineClose::TransportError(e),
    };
    let mut session = Session::new(&open);
    let may_upgrade = opts.upgrade
        && opts.transports.contains(&Transport::WebSocket)
        && open.upgrades.iter().any(|u| u == "websocket");
    let _ = events.send(EngineEvent::Open(open, Transport::Polling));
    for p in packets.flatten() {
        if p.kind == PacketType::Message {
            let _ = events.send(EngineEvent::Message(
                p.data.unwrap_or(Frame::Text(Str::new())),
            ));
        }
    }
    writable.store(true, Ordering::Release);

    let sid = session.sid.clone();
    let poll_url = || opts.url(Transport::Polling, Some(&sid));
    let mut get: Option<BoxFut<Result<Bytes, String>>> = None;
    let mut post: Option<BoxFut<Result<(), String>>> = None;
    let mut queue: Vec<Packet> = Vec::new();
    let mut probing: Option<BoxFut<Result<WsStream, String>>> =
        may_upgrade.then(|| Box::pin(probe(opts.clone(), session.sid.clone())) as BoxFut<_>);
    // A probe answered: polling pauses, then the WebSocket takes over.
    let mut upgrade_ws: Option<WsStream> = None;
    let mut closing = false;
    loop {
        if let Some(ws) = upgrade_ws.as_mut() {
            if get.is_none() && post.is_none() {
                // Paused: complete the upgrade.
                if ws.send(to_message(&Packet::upgrade())).await.is_err() {
                    return EngineClose::TransportError("websocket error".into());
                }
                let mut ws = upgrade_ws.take().expect("checked");
                let _ = events.send(EngineEvent::Upgraded);
                PRIOR_WEBSOCKET_SUCCESS.store(true, Ordering::Release);
                return run_ws(&mut ws, &mut session, events, &mut cmds, queue).await;
            }
        } else {
            if get.is_none() && !closing {
                get = Some(Box::pin(http_get(
                    http.clone(),
                    poll_url(),
                    headers.clone(),
                )));
            }
            if post.is_none() && !queue.is_empty() {
                let batch = take_batch(&mut queue, session.max_payload);
                let mut body = Vec::new();
                encode_payload_into(&mut body, &batch);
                writable.store(false, Ordering::Release);
                post = Some(Box::pin(http_post(
                    http.clone(),
                    poll_url(),
                    headers.clone(),
                    body.into(),
                )));
            } else if post.is_none() && closing {
                return EngineClose::ForcedClose;
            }
        }
        tokio::select! {
            body = async { get.as_mut().expect("guarded").await }, if get.is_some() => {
                get = None;
                let body = match body.map(Str::from_utf8) {
                    Ok(Ok(b)) => b,
                    Ok(Err(_)) => return EngineClose::TransportError("invalid payload".into()),
                    Err(e) => return EngineClose::TransportError(e),
                };
                for packet in decode_payload(body) {
                    let Ok(packet) = packet else {
                        return EngineClose::TransportError("parse error".into());
                    };
                    match packet.kind {
                        PacketType::Ping => {
                            session.on_ping();
                            queue.push(Packet::pong());
                        }
                        PacketType::Message => {
                            let _ = events.send(EngineEvent::Message(packet.data.unwrap_or(Frame::Text(Str::new()))));
                        }
                        PacketType::Close => return EngineClose::TransportClose,
                        _ => {}
                    }
                }
            }
            done = async { post.as_mut().expect("guarded").await }, if post.is_some() => {
                post = None;
                if let Err(e) = done {
                    return EngineClose::TransportError(e);
                }
                if queue.is_empty() {
                    writable.store(true, Ordering::Release);
                }
            }
            ws = async { probing.as_mut().expect("guarded").await }, if probing.is_some() => {
                probing = None;
                match ws {
                    Ok(ws) => {
                        writable.store(false, Ordering::Release);
                        upgrade_ws = Some(ws);
                    }
                    Err(e) => tracing::debug!("upgrade failed: {e}"),
                }
            }
            cmd = cmds.recv(), if !closing => match cmd {
                Some(EngineCmd::Send(frames)) => queue.extend(frames.into_iter().map(Packet::from_frame_data)),
                Some(EngineCmd::Close) | None => {
                    // Tell the server, then stop.
                    queue.push(Packet::close());
                    closing = true;
                    upgrade_ws = None;
                    probing = None;
                }
            },
            _ = tokio::time::sleep_until(session.watchdog) => return EngineClose::PingTimeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_fit_max_payload() {
        let mut q: Vec<Packet> = (0..5).map(|_| Packet::message("x".repeat(40))).collect();
        let first = take_batch(&mut q, 100);
        assert_eq!(first.len(), 2);
        assert_eq!(q.len(), 3);
        // One oversize packet still goes alone.
        let mut big = vec![Packet::message("y".repeat(500))];
        assert_eq!(take_batch(&mut big, 100).len(), 1);
    }

    #[test]
    fn urls() {
        let opts = EngineOptions {
            origin: "https://example.com:8443".into(),
            path: "/socket.io/".into(),
            query: vec![("token".into(), "a b".into())],
            transports: vec![Transport::WebSocket],
            upgrade: true,
            headers: Default::default(),
            tls: None,
            remember_upgrade: false,
        };
        assert_eq!(
            opts.url(Transport::WebSocket, Some("S")),
            "wss://example.com:8443/socket.io/?token=a%20b&EIO=4&transport=websocket&sid=S"
        );
        assert!(opts.url(Transport::Polling, None).starts_with(
            "https://example.com:8443/socket.io/?token=a%20b&EIO=4&transport=polling&t="
        ));
    }
}
