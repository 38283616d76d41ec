//! HTTP long-polling: GET waits for packets, POST delivers them.
//!
//! At most one GET and one POST per session at a time; a second one is a
//! protocol violation that closes the session (`transport error`) and gets
//! HTTP 400, as in the reference. A GET stays open until there is something
//! to send (the heartbeat guarantees a ping within `pingInterval`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Buf;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use sio_proto::engine::{decode_payload, encode_payload, HeartbeatAction, Packet, PacketType};
use sio_proto::{Frame, Str};

use super::socket::{Life, Upgrade};
use super::{
    empty, CloseReason, Engine, EngineBody, EngineErrorCode, EngineHandler, EngineSocket, Refusal,
    Session,
};

/// A polling response carrying a payload.
pub(crate) fn payload_response(body: Bytes) -> Response<EngineBody> {
    const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=UTF-8");
    ok_response(body, TEXT_PLAIN)
}

/// 200 with `body` of `content_type`, not to be cached. Built in place
/// (the builder converts and checks each name and value at run time).
fn ok_response(body: Bytes, content_type: HeaderValue) -> Response<EngineBody> {
    const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
    let mut res = Response::new(Full::new(body));
    let headers = res.headers_mut();
    headers.reserve(4);
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CACHE_CONTROL, NO_STORE);
    res
}

/// Clears a pending-request flag however the request ends (answered, or
/// dropped because the client went away).
struct Pending<'a> {
    socket: &'a EngineSocket,
    get: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let mut s = self.socket.lock();
        if self.get {
            s.get_pending = false;
        } else {
            s.post_pending = false;
        }
    }
}

/// Closes the session when a waiting GET is dropped unanswered: the client
/// closed the connection under it (hyper drops the request), which the
/// reference takes as "poll connection closed prematurely" (a transport
/// error) instead of waiting for the heartbeat to time out.
struct Abandoned<'a> {
    socket: &'a EngineSocket,
    armed: bool,
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if self.armed {
            let open = {
                let s = self.socket.lock();
                s.life == Life::Open && s.transport == crate::engine::TransportKind::Polling
            };
            if open {
                self.socket.close_with(CloseReason::TransportError, false);
            }
        }
    }
}

/// GET: answers with everything queued, waiting until there is something.
pub(crate) async fn get<H: EngineHandler>(session: &Arc<Session<H>>) -> Response<EngineBody> {
    let mut abandoned = Abandoned {
        socket: &session.socket,
        armed: true,
    };
    let response = answer_get(session).await;
    abandoned.armed = false;
    response
}

async fn answer_get<H: EngineHandler>(session: &Arc<Session<H>>) -> Response<EngineBody> {
    let socket = &*session.socket;
    {
        let mut s = socket.lock();
        if s.get_pending {
            drop(s);
            // The pending GET answers `1` as the session closes.
            socket.close_with(CloseReason::TransportError, false);
            return empty(StatusCode::BAD_REQUEST);
        }
        s.get_pending = true;
    }
    let _pending = Pending { socket, get: true };
    // While an upgrade probe is in progress, a waiting GET is released with a
    // noop on a 100 ms tick, as the reference does: the client's `5` usually
    // arrives first, and then this GET is refused like any polling request
    // after an upgrade.
    let mut release_at: Option<tokio::time::Instant> = None;
    // Whether this GET was waiting while the session was open.
    let mut waited = false;
    loop {
        let notified = socket.writer.notified();
        {
            let mut s = socket.lock();
            match s.life {
                _ if s.close_delivered => {
                    return Refusal::from(EngineErrorCode::UnknownSid).response()
                }
                // Closed by the client (a close packet, a protocol error):
                // the reference drops the session at once, so a request
                // that comes after is for an unknown session, even if this
                // session's driver has not finished tearing it down yet.
                Life::Closed(
                    CloseReason::TransportClose
                    | CloseReason::TransportError
                    | CloseReason::ParseError,
                ) if !waited => {
                    s.close_delivered = true;
                    return Refusal::from(EngineErrorCode::UnknownSid).response();
                }
                // The client asked to close: its pending poll gets a noop.
                Life::Closed(CloseReason::TransportClose) => {
                    s.close_delivered = true;
                    return payload_response(encode_payload(&[Packet::noop()]));
                }
                Life::Closed(_) => {
                    // What was queued before the close still goes out.
                    let mut packets: Vec<Packet> = s.outbox.drain(..).collect();
                    packets.push(Packet::close());
                    s.close_delivered = true;
                    return payload_response(encode_payload(&packets));
                }
                Life::Closing(_) if !s.outbox.is_empty() => {
                    // As the reference: the queued packets first, in a
                    // response of their own (the client handles a close at
                    // once but packets a tick later); the close comes with
                    // the next GET.
                    let packets: Vec<Packet> = s.outbox.drain(..).collect();
                    return payload_response(encode_payload(&packets));
                }
                Life::Closing(reason) => {
                    // A GET that was waiting gets `1`; one that came after
                    // the close began gets `6` then `1`, as the reference.
                    let packets: &[Packet] = if waited {
                        &[Packet::close()]
                    } else {
                        &[Packet::noop(), Packet::close()]
                    };
                    s.life = Life::Closed(reason);
                    s.close_delivered = true;
                    drop(s);
                    socket.driver.notify_one();
                    return payload_response(encode_payload(packets));
                }
                Life::Open => {
                    waited = true;
                    if !s.outbox.is_empty() {
                        // Encoded in place: the packets need not move first.
                        let body = encode_payload(&s.outbox);
                        s.outbox.clear();
                        return payload_response(body);
                    }
                    match s.upgrade {
                        Upgrade::Done => {
                            return Refusal::from(EngineErrorCode::BadRequest).response()
                        }
                        Upgrade::Probing => {
                            let at = *release_at.get_or_insert_with(|| {
                                tokio::time::Instant::now() + Duration::from_millis(100)
                            });
                            if tokio::time::Instant::now() >= at {
                                // Release the poll so the client can finish upgrading.
                                return payload_response(encode_payload(&[Packet::noop()]));
                            }
                        }
                        Upgrade::None | Upgrade::Started => {}
                    }
                }
            }
        }
        match release_at {
            Some(at) => {
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep_until(at) => {}
                }
            }
            None => notified.await,
        }
    }
}

/// POST: decodes the payload and hands each packet to the session.
pub(crate) async fn post<H, B>(
    engine: &Arc<Engine<H>>,
    session: &Arc<Session<H>>,
    req: Request<B>,
) -> Response<EngineBody>
where
    H: EngineHandler,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let socket = &*session.socket;
    let octet_stream = req.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .eq_ignore_ascii_case(b"application/octet-stream")
    });
    if octet_stream {
        // Binary payloads are EIO=3 only.
        socket.close_with(CloseReason::TransportError, false);
        return empty(StatusCode::BAD_REQUEST);
    }
    {
        let mut s = socket.lock();
        if s.post_pending {
            drop(s);
            socket.close_with(CloseReason::TransportError, false);
            return empty(StatusCode::BAD_REQUEST);
        }
        s.post_pending = true;
    }
    let _pending = Pending { socket, get: false };
    let body = match read_body(req.into_body(), engine.config.max_payload).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            // Too large: refused, but the session lives on.
            return empty(StatusCode::PAYLOAD_TOO_LARGE);
        }
        Err(BodyError::Failed) => {
            socket.close_with(CloseReason::TransportError, false);
            return empty(StatusCode::BAD_REQUEST);
        }
    };
    let Ok(text) = Str::from_utf8(body) else {
        socket.close_with(CloseReason::ParseError, false);
        return empty(StatusCode::BAD_REQUEST);
    };
    for packet in decode_payload(text) {
        let Ok(packet) = packet else {
            socket.close_with(CloseReason::ParseError, false);
            return empty(StatusCode::BAD_REQUEST);
        };
        if !socket.is_open() {
            break;
        }
        match packet.kind {
            PacketType::Message => {
                let data = packet.data.unwrap_or(Frame::Text(Str::new()));
                engine.handler.on_message(&session.conn, data);
            }
            PacketType::Pong => socket.lock().heartbeat.on_pong(Instant::now()),
            PacketType::Close => {
                socket.close_with(CloseReason::TransportClose, false);
                break;
            }
            PacketType::Ping => {
                // In v4 only the server pings.
                socket.close_with(CloseReason::TransportError, false);
                return empty(StatusCode::BAD_REQUEST);
            }
            PacketType::Open | PacketType::Upgrade | PacketType::Noop => {}
        }
    }
    const TEXT_HTML: HeaderValue = HeaderValue::from_static("text/html");
    ok_response(Bytes::from_static(b"ok"), TEXT_HTML)
}

/// Why a request body could not be read.
enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// The body failed (the connection broke).
    Failed,
}

/// The whole body, at most `limit` bytes. A body that comes in one piece
/// (most POSTs) is that piece, not a copy; nor is a list of pieces kept.
async fn read_body<B: http_body::Body>(body: B, limit: usize) -> Result<Bytes, BodyError> {
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    // Once a second piece comes: everything so far, the first included.
    let mut joined: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(mut data) = frame.map_err(|_| BodyError::Failed)?.into_data() else {
            continue; // trailers
        };
        let len = data.remaining();
        let had = match (&first, joined.len()) {
            (Some(f), 0) => f.len(),
            (_, n) => n,
        };
        if had + len > limit {
            return Err(BodyError::TooLarge);
        }
        match &first {
            None => first = Some(data.copy_to_bytes(len)),
            Some(f) => {
                if joined.is_empty() {
                    joined.extend_from_slice(f);
                }
                while data.has_remaining() {
                    let n = data.chunk().len();
                    joined.extend_from_slice(data.chunk());
                    data.advance(n);
                }
            }
        }
    }
    Ok(match first {
        Some(_) if !joined.is_empty() => Bytes::from(joined),
        first => first.unwrap_or_default(),
    })
}

/// The driver of a session while it is on polling: heartbeat, the close
/// timeout, and the hand-over to WebSocket after an upgrade.
pub(crate) async fn drive<H: EngineHandler>(engine: Arc<Engine<H>>, session: Arc<Session<H>>) {
    let socket = session.socket.clone();
    let mut closing_since: Option<Instant> = None;
    let reason = loop {
        let notified = socket.driver.notified();
        let (deadline, life, upgraded) = {
            let s = socket.lock();
            (s.heartbeat.deadline(), s.life, s.upgrade == Upgrade::Done)
        };
        if upgraded {
            let ws = session
                .ws_slot
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(ws) = ws {
                return super::ws::drive(engine, session, *ws).await;
            }
        }
        let deadline = match life {
            Life::Closed(reason) => break reason,
            Life::Closing(_) => {
                // Wait for the client to fetch its last packets, not forever.
                let since = *closing_since.get_or_insert_with(Instant::now);
                since + engine.config.close_timeout
            }
            Life::Open => deadline,
        };
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline.into()) => {
                if closing_since.is_some() {
                    if Instant::now() >= deadline {
                        let mut s = socket.lock();
                        if let Life::Closing(reason) = s.life {
                            s.life = Life::Closed(reason);
                        }
                    }
                    continue;
                }
                let action = socket.lock().heartbeat.on_timeout(Instant::now());
                match action {
                    HeartbeatAction::SendPing => socket.send_control(Packet::ping()),
                    HeartbeatAction::TimedOut => socket.close_with(CloseReason::PingTimeout, false),
                    HeartbeatAction::Wait => {}
                }
            }
        }
    };
    // A pending GET must answer now.
    socket.writer.notify_one();
    engine.finish(&session, reason);
}
