//! What happens on one engine connection: decoding Socket.IO packets and
//! routing them to namespaces and sockets (the reference's `Client`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sio_proto::{Decoder, Frame, Packet, PacketType, Payload, Value};

use crate::engine::{CloseReason, EngineSocket};
use crate::io::IoInner;
use crate::socket::{Conn, DisconnectReason, Handshake, Socket};

/// The per-connection state the engine hands back with every message.
pub struct ClientConn {
    pub(crate) conn: Arc<Conn>,
    decoder: Mutex<Decoder>,
}

impl ClientConn {
    pub(crate) fn new(io: &Arc<IoInner>, engine: Arc<EngineSocket>) -> ClientConn {
        let conn = Arc::new(Conn {
            engine,
            parser: io.config.parser,
            sockets: Mutex::new(indexmap::IndexMap::new()),
            connect_timer: Mutex::new(None),
        });
        // Close connections that never join a namespace.
        let weak = Arc::downgrade(&conn);
        let timeout = io.config.connect_timeout;
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(conn) = weak.upgrade() {
                if conn.sockets_lock().is_empty() {
                    close(&conn, DisconnectReason::ForcedServerClose);
                }
            }
        });
        *conn.connect_timer.lock().unwrap_or_else(|e| e.into_inner()) = Some(timer.abort_handle());
        ClientConn {
            conn,
            decoder: Mutex::new(Decoder::new(io.config.parser)),
        }
    }
}

/// Closes the connection: every socket leaves with `reason`.
fn close(conn: &Arc<Conn>, reason: DisconnectReason) {
    conn.engine.close();
    let sockets: Vec<Arc<Socket>> = conn.sockets_lock().values().cloned().collect();
    for s in sockets {
        s.on_close(reason);
    }
}

pub(crate) fn on_message(io: &Arc<IoInner>, client: &ClientConn, frame: Frame) {
    let decoded = client
        .decoder
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .decode(frame);
    let packet = match decoded {
        Ok(Some(packet)) => packet,
        Ok(None) => return,
        Err(e) => {
            tracing::debug!(sid = %client.conn.engine.sid(), "closing on a malformed packet: {e}");
            // As the reference: the engine closes (`forced close`).
            client.conn.engine.close();
            return;
        }
    };
    let conn = &client.conn;
    let socket = conn.sockets_lock().get(packet.nsp.as_str()).cloned();
    match (socket, packet.kind) {
        (None, PacketType::Connect) => connect(io, conn, packet),
        (Some(socket), kind) if kind != PacketType::Connect && kind != PacketType::ConnectError => {
            socket.on_packet(packet)
        }
        _ => {
            tracing::debug!(sid = %conn.engine.sid(), nsp = %packet.nsp, "packet in an invalid state: closing");
            close(conn, DisconnectReason::ForcedServerClose);
        }
    }
}

pub(crate) fn on_close(client: &ClientConn, reason: CloseReason) {
    if let Some(timer) = client
        .conn
        .connect_timer
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        timer.abort();
    }
    let reason = match reason {
        CloseReason::TransportClose => DisconnectReason::TransportClose,
        CloseReason::TransportError => DisconnectReason::TransportError,
        CloseReason::ParseError => DisconnectReason::ParseError,
        CloseReason::PingTimeout => DisconnectReason::PingTimeout,
        CloseReason::ForcedClose => DisconnectReason::ForcedClose,
    };
    let sockets: Vec<Arc<Socket>> = client.conn.sockets_lock().values().cloned().collect();
    for s in sockets {
        s.on_close(reason);
    }
}

fn connect(io: &Arc<IoInner>, conn: &Arc<Conn>, packet: Packet) {
    let auth = match packet.data.map(Payload::into_value) {
        Some(Ok(v @ Value::Object(_))) => v,
        _ => Value::Object(Default::default()),
    };
    let Some(ns) = io.namespace_for(&packet.nsp, &auth) else {
        if let Ok(encoded) =
            conn.parser
                .encode_connect_error(&packet.nsp, "Invalid namespace", None::<&()>)
        {
            let _ = conn.send(&encoded, false);
        }
        return;
    };
    // Connection state recovery: `{pid, offset}` of a live session brings
    // back its id, rooms and data, and the events it missed (sent now,
    // before the CONNECT reply, as the reference does).
    let restored = ns.recovery.as_ref().and_then(|recovery| {
        let pid = auth.get("pid").and_then(Value::as_str)?;
        let offset = auth.get("offset").and_then(Value::as_str)?;
        recovery
            .restore(pid, offset)
            .map(|r| (recovery.config.skip_middlewares, r))
    });
    let handshake = handshake(&conn.engine, auth);
    match restored {
        Some((skip_middlewares, (session, missed))) => {
            let socket = Arc::new(Socket::new(
                session.sid.clone(),
                ns.clone(),
                conn.clone(),
                handshake,
                Some(session.pid),
                true,
                session.data,
            ));
            ns.adapter().add_all(&session.sid, &session.rooms);
            for encoded in &missed {
                let _ = conn.send(encoded, false);
            }
            if skip_middlewares {
                ns.do_connect(socket);
            } else {
                ns.add(socket);
            }
        }
        None => {
            let pid = ns.recovery.is_some().then(crate::engine::new_id);
            let socket = Arc::new(Socket::new(
                crate::engine::new_id(),
                ns.clone(),
                conn.clone(),
                handshake,
                pid,
                false,
                Value::Object(Default::default()),
            ));
            ns.add(socket);
        }
    }
}

fn handshake(engine: &EngineSocket, auth: Value) -> Handshake {
    let req = engine.handshake();
    let issued = req
        .time
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Handshake {
        headers: req.headers.clone(),
        time: js_date_string(issued / 1000),
        address: req.remote_addr,
        xdomain: req.headers.contains_key(http::header::ORIGIN),
        secure: req.secure,
        issued,
        url: req
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_else(|| req.uri.to_string()),
        query: parse_query(req.uri.query().unwrap_or("")),
        auth,
    }
}

/// `key=value&...` with `+` and `%XX` decoded, as Node's `querystring`.
pub(crate) fn parse_query(query: &str) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match u8::from_str_radix(
                        std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                        16,
                    ) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// JavaScript's `String(new Date(secs * 1000))` in UTC:
/// `Tue Jan 02 2024 10:00:00 GMT+0000 (Coordinated Universal Time)`.
pub(crate) fn js_date_string(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {:02} {} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_like_javascript() {
        assert_eq!(
            js_date_string(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(1_704_189_600),
            "Tue Jan 02 2024 10:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(951_782_400),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }

    #[test]
    fn query_decoding() {
        let q = parse_query("EIO=4&transport=polling&name=a+b%21&x");
        assert_eq!(q["name"], "a b!");
        assert_eq!(q["x"], "");
        assert_eq!(q["EIO"], "4");
    }
}
