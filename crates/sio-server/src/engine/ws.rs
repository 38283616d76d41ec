//! The WebSocket transport: direct sessions, and the upgrade of polling
//! sessions (probe, then hand-over to the session driver).

use std::sync::Arc;
use std::time::Instant;

use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use sio_proto::engine::{HeartbeatAction, Packet, PacketType};
use sio_proto::{Frame, Str};

use super::socket::{Life, ReadBatch, Upgrade};
use super::ws_conn::{WsConn, WsError, WsIo};
use super::{handshake_of, CloseReason, Engine, EngineBody, EngineHandler, Session, TransportKind};

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
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!("websocket upgrade failed: {e}");
                return;
            }
        };
        let (io, early) = WsIo::from_upgraded(upgraded);
        let config = &engine.config;
        let ws = WsConn::new(io, &early, config.max_payload, config.ws_read_buffer_size);
        drop(early);
        match sid {
            None => {
                let session =
                    engine.open_session(TransportKind::WebSocket, handshake, base64_binary);
                let open = engine.open_packet(session.socket.sid(), TransportKind::WebSocket);
                // The open packet goes first, before anything the handler queued.
                session.socket.lock().outbox.push_front(open);
                drive(engine, session, ws).await
            }
            // Boxed: an upgrade is rare next to a direct connection, and
            // its state would make every connection's task bigger.
            Some(sid) => Box::pin(probe(engine, sid, ws)).await,
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
async fn probe<H: EngineHandler>(engine: Arc<Engine<H>>, sid: String, mut ws: WsConn) {
    let Some(session) = engine.sessions_lock().get(sid.as_str()).cloned() else {
        ws.close(None).await;
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
        ws.close(None).await;
        return;
    }
    let outcome = tokio::time::timeout(engine.config.upgrade_timeout, async {
        loop {
            let text = match ws.next_frame().await {
                Ok(Frame::Text(t)) => t,
                _ => return false,
            };
            match Packet::decode_text(text) {
                Ok(p) if p.kind == PacketType::Ping && p.is_probe() => {
                    if ws.send(None, [&Packet::pong_probe()], false).await.is_err() {
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
        *session.ws_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(ws));
        socket.writer.notify_one();
        socket.driver.notify_one();
    } else {
        ws.close(None).await;
    }
}

/// Why the session ends, and the close code to tell the peer (if not normal).
type Ending = (CloseReason, Option<u16>);

/// Why reading ended, as the session sees it.
fn ending_of(e: WsError, sid: &str) -> Ending {
    match e {
        WsError::Eof | WsError::Closed => (CloseReason::TransportClose, None),
        WsError::Io(e) => {
            tracing::debug!(sid, "websocket error: {e}");
            (CloseReason::TransportError, None)
        }
        // A message over maxPayload: 1009, as the reference's `ws` says.
        WsError::TooLarge => (CloseReason::TransportError, Some(1009)),
        WsError::Protocol(code) => (CloseReason::TransportError, Some(code)),
    }
}

/// What one incoming WebSocket message means for the session.
fn on_incoming<H: EngineHandler>(
    engine: &Engine<H>,
    session: &Session<H>,
    frame: Frame,
) -> Option<Ending> {
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
    mut ws: WsConn,
) {
    let socket = session.socket.clone();
    let base64_binary = socket.base64_binary;
    let mut close_code = None;
    // The outbox is swapped with this one (empty).
    let mut batch = std::collections::VecDeque::new();
    let mut armed = {
        let mut s = socket.lock();
        // Direct writes frame binary as is: not for `b64=1` clients.
        s.direct = ws.tcp().filter(|_| !base64_binary).cloned();
        s.heartbeat.deadline()
    };
    let sleep = tokio::time::sleep_until(armed.into());
    tokio::pin!(sleep);
    let reason = 'session: loop {
        let notified = socket.writer.notified();
        let (life, deadline, leftover) = {
            let mut s = socket.lock();
            std::mem::swap(&mut s.outbox, &mut batch);
            let leftover = s.leftover.take();
            // Senders queue behind what this task writes now.
            s.writing = !batch.is_empty() || leftover.is_some() || ws.has_output();
            (s.life, s.heartbeat.deadline(), leftover)
        };
        if !batch.is_empty() || leftover.is_some() {
            // Boxed: rare now (senders write directly), and its state would
            // otherwise make every idle connection's task bigger.
            let sent = Box::pin(ws.send(leftover.as_deref(), batch.iter(), base64_binary)).await;
            if sent.is_err() {
                break 'session CloseReason::TransportError;
            }
            // Given back: an idle connection keeps no buffer.
            super::socket::recycle_outbox(std::mem::take(&mut batch));
        }
        if ws.has_output() && Box::pin(ws.flush()).await.is_err() {
            break 'session CloseReason::TransportError;
        }
        {
            let mut s = socket.lock();
            if s.writing {
                s.writing = false;
                // Queued while this task was writing: go round again.
                if !s.outbox.is_empty() || s.leftover.is_some() {
                    continue;
                }
            }
        }
        match life {
            Life::Open => {}
            Life::Closing(reason) | Life::Closed(reason) => break reason,
        }
        if deadline != armed {
            armed = deadline;
            sleep.as_mut().reset(deadline.into());
        }
        tokio::select! {
            _ = notified => {}
            r = batched(ws.read_with(|frame| {
                ReadBatch::begin();
                on_incoming(&engine, &session, frame)
            })) => {
                let ending = match r {
                    Ok(None) => continue,
                    Ok(Some(ending)) => ending,
                    Err(e) => ending_of(e, socket.sid()),
                };
                close_code = ending.1;
                break ending.0;
            }
            _ = &mut sleep => {
                let action = socket.lock().heartbeat.on_timeout(Instant::now());
                match action {
                    HeartbeatAction::SendPing => socket.send_control(Packet::ping()),
                    HeartbeatAction::TimedOut => break CloseReason::PingTimeout,
                    HeartbeatAction::Wait => {}
                }
                // Re-arm, even if the deadline did not move.
                armed = socket.lock().heartbeat.deadline();
                sleep.as_mut().reset(armed.into());
            }
        }
    };
    {
        let mut s = socket.lock();
        if matches!(s.life, Life::Open | Life::Closing(_)) {
            s.life = Life::Closed(reason);
        }
        s.direct = None;
    }
    Box::pin(ws.close(close_code)).await;
    engine.finish(&session, reason);
}

/// Polls a read whose frames open a [`ReadBatch`], and ends the batch after
/// EVERY poll, ready or not: what the handlers sent for the frames of one
/// read goes out together, and a batch never outlives the poll that began
/// it (a read that is pending after some frames, or dropped by `select!`,
/// must not keep other tasks' sends on this thread waiting).
async fn batched<F: std::future::Future>(read: F) -> F::Output {
    let mut read = std::pin::pin!(read);
    std::future::poll_fn(|cx| {
        let polled = read.as_mut().poll(cx);
        ReadBatch::end();
        polled
    })
    .await
}
