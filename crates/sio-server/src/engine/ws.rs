//! The WebSocket transport: direct sessions, and the upgrade of polling
//! sessions (probe, then hand-over to the session driver).

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use sio_proto::engine::{HeartbeatAction, Packet, PacketType};
use sio_proto::{Frame, Str};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::socket::{Life, Upgrade};
use super::{handshake_of, CloseReason, Engine, EngineBody, EngineHandler, Session, TransportKind};

/// A server-side WebSocket over an upgraded hyper connection.
pub(crate) type WsStream = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Whether the request asks to switch to WebSocket.
pub(crate) fn is_websocket_upgrade<B>(req: &Request<B>) -> bool {
    let has_token = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has_token(header::CONNECTION, "upgrade") && has_token(header::UPGRADE, "websocket")
}

fn bad_request(message: &'static str) -> Response<EngineBody> {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header(header::CONTENT_TYPE, "text/html")
        .body(Full::new(bytes::Bytes::from_static(message.as_bytes())))
        .expect("valid response")
}

/// Answers the WebSocket handshake (101) and runs the socket in a task.
pub(crate) fn accept<H: EngineHandler, B>(
    engine: Arc<Engine<H>>,
    mut req: Request<B>,
    sid: Option<String>,
    base64_binary: bool,
) -> Response<EngineBody> {
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let version_ok = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let (Some(key), true) = (key, version_ok) else {
        return bad_request("Bad request");
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let handshake = handshake_of(&req);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let config = WebSocketConfig::default()
        .read_buffer_size(engine.config.ws_read_buffer_size)
        .write_buffer_size(0)
        .max_message_size(Some(engine.config.max_payload))
        .max_frame_size(Some(engine.config.max_payload));
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!("websocket upgrade failed: {e}");
                return;
            }
        };
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        match sid {
            None => {
                let session =
                    engine.open_session(TransportKind::WebSocket, handshake, base64_binary);
                let open = engine.open_packet(session.socket.sid(), TransportKind::WebSocket);
                // The open packet goes first, before anything the handler queued.
                session.socket.lock().outbox.push_front(open);
                drive(engine, session, ws).await
            }
            Some(sid) => probe(engine, sid, ws).await,
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Full::default())
        .expect("valid response")
}

/// The upgrade of a polling session: `2probe` → `3probe`, then `5`.
async fn probe<H: EngineHandler>(engine: Arc<Engine<H>>, sid: String, mut ws: WsStream) {
    let Some(session) = engine.sessions_lock().get(sid.as_str()).cloned() else {
        let _ = ws.close(None).await;
        return;
    };
    let socket = session.socket.clone();
    let may_upgrade = {
        let mut s = socket.lock();
        let ok = s.upgrade == Upgrade::None
            && s.transport == TransportKind::Polling
            && s.life == Life::Open;
        if ok {
            s.upgrade = Upgrade::Started;
        }
        ok
    };
    if !may_upgrade {
        let _ = ws.close(None).await;
        return;
    }
    let outcome = tokio::time::timeout(engine.config.upgrade_timeout, async {
        loop {
            let text = match ws.next().await {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return false,
            };
            // SAFETY: tungstenite validated the text frame as UTF-8.
            let text = unsafe { Str::from_utf8_unchecked(text.into()) };
            match Packet::decode_text(text) {
                Ok(p) if p.kind == PacketType::Ping && p.is_probe() => {
                    if ws.send(Message::text("3probe")).await.is_err() {
                        return false;
                    }
                    socket.lock().upgrade = Upgrade::Probing;
                    // A pending GET answers `6` so the client can pause polling.
                    socket.writer.notify_one();
                }
                Ok(p) if p.kind == PacketType::Upgrade => return true,
                _ => return false,
            }
        }
    })
    .await;
    let upgraded = {
        let mut s = socket.lock();
        if outcome == Ok(true) && s.life == Life::Open {
            s.transport = TransportKind::WebSocket;
            s.upgrade = Upgrade::Done;
            true
        } else {
            s.upgrade = Upgrade::None;
            false
        }
    };
    if upgraded {
        *session.ws_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(ws);
        socket.writer.notify_one();
        socket.driver.notify_one();
    } else {
        let _ = ws.close(None).await;
    }
}

fn to_message(packet: Packet, base64_binary: bool) -> Message {
    match packet.to_frame() {
        Frame::Binary(b) if base64_binary => {
            let text = format!("b{}", base64::engine::general_purpose::STANDARD.encode(&b));
            Message::text(text)
        }
        Frame::Binary(b) => Message::Binary(b),
        // SAFETY: a `Str` is valid UTF-8.
        Frame::Text(t) => Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(t.into_bytes()) }),
    }
}

/// Why the session ends, and the close code to tell the peer (if not normal).
type Ending = (CloseReason, Option<CloseCode>);

/// What one incoming WebSocket message means for the session.
fn on_incoming<H: EngineHandler>(
    engine: &Engine<H>,
    session: &Session<H>,
    msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Option<Ending> {
    let frame = match msg {
        Some(Ok(Message::Text(t))) => {
            // SAFETY: tungstenite validated the text frame as UTF-8.
            Frame::Text(unsafe { Str::from_utf8_unchecked(t.into()) })
        }
        Some(Ok(Message::Binary(b))) => Frame::Binary(b),
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return None,
        Some(Ok(Message::Close(_))) | None => return Some((CloseReason::TransportClose, None)),
        Some(Err(e)) => {
            tracing::debug!(sid = %session.socket.sid(), "websocket error: {e}");
            // A message over maxPayload: 1009, as the reference's `ws` says.
            let code = matches!(e, tokio_tungstenite::tungstenite::Error::Capacity(_))
                .then_some(CloseCode::Size);
            return Some((CloseReason::TransportError, code));
        }
    };
    let packet = match Packet::decode_frame(frame) {
        Ok(p) => p,
        Err(_) => return Some((CloseReason::ParseError, None)),
    };
    match packet.kind {
        PacketType::Message => {
            let data = packet.data.unwrap_or(Frame::Text(Str::new()));
            engine.handler.on_message(&session.conn, data);
            None
        }
        PacketType::Pong => {
            session.socket.lock().heartbeat.on_pong(Instant::now());
            None
        }
        PacketType::Close => Some((CloseReason::TransportClose, None)),
        // In v4 only the server pings.
        PacketType::Ping => Some((CloseReason::TransportError, None)),
        PacketType::Open | PacketType::Upgrade | PacketType::Noop => None,
    }
}

/// The driver of a session on WebSocket: writes the outbox, reads the
/// socket, runs the heartbeat; tears the session down when it ends.
pub(crate) async fn drive<H: EngineHandler>(
    engine: Arc<Engine<H>>,
    session: Arc<Session<H>>,
    mut ws: WsStream,
) {
    let socket = session.socket.clone();
    let base64_binary = socket.base64_binary;
    let mut close_code = None;
    let reason = 'session: loop {
        let notified = socket.writer.notified();
        let (batch, life, deadline) = {
            let mut s = socket.lock();
            let batch: Vec<Packet> = s.outbox.drain(..).collect();
            (batch, s.life, s.heartbeat.deadline())
        };
        if !batch.is_empty() {
            for packet in batch {
                if ws.feed(to_message(packet, base64_binary)).await.is_err() {
                    break 'session CloseReason::TransportError;
                }
            }
            if ws.flush().await.is_err() {
                break 'session CloseReason::TransportError;
            }
        }
        match life {
            Life::Open => {}
            Life::Closing(reason) | Life::Closed(reason) => break reason,
        }
        tokio::select! {
            _ = notified => {}
            msg = ws.next() => {
                if let Some((reason, code)) = on_incoming(&engine, &session, msg) {
                    close_code = code;
                    break reason;
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                let action = socket.lock().heartbeat.on_timeout(Instant::now());
                match action {
                    HeartbeatAction::SendPing => socket.send_control(Packet::ping()),
                    HeartbeatAction::TimedOut => break CloseReason::PingTimeout,
                    HeartbeatAction::Wait => {}
                }
            }
        }
    };
    {
        let mut s = socket.lock();
        if matches!(s.life, Life::Open | Life::Closing(_)) {
            s.life = Life::Closed(reason);
        }
    }
    let frame = close_code.map(|code| CloseFrame {
        code,
        reason: Utf8Bytes::from_static(""),
    });
    let _ = ws.close(frame).await;
    engine.finish(&session, reason);
}
