//! [`Handshake`]: what a socket knows of the request that opened its
//! connection (`socket.handshake` in the reference).
//!
//! Every socket has one, and most servers never read most of it, so it
//! shares what it can: the headers are the engine session's copy (one per
//! connection, not one per socket more), the date string is made once per
//! second for every socket created in it, and the query is parsed on first
//! use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sio_proto::{Str, Value};

use crate::engine::EngineSocket;

/// The handshake details of a socket (`socket.handshake` in the reference).
///
/// ```
/// # fn demo(socket: std::sync::Arc<sio_server::Socket>) {
/// let handshake = socket.handshake();
/// let user_agent = handshake.headers.get("user-agent");
/// let room = handshake.query.get("room");
/// let token = handshake.auth["token"].as_str();
/// println!("{:?} {user_agent:?} {room:?} {token:?}", handshake.address);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The headers of the connection's first request (shared by the
    /// connection's sockets and its Engine.IO session).
    pub headers: Arc<http::HeaderMap>,
    /// When the socket was created, as JavaScript's `String(new Date())`.
    pub time: Str,
    /// The client's address, when known.
    pub address: Option<std::net::SocketAddr>,
    /// Whether the request had an `Origin` header.
    pub xdomain: bool,
    /// Whether the connection is TLS.
    pub secure: bool,
    /// When the socket was created, in milliseconds since the Unix epoch.
    pub issued: u64,
    /// The URL of the connection's first request (path and query).
    pub url: Str,
    /// The query parameters of that request.
    pub query: Query,
    /// The auth payload of the CONNECT packet (`{}` when none).
    pub auth: Value,
}

/// The query parameters of a request, read as Node's `querystring` does
/// (`+` and `%XX` decoded; the last of repeated keys wins), on first use: a
/// map of strings.
///
/// ```
/// use sio_server::Query;
/// let query = Query::new("EIO=4&room=a+b%21");
/// assert_eq!(query.get("room").map(String::as_str), Some("a b!"));
/// assert_eq!(query["EIO"], "4");
/// assert_eq!(query.as_str(), "EIO=4&room=a+b%21");
/// ```
#[derive(Clone, Default)]
pub struct Query {
    raw: Str,
    parsed: OnceLock<HashMap<String, String>>,
}

impl Query {
    /// The parameters of `query` (the part of a URL after `?`).
    pub fn new(query: impl Into<Str>) -> Query {
        Query {
            raw: query.into(),
            parsed: OnceLock::new(),
        }
    }

    /// The query as it arrived.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl std::ops::Deref for Query {
    type Target = HashMap<String, String>;
    fn deref(&self) -> &HashMap<String, String> {
        self.parsed.get_or_init(|| parse_query(&self.raw))
    }
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

/// The handshake of a socket joining a namespace over `engine` now.
pub(crate) fn of(engine: &EngineSocket, auth: Value) -> Handshake {
    let req = engine.handshake();
    let issued = req
        .time
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let url = match req.uri.path_and_query() {
        Some(p) => Str::from(p.as_str()),
        None => Str::from(req.uri.to_string()),
    };
    let query = match url.split_once('?') {
        Some((_, q)) => url.slice_ref(q),
        None => Str::new(),
    };
    Handshake {
        headers: req.headers.clone(),
        time: time_string(issued / 1000),
        address: req.remote_addr,
        xdomain: req.headers.contains_key(http::header::ORIGIN),
        secure: req.secure,
        issued,
        url,
        query: Query::new(query),
        auth,
    }
}

/// [`js_date_string`] of `secs`, shared by every socket of the same second.
fn time_string(secs: u64) -> Str {
    static LAST: Mutex<Option<(u64, Str)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    match &*last {
        Some((at, s)) if *at == secs => s.clone(),
        _ => {
            let s = Str::from(js_date_string(secs));
            *last = Some((secs, s.clone()));
            s
        }
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
        assert_eq!(time_string(0), js_date_string(0));
        assert_eq!(time_string(951_782_400), js_date_string(951_782_400));
    }

    #[test]
    fn query_decoding() {
        let q = parse_query("EIO=4&transport=polling&name=a+b%21&x");
        assert_eq!(q["name"], "a b!");
        assert_eq!(q["x"], "");
        assert_eq!(q["EIO"], "4");
        let lazy = Query::new("name=a+b%21");
        assert_eq!(lazy["name"], "a b!");
        assert_eq!(format!("{lazy:?}"), r#"{"name": "a b!"}"#);
    }
}
