//! The messages of @socket.io/redis-adapter 8, byte for byte.
//!
//! Two encodings travel on the channels, as in the reference:
//!
//! - msgpack as the npm `notepack.io` writes it ([`encode`] / [`decode`]):
//!   broadcasts, and the BROADCAST (7) and BROADCAST_ACK (9) request and
//!   response. notepack has its own choices, matched here: integers in the
//!   smallest form (integral floats included, since JavaScript has one
//!   number type), other floats as float 64, strings as fixstr/str 8/16/32,
//!   buffers as bin 8/16/32, `undefined` as nil.
//! - JSON (`JSON.stringify`) for every other request and response. A
//!   receiver tells them apart by the first byte (`{` is JSON).
//!
//! Every message type is a variant of [`Request`] or [`Response`] with an
//! `encode` that writes the reference's keys in the reference's order, and
//! a `decode` that accepts what the reference (and its emitter) sends.
//! Decoding is bounded: lengths are checked against the input before
//! anything is allocated, and nesting is limited to [`MAX_DEPTH`].

use bytes::Bytes;
use sio_proto::{Map, Number, Value};
use sio_server::adapter::{BroadcastOptions, Room};
use sio_server::cluster::{BroadcastFlags, SocketInfo};
use std::time::Duration;

/// The deepest nesting of arrays and maps [`decode`] accepts.
pub const MAX_DEPTH: usize = 128;

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Invalid or truncated msgpack.
    #[error("invalid msgpack: {0}")]
    Msgpack(String),
    /// Invalid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Well-formed, but not a message of the adapter.
    #[error("unexpected message: {0}")]
    Shape(String),
}

/// The request types of the adapter (its `RequestType` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RequestType {
    /// `sockets(rooms)`: the socket ids of every node.
    Sockets = 0,
    /// `allRooms()`.
    AllRooms = 1,
    /// `socketsJoin`.
    RemoteJoin = 2,
    /// `socketsLeave`.
    RemoteLeave = 3,
    /// `disconnectSockets`.
    RemoteDisconnect = 4,
    /// `fetchSockets`.
    RemoteFetch = 5,
    /// `serverSideEmit`.
    ServerSideEmit = 6,
    /// A broadcast with acks.
    Broadcast = 7,
    /// The reply to 7: how many clients a node sent it to.
    BroadcastClientCount = 8,
    /// The reply to 7: one client's ack.
    BroadcastAck = 9,
}

impl RequestType {
    fn from_value(v: Option<&Value>) -> Option<RequestType> {
        Some(match v?.as_u64()? {
            0 => RequestType::Sockets,
            1 => RequestType::AllRooms,
            2 => RequestType::RemoteJoin,
            3 => RequestType::RemoteLeave,
            4 => RequestType::RemoteDisconnect,
            5 => RequestType::RemoteFetch,
            6 => RequestType::ServerSideEmit,
            7 => RequestType::Broadcast,
            8 => RequestType::BroadcastClientCount,
            9 => RequestType::BroadcastAck,
            _ => return None,
        })
    }

    fn value(self) -> Value {
        Value::from(self as u8)
    }
}

// ---- notepack ---------------------------------------------------------

/// Encodes `value` as notepack.io does.
///
/// ```
/// use sio_proto::Value;
/// assert_eq!(sio_redis::codec::encode(&Value::from(1.0)), [0x01]);
/// assert_eq!(sio_redis::codec::encode(&Value::from(-33)), [0xd0, 0xdf]);
/// assert_eq!(sio_redis::codec::encode(&Value::from("a")), [0xa1, b'a']);
/// ```
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write(&mut out, value);
    out
}

fn write_len(out: &mut Vec<u8>, len: usize, fix: Option<(u8, usize)>, tags: [u8; 3]) {
    match fix {
        Some((base, max)) if len < max => out.push(base | len as u8),
        _ if len < 0x100 && tags[0] != 0 => out.extend_from_slice(&[tags[0], len as u8]),
        _ if len < 0x10000 => {
            out.push(tags[1]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(tags[2]);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    write_len(out, s.len(), Some((0xa0, 0x20)), [0xd9, 0xda, 0xdb]);
    out.extend_from_slice(s.as_bytes());
}

fn write_int(out: &mut Vec<u8>, i: i128) {
    if i >= 0 {
        if i < 0x80 {
            out.push(i as u8);
        } else if i < 0x100 {
            out.extend_from_slice(&[0xcc, i as u8]);
        } else if i < 0x10000 {
            out.push(0xcd);
            out.extend_from_slice(&(i as u16).to_be_bytes());
        } else if i < 0x1_0000_0000 {
            out.push(0xce);
            out.extend_from_slice(&(i as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(i as u64).to_be_bytes());
        }
    } else if i >= -0x20 {
        out.push(i as i8 as u8);
    } else if i >= -0x80 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -0x8000 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -0x8000_0000 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&(i as i64).to_be_bytes());
    }
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(u) = n.as_u64().filter(|_| !n.is_f64()) {
        return write_int(out, u as i128);
    }
    if let Some(i) = n.as_i64().filter(|_| !n.is_f64()) {
        return write_int(out, i as i128);
    }
    let f = n.as_f64();
    // JavaScript has one number type: notepack writes an integral float as
    // an integer. Beyond 64 bits it writes a wrapped, wrong integer; there
    // a float 64 is written instead (notepack reads it correctly).
    if f.fract() == 0.0 && (-9.223372036854776e18..1.8446744073709552e19).contains(&f) {
        return write_int(out, f as i128);
    }
    out.push(0xcb);
    out.extend_from_slice(&f.to_be_bytes());
}

fn write(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => {
            write_len(out, b.len(), None, [0xc4, 0xc5, 0xc6]);
            out.extend_from_slice(b);
        }
        Value::Array(a) => {
            write_len(out, a.len(), Some((0x90, 0x10)), [0, 0xdc, 0xdd]);
            for v in a {
                write(out, v);
            }
        }
        Value::Object(m) => {
            write_len(out, m.len(), Some((0x80, 0x10)), [0, 0xde, 0xdf]);
            for (k, v) in m {
                write_str(out, k);
                write(out, v);
            }
        }
    }
}

/// Decodes notepack.io msgpack (any msgpack without extension types but
/// notepack's `undefined`, read as null, and its dates, read as
/// milliseconds since the epoch).
///
/// ```
/// let v = sio_redis::codec::decode(&[0x92, 0xa1, b'a', 0xc4, 0x01, 0x07]).unwrap();
/// assert_eq!(v[0].as_str(), Some("a"));
/// assert_eq!(v[1].as_bytes().unwrap().as_ref(), [7]);
/// assert!(sio_redis::codec::decode(&[0x92, 0xa1]).is_err());
/// ```
pub fn decode(bytes: &[u8]) -> Result<Value, CodecError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let v = r.value(0)?;
    if r.pos != bytes.len() {
        return Err(CodecError::Msgpack("trailing bytes".into()));
    }
    Ok(v)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| CodecError::Msgpack("truncated".into()))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, CodecError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn str(&mut self, len: usize) -> Result<Value, CodecError> {
        let raw = self.take(len)?;
        std::str::from_utf8(raw)
            .map(|s| Value::String(s.to_owned()))
            .map_err(|_| CodecError::Msgpack("invalid UTF-8 in a string".into()))
    }

    fn array(&mut self, len: usize, depth: usize) -> Result<Value, CodecError> {
        // Each element takes at least one byte: a length beyond the input is a lie.
        if len > self.buf.len() - self.pos {
            return Err(CodecError::Msgpack("truncated".into()));
        }
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(out))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, CodecError> {
        if len > (self.buf.len() - self.pos) / 2 {
            return Err(CodecError::Msgpack("truncated".into()));
        }
        let mut out = Map::with_capacity(len);
        for _ in 0..len {
            let key = match self.value(depth + 1)? {
                Value::String(s) => s,
                // JavaScript object keys are strings.
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(CodecError::Msgpack(format!(
                        "map key of type {}",
                        other.kind()
                    )))
                }
            };
            let v = self.value(depth + 1)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }

    fn ext(&mut self, len: usize) -> Result<Value, CodecError> {
        let kind = self.take(1)?[0] as i8;
        let data = self.take(len)?;
        match (kind, len) {
            (0, 1) => Ok(Value::Null), // notepack's undefined
            (-1, 4) => {
                let s = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                Ok(Value::from(u64::from(s) * 1000))
            }
            (-1, 8) => {
                let raw = u64::from_be_bytes(data.try_into().unwrap_or([0; 8]));
                let ns = raw >> 34;
                let s = raw & 0x3_ffff_ffff;
                Ok(Value::from(s * 1000 + ns / 1_000_000))
            }
            _ => Err(CodecError::Msgpack(format!(
                "unsupported extension type {kind}"
            ))),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::Msgpack("nested too deeply".into()));
        }
        let b = self.take(1)?[0];
        Ok(match b {
            0x00..=0x7f => Value::from(b),
            0x80..=0x8f => self.map(usize::from(b & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(b & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(b & 0x1f))?,
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = self.uint(1 << (b - 0xc4))? as usize;
                Value::Bytes(Bytes::copy_from_slice(self.take(n)?))
            }
            0xc7..=0xc9 => {
                let n = self.uint(1 << (b - 0xc7))? as usize;
                self.ext(n)?
            }
            0xca => {
                let f = f32::from_bits(self.uint(4)? as u32);
                float(f64::from(f))
            }
            0xcb => float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => Value::from(self.uint(1 << (b - 0xcc))?),
            0xd0 => Value::from(self.uint(1)? as u8 as i8),
            0xd1 => Value::from(self.uint(2)? as u16 as i16),
            0xd2 => Value::from(self.uint(4)? as u32 as i32),
            0xd3 => Value::from(self.uint(8)? as i64),
            0xd4..=0xd8 => self.ext(1 << (b - 0xd4))?,
            0xd9..=0xdb => {
                let n = self.uint(1 << (b - 0xd9))? as usize;
                self.str(n)?
            }
            0xdc | 0xdd => {
                let n = self.uint(if b == 0xdc { 2 } else { 4 })? as usize;
                self.array(n, depth)?
            }
            0xde | 0xdf => {
                let n = self.uint(if b == 0xde { 2 } else { 4 })? as usize;
                self.map(n, depth)?
            }
            0xe0..=0xff => Value::from(b as i8),
            0xc1 => return Err(CodecError::Msgpack("reserved byte 0xc1".into())),
        })
    }
}

/// NaN and infinities have no `Value`: read as null, as JSON would.
fn float(f: f64) -> Value {
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

// ---- JSON -------------------------------------------------------------

/// `JSON.stringify`: byte buffers become Node's `{"type":"Buffer","data":[...]}`.
fn to_json(value: &Value) -> Vec<u8> {
    fn nodeify(v: &Value) -> Value {
        match v {
            Value::Bytes(b) => obj([
                ("type", Value::from("Buffer")),
                (
                    "data",
                    Value::Array(b.iter().map(|&x| Value::from(x)).collect()),
                ),
            ]),
            Value::Array(a) => Value::Array(a.iter().map(nodeify).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), nodeify(v))).collect())
            }
            other => other.clone(),
        }
    }
    let mut out = Vec::new();
    let mut attachments = Vec::new();
    // Infallible for a Value without buffers.
    let _ = sio_proto::json::to_writer(&mut out, &nodeify(value), &mut attachments);
    out
}

fn from_json(bytes: &[u8]) -> Result<Value, CodecError> {
    let text = std::str::from_utf8(bytes).map_err(|e| CodecError::Json(e.to_string()))?;
    sio_proto::json::from_str_lossy(text).map_err(|e| CodecError::Json(e.to_string()))
}

/// Reads a request or response body: JSON if it starts with `{`, msgpack otherwise.
pub fn decode_body(bytes: &[u8]) -> Result<Value, CodecError> {
    if bytes.first() == Some(&b'{') {
        from_json(bytes)
    } else {
        decode(bytes)
    }
}

// ---- message shapes ---------------------------------------------------

fn obj<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn strings(list: &[Room]) -> Value {
    Value::Array(list.iter().map(|r| Value::from(r.as_str())).collect())
}

/// A room name from the wire: strings as they are, numbers (JavaScript
/// rooms can be any value) as their text.
fn rooms_of(v: Option<&Value>) -> Vec<Room> {
    let Some(Value::Array(a)) = v else {
        return Vec::new();
    };
    a.iter()
        .filter_map(|r| match r {
            Value::String(s) => Some(Room::from(s.as_str())),
            Value::Number(n) => Some(Room::from(n.to_string())),
            _ => None,
        })
        .collect()
}

fn opts_value(opts: &BroadcastOptions) -> Value {
    obj([
        ("rooms", strings(&opts.rooms)),
        ("except", strings(&opts.except)),
    ])
}

fn opts_of(v: Option<&Value>) -> BroadcastOptions {
    BroadcastOptions {
        rooms: rooms_of(v.and_then(|o| o.get("rooms"))),
        except: rooms_of(v.and_then(|o| o.get("except"))),
    }
}

fn flags_value(flags: &BroadcastFlags) -> Value {
    let mut m = Map::new();
    if flags.volatile {
        m.insert("volatile".into(), Value::Bool(true));
    }
    if let Some(c) = flags.compress {
        m.insert("compress".into(), Value::Bool(c));
    }
    if flags.local {
        m.insert("local".into(), Value::Bool(true));
    }
    if let Some(t) = flags.timeout {
        m.insert("timeout".into(), Value::from(t.as_millis() as u64));
    }
    Value::Object(m)
}

fn flags_of(v: Option<&Value>) -> BroadcastFlags {
    let get = |k: &str| v.and_then(|f| f.get(k));
    BroadcastFlags {
        volatile: get("volatile").and_then(Value::as_bool).unwrap_or(false),
        compress: get("compress").and_then(Value::as_bool),
        local: get("local").and_then(Value::as_bool).unwrap_or(false),
        timeout: get("timeout")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map(|t| Duration::from_millis(t as u64)),
    }
}

fn packet_value(nsp: &str, data: &[Value]) -> Value {
    obj([
        ("type", Value::from(2u8)),
        ("data", Value::Array(data.to_vec())),
        ("nsp", Value::from(nsp)),
    ])
}

/// `(nsp, [event, ...args])` of a packet object; `nsp` defaults to `/`.
fn packet_of(v: Option<&Value>) -> Result<(String, Vec<Value>), CodecError> {
    let p = v.ok_or_else(|| CodecError::Shape("no packet".into()))?;
    let nsp = p
        .get("nsp")
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_owned();
    match p.get("data") {
        Some(Value::Array(a)) if a.first().is_some_and(|e| e.as_str().is_some()) => {
            Ok((nsp, a.clone()))
        }
        _ => Err(CodecError::Shape(
            "packet data is not [event, ...args]".into(),
        )),
    }
}

trait Field {
    fn string(&self, key: &str) -> Option<String>;
}

impl Field for Value {
    fn string(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// A broadcast on `socket.io#<nsp>#[<room>#]`: `[uid, packet, opts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastMessage {
    /// The sending node (`"emitter"` for the emitter).
    pub uid: String,
    /// The namespace.
    pub nsp: String,
    /// `[event, ...args]`.
    pub data: Vec<Value>,
    /// Targets.
    pub opts: BroadcastOptions,
    /// Flags.
    pub flags: BroadcastFlags,
}

impl BroadcastMessage {
    /// The notepack bytes (with the key order of the adapter, or of the
    /// emitter when `uid` is `"emitter"`).
    pub fn encode(&self) -> Vec<u8> {
        let rooms = ("rooms", strings(&self.opts.rooms));
        let except = ("except", strings(&self.opts.except));
        let flags = ("flags", flags_value(&self.flags));
        let opts = if self.uid == crate::emitter::EMITTER_UID {
            obj([rooms, flags, except])
        } else {
            obj([rooms, except, flags])
        };
        encode(&Value::Array(vec![
            Value::from(self.uid.as_str()),
            packet_value(&self.nsp, &self.data),
            opts,
        ]))
    }

    /// Reads one.
    pub fn decode(bytes: &[u8]) -> Result<BroadcastMessage, CodecError> {
        let v = decode(bytes)?;
        let Value::Array(parts) = v else {
            return Err(CodecError::Shape("broadcast is not an array".into()));
        };
        let uid = match parts.first() {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let (nsp, data) = packet_of(parts.get(1))?;
        let opts = parts.get(2);
        Ok(BroadcastMessage {
            uid,
            nsp,
            data,
            opts: opts_of(opts),
            flags: flags_of(opts.and_then(|o| o.get("flags"))),
        })
    }
}

/// A message on `socket.io-request#<nsp>#`.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// SOCKETS (0): the ids of the sockets in `rooms`.
    Sockets {
        /// Sender.
        uid: String,
        /// Request id.
        request_id: String,
        /// Rooms (all sockets when empty).
        rooms: Vec<Room>,
    },
    /// ALL_ROOMS (1).
    AllRooms {
        /// Sender.
        uid: String,
        /// Request id.
        request_id: String,
    },
    /// REMOTE_JOIN (2), as `socketsJoin` sends it (no uid from the emitter).
    RemoteJoin {
        /// Sender.
        uid: Option<String>,
        /// Targets.
        opts: BroadcastOptions,
        /// Rooms to join.
        rooms: Vec<Room>,
    },
    /// REMOTE_LEAVE (3).
    RemoteLeave {
        /// Sender.
        uid: Option<String>,
        /// Targets.
        opts: BroadcastOptions,
        /// Rooms to leave.
        rooms: Vec<Room>,
    },
    /// REMOTE_DISCONNECT (4).
    RemoteDisconnect {
        /// Sender.
        uid: Option<String>,
        /// Targets.
        opts: BroadcastOptions,
        /// Close the whole connections.
        close: bool,
    },
    /// REMOTE_FETCH (5).
    RemoteFetch {
        /// Sender.
        uid: String,
        /// Request id.
        request_id: String,
        /// Targets.
        opts: BroadcastOptions,
    },
    /// SERVER_SIDE_EMIT (6): `data` is `[event, ...args]`; a request id
    /// means one answer is expected from each node.
    ServerSideEmit {
        /// Sender (`"emitter"` for the emitter).
        uid: String,
        /// Request id, when answers are expected.
        request_id: Option<String>,
        /// `[event, ...args]`.
        data: Vec<Value>,
    },
    /// BROADCAST (7): a broadcast with acks (msgpack).
    Broadcast {
        /// Sender.
        uid: String,
        /// Request id.
        request_id: String,
        /// Namespace.
        nsp: String,
        /// `[event, ...args]`.
        data: Vec<Value>,
        /// Targets.
        opts: BroadcastOptions,
        /// Flags (the ack timeout among them).
        flags: BroadcastFlags,
    },
}

impl Request {
    /// The bytes the reference publishes for this request.
    ///
    /// ```
    /// use sio_redis::codec::Request;
    /// let r = Request::AllRooms { uid: "abc".into(), request_id: "x1".into() };
    /// assert_eq!(r.encode(), br#"{"uid":"abc","requestId":"x1","type":1}"#);
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let uid_field = |uid: &Option<String>| uid.as_deref().map(Value::from);
        match self {
            Request::Sockets {
                uid,
                request_id,
                rooms,
            } => to_json(&obj([
                ("uid", Value::from(uid.as_str())),
                ("requestId", Value::from(request_id.as_str())),
                ("type", RequestType::Sockets.value()),
                ("rooms", strings(rooms)),
            ])),
            Request::AllRooms { uid, request_id } => to_json(&obj([
                ("uid", Value::from(uid.as_str())),
                ("requestId", Value::from(request_id.as_str())),
                ("type", RequestType::AllRooms.value()),
            ])),
            Request::RemoteJoin { uid, opts, rooms }
            | Request::RemoteLeave { uid, opts, rooms } => {
                let kind = if matches!(self, Request::RemoteJoin { .. }) {
                    RequestType::RemoteJoin
                } else {
                    RequestType::RemoteLeave
                };
                let mut m = Map::new();
                if let Some(uid) = uid_field(uid) {
                    m.insert("uid".into(), uid);
                }
                m.insert("type".into(), kind.value());
                m.insert("opts".into(), opts_value(opts));
                m.insert("rooms".into(), strings(rooms));
                to_json(&Value::Object(m))
            }
            Request::RemoteDisconnect { uid, opts, close } => {
                let mut m = Map::new();
                if let Some(uid) = uid_field(uid) {
                    m.insert("uid".into(), uid);
                }
                m.insert("type".into(), RequestType::RemoteDisconnect.value());
                m.insert("opts".into(), opts_value(opts));
                m.insert("close".into(), Value::Bool(*close));
                to_json(&Value::Object(m))
            }
            Request::RemoteFetch {
                uid,
                request_id,
                opts,
            } => to_json(&obj([
                ("uid", Value::from(uid.as_str())),
                ("requestId", Value::from(request_id.as_str())),
                ("type", RequestType::RemoteFetch.value()),
                ("opts", opts_value(opts)),
            ])),
            Request::ServerSideEmit {
                uid,
                request_id,
                data,
            } => {
                let mut m = Map::new();
                m.insert("uid".into(), Value::from(uid.as_str()));
                if let Some(id) = request_id {
                    m.insert("requestId".into(), Value::from(id.as_str()));
                }
                m.insert("type".into(), RequestType::ServerSideEmit.value());
                m.insert("data".into(), Value::Array(data.clone()));
                to_json(&Value::Object(m))
            }
            Request::Broadcast {
                uid,
                request_id,
                nsp,
                data,
                opts,
                flags,
            } => encode(&obj([
                ("uid", Value::from(uid.as_str())),
                ("requestId", Value::from(request_id.as_str())),
                ("type", RequestType::Broadcast.value()),
                ("packet", packet_value(nsp, data)),
                (
                    "opts",
                    obj([
                        ("rooms", strings(&opts.rooms)),
                        ("except", strings(&opts.except)),
                        ("flags", flags_value(flags)),
                    ]),
                ),
            ])),
        }
    }

    /// Reads a request (JSON or msgpack).
    pub fn decode(bytes: &[u8]) -> Result<Request, CodecError> {
        let v = decode_body(bytes)?;
        let kind = RequestType::from_value(v.get("type"))
            .ok_or_else(|| CodecError::Shape("unknown request type".into()))?;
        let uid = v.string("uid");
        let request_id = v.string("requestId");
        let need_id = || {
            request_id
                .clone()
                .ok_or_else(|| CodecError::Shape("no requestId".into()))
        };
        Ok(match kind {
            RequestType::Sockets => Request::Sockets {
                uid: uid.unwrap_or_default(),
                request_id: need_id()?,
                rooms: rooms_of(v.get("rooms")),
            },
            RequestType::AllRooms => Request::AllRooms {
                uid: uid.unwrap_or_default(),
                request_id: need_id()?,
            },
            RequestType::RemoteJoin => Request::RemoteJoin {
                uid,
                opts: opts_of(v.get("opts")),
                rooms: rooms_of(v.get("rooms")),
            },
            RequestType::RemoteLeave => Request::RemoteLeave {
                uid,
                opts: opts_of(v.get("opts")),
                rooms: rooms_of(v.get("rooms")),
            },
            RequestType::RemoteDisconnect => Request::RemoteDisconnect {
                uid,
                opts: opts_of(v.get("opts")),
                close: v.get("close").and_then(Value::as_bool).unwrap_or(false),
            },
            RequestType::RemoteFetch => Request::RemoteFetch {
                uid: uid.unwrap_or_default(),
                request_id: need_id()?,
                opts: opts_of(v.get("opts")),
            },
            RequestType::ServerSideEmit => Request::ServerSideEmit {
                uid: uid.unwrap_or_default(),
                request_id,
                data: match v.get("data") {
                    Some(Value::Array(a)) if a.first().is_some_and(|e| e.as_str().is_some()) => {
                        a.clone()
                    }
                    _ => return Err(CodecError::Shape("serverSideEmit without an event".into())),
                },
            },
            RequestType::Broadcast => {
                let (nsp, data) = packet_of(v.get("packet"))?;
                let opts = v.get("opts");
                Request::Broadcast {
                    uid: uid.unwrap_or_default(),
                    request_id: need_id()?,
                    nsp,
                    data,
                    opts: opts_of(opts),
                    flags: flags_of(opts.and_then(|o| o.get("flags"))),
                }
            }
            RequestType::BroadcastClientCount | RequestType::BroadcastAck => {
                return Err(CodecError::Shape(
                    "a response on the request channel".into(),
                ))
            }
        })
    }
}

/// A message on `socket.io-response#<nsp>#`.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// The answer to SOCKETS (0).
    Sockets {
        /// Request id.
        request_id: String,
        /// Socket ids.
        sockets: Vec<Room>,
    },
    /// The answer to ALL_ROOMS (1).
    AllRooms {
        /// Request id.
        request_id: String,
        /// Rooms.
        rooms: Vec<Room>,
    },
    /// The answer to REMOTE_FETCH (5).
    Fetch {
        /// Request id.
        request_id: String,
        /// The sockets.
        sockets: Vec<SocketInfo>,
    },
    /// One node's answer to SERVER_SIDE_EMIT (6) with a request id.
    ServerSideEmit {
        /// Request id.
        request_id: String,
        /// The node's one answer.
        data: Value,
    },
    /// BROADCAST_CLIENT_COUNT (8).
    BroadcastClientCount {
        /// Request id.
        request_id: String,
        /// How many clients the node sent the broadcast to.
        client_count: usize,
    },
    /// BROADCAST_ACK (9) (msgpack).
    BroadcastAck {
        /// Request id.
        request_id: String,
        /// The client's first ack argument.
        packet: Value,
    },
}

fn socket_info_value(s: &SocketInfo) -> Value {
    obj([
        ("id", Value::from(s.id.as_str())),
        ("handshake", s.handshake.clone()),
        ("rooms", strings(&s.rooms)),
        ("data", s.data.clone()),
    ])
}

fn socket_info_of(v: &Value) -> Option<SocketInfo> {
    Some(SocketInfo {
        id: Room::from(v.get("id")?.as_str()?),
        handshake: v.get("handshake").cloned().unwrap_or_default(),
        rooms: rooms_of(v.get("rooms")),
        data: v.get("data").cloned().unwrap_or_default(),
    })
}

impl Response {
    /// The request id this answers.
    pub fn request_id(&self) -> &str {
        match self {
            Response::Sockets { request_id, .. }
            | Response::AllRooms { request_id, .. }
            | Response::Fetch { request_id, .. }
            | Response::ServerSideEmit { request_id, .. }
            | Response::BroadcastClientCount { request_id, .. }
            | Response::BroadcastAck { request_id, .. } => request_id,
        }
    }

    /// The bytes the reference publishes for this response.
    ///
    /// ```
    /// use sio_redis::codec::Response;
    /// let r = Response::BroadcastClientCount { request_id: "x1".into(), client_count: 2 };
    /// assert_eq!(r.encode(), br#"{"type":8,"requestId":"x1","clientCount":2}"#);
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Response::Sockets {
                request_id,
                sockets,
            } => to_json(&obj([
                ("requestId", Value::from(request_id.as_str())),
                ("sockets", strings(sockets)),
            ])),
            Response::AllRooms { request_id, rooms } => to_json(&obj([
                ("requestId", Value::from(request_id.as_str())),
                ("rooms", strings(rooms)),
            ])),
            Response::Fetch {
                request_id,
                sockets,
            } => to_json(&obj([
                ("requestId", Value::from(request_id.as_str())),
                (
                    "sockets",
                    Value::Array(sockets.iter().map(socket_info_value).collect()),
                ),
            ])),
            Response::ServerSideEmit { request_id, data } => to_json(&obj([
                ("type", RequestType::ServerSideEmit.value()),
                ("requestId", Value::from(request_id.as_str())),
                ("data", data.clone()),
            ])),
            Response::BroadcastClientCount {
                request_id,
                client_count,
            } => to_json(&obj([
                ("type", RequestType::BroadcastClientCount.value()),
                ("requestId", Value::from(request_id.as_str())),
                ("clientCount", Value::from(*client_count as u64)),
            ])),
            Response::BroadcastAck { request_id, packet } => encode(&obj([
                ("type", RequestType::BroadcastAck.value()),
                ("requestId", Value::from(request_id.as_str())),
                ("packet", packet.clone()),
            ])),
        }
    }

    /// Reads a response. The SOCKETS and REMOTE_FETCH answers have the same
    /// keys: `sockets` holding strings is the former, objects the latter.
    pub fn decode(bytes: &[u8]) -> Result<Response, CodecError> {
        let v = decode_body(bytes)?;
        let request_id = v
            .string("requestId")
            .ok_or_else(|| CodecError::Shape("no requestId".into()))?;
        match RequestType::from_value(v.get("type")) {
            Some(RequestType::ServerSideEmit) => Ok(Response::ServerSideEmit {
                request_id,
                data: v.get("data").cloned().unwrap_or_default(),
            }),
            Some(RequestType::BroadcastClientCount) => Ok(Response::BroadcastClientCount {
                request_id,
                client_count: v.get("clientCount").and_then(Value::as_u64).unwrap_or(0) as usize,
            }),
            Some(RequestType::BroadcastAck) => Ok(Response::BroadcastAck {
                request_id,
                packet: v.get("packet").cloned().unwrap_or_default(),
            }),
            _ => {
                if let Some(rooms) = v.get("rooms") {
                    return Ok(Response::AllRooms {
                        request_id,
                        rooms: rooms_of(Some(rooms)),
                    });
                }
                match v.get("sockets") {
                    Some(Value::Array(a))
                        if a.iter().all(|s| s.as_object().is_some()) && !a.is_empty() =>
                    {
                        Ok(Response::Fetch {
                            request_id,
                            sockets: a.iter().filter_map(socket_info_of).collect(),
                        })
                    }
                    Some(Value::Array(_)) => Ok(Response::Sockets {
                        request_id,
                        sockets: rooms_of(v.get("sockets")),
                    }),
                    _ => Err(CodecError::Shape("unknown response".into())),
                }
            }
        }
    }
}
