//! The Engine.IO v4 server: HTTP long-polling, WebSocket, the upgrade
//! between them, and the server-side heartbeat.
//!
//! [`Engine`] receives HTTP requests for its path, verifies them as the
//! reference does (same checks, same order, same error codes and bodies),
//! and runs sessions ([`EngineSocket`]). What a session carries is the
//! business of an [`EngineHandler`]: the Socket.IO layer, or anything else
//! that wants a bidirectional message channel to a browser.
//!
//! Each session has one driver task: it owns the heartbeat timer and, once
//! the session is on WebSocket, the socket itself (reads, writes and timer
//! in one `select!`), so an idle WebSocket session costs one task.

mod cors;
mod polling;
mod sid;
pub(crate) mod sid_hash;
mod socket;
mod ws;
mod ws_conn;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use sio_proto::{Frame, Str};

pub use cors::{AllowOrigin, Cors};
pub use socket::{CloseReason, EngineSocket, HandshakeRequest, SendError, TransportKind};

/// A fresh id in the reference's format (20 URL-safe characters): for
/// sessions, and for Socket.IO sockets.
pub(crate) fn new_id() -> Str {
    sid::generate()
}

/// The body of every response the engine writes.
pub type EngineBody = Full<Bytes>;

/// Decides whether a handshake request may open a session: `Err(message)`
/// refuses it with HTTP 403 `{"code":4,"message":...}`.
pub type AllowRequest = Arc<dyn Fn(&http::request::Parts) -> Result<(), String> + Send + Sync>;

/// Engine.IO settings, with the reference's defaults.
#[derive(Clone)]
pub struct EngineConfig {
    /// The request path served, with a trailing slash (default `/socket.io/`).
    pub path: String,
    /// Time between pings (default 25 s).
    pub ping_interval: Duration,
    /// Time to wait for a pong (default 20 s).
    pub ping_timeout: Duration,
    /// Time to complete an upgrade once the probe WebSocket is open (default 10 s).
    pub upgrade_timeout: Duration,
    /// The largest POST body and WebSocket message, in bytes (default 1e6,
    /// the reference's `maxHttpBufferSize`).
    pub max_payload: usize,
    /// Accept long-polling (default true).
    pub polling: bool,
    /// Accept WebSocket (default true).
    pub websocket: bool,
    /// Offer the upgrade from polling to WebSocket (default true).
    pub allow_upgrades: bool,
    /// CORS headers (default none).
    pub cors: Option<Cors>,
    /// A hook that may refuse handshakes.
    pub allow_request: Option<AllowRequest>,
    /// The most packets one session may have waiting to be sent (default
    /// 10 000). Past that, sends fail with [`SendError::Full`] (a stalled
    /// peer must not make the server grow without bound).
    pub max_buffered_packets: usize,
    /// How long a server-side close waits for a polling client to come and
    /// fetch its last packets (default 30 s, the reference's `closeTimeout`).
    pub close_timeout: Duration,
    /// The most bytes one WebSocket read takes (default and maximum 16 KiB).
    /// Reads land in a buffer on the stack of the polling thread, not in one
    /// kept per connection: only an incomplete frame is kept between reads.
    pub ws_read_buffer_size: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: "/socket.io/".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            polling: true,
            websocket: true,
            allow_upgrades: true,
            cors: None,
            allow_request: None,
            max_buffered_packets: 10_000,
            close_timeout: Duration::from_millis(30_000),
            ws_read_buffer_size: 16 * 1024,
        }
    }
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("max_payload", &self.max_payload)
            .finish_non_exhaustive()
    }
}

/// What runs on top of Engine.IO sessions.
///
/// Calls for one session never overlap: messages arrive one at a time, in
/// order, and `on_close` comes last, exactly once.
pub trait EngineHandler: Send + Sync + 'static {
    /// Per-session state of the handler.
    type Conn: Send + Sync + 'static;

    /// A session opened.
    fn on_open(&self, socket: Arc<EngineSocket>) -> Self::Conn;

    /// A message arrived.
    fn on_message(&self, conn: &Self::Conn, data: Frame);

    /// The session closed.
    fn on_close(&self, conn: &Self::Conn, reason: CloseReason);
}

/// A session: the shared socket plus the handler's state.
pub(crate) struct Session<H: EngineHandler> {
    pub socket: Arc<EngineSocket>,
    pub conn: H::Conn,
    /// The WebSocket of a completed upgrade, for the driver to take over
    /// (boxed: empty on most sessions).
    pub ws_slot: Mutex<Option<Box<ws_conn::WsConn>>>,
}

/// The error codes of the Engine.IO handshake and request checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EngineErrorCode {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocolVersion = 5,
}

impl EngineErrorCode {
    fn message(self) -> &'static str {
        match self {
            EngineErrorCode::UnknownTransport => "Transport unknown",
            EngineErrorCode::UnknownSid => "Session ID unknown",
            EngineErrorCode::BadHandshakeMethod => "Bad handshake method",
            EngineErrorCode::BadRequest => "Bad request",
            EngineErrorCode::Forbidden => "Forbidden",
            EngineErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }
}

/// The Engine.IO server: sessions by id, and the request entry point.
pub struct Engine<H: EngineHandler> {
    pub(crate) config: Arc<EngineConfig>,
    pub(crate) handler: H,
    /// Keyed by ids this server generated: hashed cheaply (see `sid_hash`),
    /// as every polling request looks its session up.
    pub(crate) sessions: Mutex<HashMap<Str, Arc<Session<H>>, sid_hash::SidHash>>,
}

/// The query parameters the engine reads.
#[derive(Debug, Default)]
pub(crate) struct Query<'a> {
    pub eio: Option<&'a str>,
    pub transport: Option<&'a str>,
    pub sid: Option<&'a str>,
    pub b64: bool,
}

impl<'a> Query<'a> {
    fn parse(query: &'a str) -> Query<'a> {
        let mut q = Query::default();
        // By byte position: `split` and `split_once` set up a searcher
        // per call, which cost more than the few bytes they search.
        let find = |s: &str, c: u8| s.bytes().position(|b| b == c);
        let mut rest = query;
        loop {
            let (pair, next) = match find(rest, b'&') {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            let (k, v) = match find(pair, b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, ""),
            };
            match k {
                "EIO" => q.eio = Some(v),
                "transport" => q.transport = Some(v),
                "sid" => q.sid = Some(v),
                "b64" => q.b64 = !v.is_empty() && v != "0" && v != "false",
                _ => {}
            }
            match next {
                Some(n) => rest = n,
                None => return q,
            }
        }
    }
}

/// A boxed response future.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response<EngineBody>> + Send>>;

impl<H: EngineHandler> Engine<H> {
    /// An engine with `config` running `handler` on its sessions.
    pub fn new(config: EngineConfig, handler: H) -> Arc<Engine<H>> {
        let mut config = config;
        if !config.path.ends_with('/') {
            config.path.push('/');
        }
        Arc::new(Engine {
            config: Arc::new(config),
            handler,
            sessions: Mutex::new(HashMap::default()),
        })
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The number of open sessions.
    pub fn session_count(&self) -> usize {
        self.sessions_lock().len()
    }

    /// The session with id `sid`, if open.
    pub fn socket(&self, sid: &str) -> Option<Arc<EngineSocket>> {
        self.sessions_lock().get(sid).map(|s| s.socket.clone())
    }

    /// Closes every session (`forced close`).
    pub fn close_all(&self) {
        let sessions: Vec<_> = self.sessions_lock().values().cloned().collect();
        for s in sessions {
            s.socket.close_with(CloseReason::ForcedClose, false);
        }
    }

    pub(crate) fn sessions_lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Str, Arc<Session<H>>, sid_hash::SidHash>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a request is for this engine (its path starts with the
    /// engine's path, as the reference's prefix match).
    pub fn matches<B>(&self, req: &Request<B>) -> bool {
        let path = req.uri().path();
        path.starts_with(self.config.path.as_str())
            || path == self.config.path.trim_end_matches('/')
    }

    /// Serves one request for this engine's path.
    pub fn handle<B>(self: &Arc<Self>, req: Request<B>) -> ResponseFuture
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Box::pin(self.clone().serve(req))
    }

    /// [`handle`](Engine::handle), unboxed: for a caller that boxes its own
    /// future anyway (one allocation per request, not two).
    pub(crate) async fn serve<B>(self: Arc<Self>, req: Request<B>) -> Response<EngineBody>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // Read once: checked by `verify`, echoed by CORS.
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut res = self.clone().route(req, origin.as_ref()).await;
        if let Some(cors) = &self.config.cors {
            cors.apply(origin.as_ref(), res.headers_mut());
        }
        res
    }

    async fn route<B>(
        self: Arc<Self>,
        req: Request<B>,
        origin: Option<&HeaderValue>,
    ) -> Response<EngineBody>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if req.method() == Method::OPTIONS {
            if let Some(cors) = &self.config.cors {
                return cors.preflight(req.headers());
            }
        }
        let is_upgrade = ws::is_websocket_upgrade(&req);
        // The query borrows the request: read what is needed before the
        // request moves on.
        let (session, ws_sid, b64) = {
            let q = Query::parse(req.uri().query().unwrap_or(""));
            let session = match self.verify(&req, &q, is_upgrade, origin) {
                Ok(session) => session,
                Err(refusal) => return refusal.response(),
            };
            let ws_sid = is_upgrade.then(|| q.sid.map(str::to_owned)).flatten();
            (session, ws_sid, q.b64)
        };
        match (session, is_upgrade) {
            (_, true) => ws::accept(self.clone(), req, ws_sid, b64),
            (None, false) => self.handshake_polling(req, b64),
            (Some(session), false) => match *req.method() {
                Method::GET => polling::get(&session).await,
                Method::POST => polling::post(&self, &session, req).await,
                _ => empty(StatusCode::INTERNAL_SERVER_ERROR),
            },
        }
    }

    /// The reference's checks, in its order; the session of a request that
    /// names one.
    fn verify<B>(
        &self,
        req: &Request<B>,
        q: &Query<'_>,
        is_upgrade: bool,
        origin: Option<&HeaderValue>,
    ) -> Result<Option<Arc<Session<H>>>, Refusal> {
        let transport = match q.transport {
            Some("polling") if self.config.polling => TransportKind::Polling,
            Some("websocket") if self.config.websocket => TransportKind::WebSocket,
            _ => return Err(EngineErrorCode::UnknownTransport.into()),
        };
        if let Some(origin) = origin {
            if origin
                .as_bytes()
                .iter()
                .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
            {
                return Err(EngineErrorCode::BadRequest.into());
            }
        }
        if let Some(sid) = q.sid {
            let session = self.sessions_lock().get(sid).cloned();
            let session = session.ok_or(EngineErrorCode::UnknownSid)?;
            if !is_upgrade && session.socket.transport() != transport {
                return Err(EngineErrorCode::BadRequest.into());
            }
            return Ok(Some(session));
        }
        if req.method() != Method::GET {
            return Err(EngineErrorCode::BadHandshakeMethod.into());
        }
        if transport == TransportKind::WebSocket && !is_upgrade {
            return Err(EngineErrorCode::BadRequest.into());
        }
        if q.eio != Some("4") {
            return Err(EngineErrorCode::UnsupportedProtocolVersion.into());
        }
        if let Some(allow) = &self.config.allow_request {
            let (parts, ()) = clone_parts(req).into_parts();
            if let Err(message) = allow(&parts) {
                let message = (!message.is_empty()).then_some(message);
                return Err(Refusal {
                    code: EngineErrorCode::Forbidden,
                    message,
                });
            }
        }
        Ok(None)
    }

    /// Creates and registers a session, and starts its driver.
    pub(crate) fn open_session(
        self: &Arc<Self>,
        transport: TransportKind,
        handshake: HandshakeRequest,
        base64_binary: bool,
    ) -> Arc<Session<H>> {
        let sid = sid::generate();
        let socket = Arc::new_cyclic(|me| {
            EngineSocket::new(
                me.clone(),
                sid.clone(),
                transport,
                handshake,
                self.config.clone(),
                base64_binary,
            )
        });
        let conn = self.handler.on_open(socket.clone());
        let session = Arc::new(Session {
            socket,
            conn,
            ws_slot: Mutex::new(None),
        });
        self.sessions_lock().insert(sid, session.clone());
        session
    }

    /// The open packet for a session on `transport`.
    pub(crate) fn open_packet(
        &self,
        sid: &str,
        transport: TransportKind,
    ) -> sio_proto::engine::Packet {
        let upgrades = if transport == TransportKind::Polling
            && self.config.allow_upgrades
            && self.config.websocket
        {
            vec!["websocket".to_owned()]
        } else {
            vec![]
        };
        sio_proto::engine::OpenPacket {
            sid: sid.to_owned(),
            upgrades,
            ping_interval: self.config.ping_interval.as_millis() as u64,
            ping_timeout: self.config.ping_timeout.as_millis() as u64,
            max_payload: self.config.max_payload as u64,
        }
        .to_packet()
    }

    fn handshake_polling<B>(self: &Arc<Self>, req: Request<B>, b64: bool) -> Response<EngineBody> {
        let session = self.open_session(TransportKind::Polling, handshake_of(&req), b64);
        let open = self.open_packet(session.socket.sid(), TransportKind::Polling);
        tokio::spawn(polling::drive(self.clone(), session));
        polling::payload_response(sio_proto::engine::encode_payload([&open]))
    }

    /// Tears a session down: unregisters it and tells the handler. Called by
    /// the session's driver only, once.
    pub(crate) fn finish(&self, session: &Session<H>, reason: CloseReason) {
        self.sessions_lock().remove(session.socket.sid().as_str());
        tracing::debug!(sid = %session.socket.sid(), %reason, "engine session closed");
        self.handler.on_close(&session.conn, reason);
    }
}

/// A refused request: an error code and, from `allow_request`, a message.
#[derive(Debug)]
pub(crate) struct Refusal {
    code: EngineErrorCode,
    message: Option<String>,
}

impl From<EngineErrorCode> for Refusal {
    fn from(code: EngineErrorCode) -> Refusal {
        Refusal {
            code,
            message: None,
        }
    }
}

impl Refusal {
    /// `{"code":N,"message":"..."}` with 400 (403 for Forbidden).
    pub(crate) fn response(&self) -> Response<EngineBody> {
        let status = if self.code == EngineErrorCode::Forbidden {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::BAD_REQUEST
        };
        let message = self.message.as_deref().unwrap_or(self.code.message());
        let body = serde_json::json!({ "code": self.code as u8, "message": message }).to_string();
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("valid response")
    }
}

fn clone_parts<B>(req: &Request<B>) -> Request<()> {
    let mut r = Request::builder()
        .method(req.method().clone())
        .uri(req.uri().clone())
        .version(req.version());
    if let Some(h) = r.headers_mut() {
        *h = req.headers().clone();
    }
    r.body(()).expect("valid parts")
}

/// What the handshake looked like, for the layers above.
pub(crate) fn handshake_of<B>(req: &Request<B>) -> HandshakeRequest {
    let uri = req.uri();
    HandshakeRequest {
        headers: Arc::new(compact_headers(req.headers())),
        // Copied: hyper's URI is a slice of its read buffer too.
        uri: match uri.path_and_query() {
            Some(path) if uri.scheme().is_none() => {
                http::Uri::from_maybe_shared(Bytes::copy_from_slice(path.as_str().as_bytes()))
                    .unwrap_or_else(|_| uri.clone())
            }
            _ => uri.to_string().parse().unwrap_or_else(|_| uri.clone()),
        },
        remote_addr: req.extensions().get::<crate::RemoteAddr>().map(|a| a.0),
        secure: req.uri().scheme() == Some(&http::uri::Scheme::HTTPS),
        time: std::time::SystemTime::now(),
    }
}

/// A copy of `headers` that owns its bytes: hyper's values are slices of
/// its read buffer (8 KiB or more), which a clone would keep alive for as
/// long as the session. All values share one allocation here.
fn compact_headers(headers: &http::HeaderMap) -> http::HeaderMap {
    let total = headers.values().map(|v| v.len()).sum();
    let mut all = Vec::with_capacity(total);
    for v in headers.values() {
        all.extend_from_slice(v.as_bytes());
    }
    let all = Bytes::from(all);
    let mut out = http::HeaderMap::with_capacity(headers.len());
    let mut at = 0;
    for (name, v) in headers {
        let bytes = all.slice(at..at + v.len());
        at += v.len();
        // Re-validating bytes that were a valid value cannot fail.
        let mut value = http::HeaderValue::from_maybe_shared(bytes).unwrap_or_else(|_| v.clone());
        value.set_sensitive(v.is_sensitive());
        out.append(name.clone(), value);
    }
    out
}

pub(crate) fn empty(status: StatusCode) -> Response<EngineBody> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::new()))
        .expect("valid response")
}

#[cfg(test)]
mod query_tests {
    use super::Query;

    #[test]
    fn query_parameters() {
        let q = Query::parse("EIO=4&transport=polling&t=x=y&sid=abc&b64=1&flag");
        assert_eq!(
            (q.eio, q.transport, q.sid, q.b64),
            (Some("4"), Some("polling"), Some("abc"), true)
        );
        let q = Query::parse("sid=&b64=false&EIO=3&EIO=4&");
        assert_eq!((q.eio, q.sid, q.b64), (Some("4"), Some(""), false));
        let q = Query::parse("");
        assert_eq!((q.eio, q.transport, q.sid), (None, None, None));
        assert_eq!(Query::parse("transport").transport, Some(""));
    }
}
