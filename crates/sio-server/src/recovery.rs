//! Connection state recovery: a client that lost its connection for a
//! moment gets back its id, rooms and data, and every event it missed.
//!
//! Per namespace, as the reference's session-aware adapter: every EVENT
//! sent to clients (not volatile, not asking for an ack) gets an offset
//! appended as its last argument and is kept, already encoded, with its
//! targets; a socket that disconnects for a recoverable reason leaves a
//! session (id, private id, rooms, data). A CONNECT carrying `{pid, offset}`
//! of a live session gets the packets after that offset that were meant
//! for it, before its CONNECT reply.
//!
//! Memory is bounded: packets and sessions expire after
//! `max_disconnection_duration`, and at most `max_packets` packets and
//! `max_sessions` sessions are kept (the oldest go first). Expiry is done
//! as new entries come in, so an idle server keeps what it had until then.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use sio_proto::{Encoded, Str, Value};

use crate::adapter::{BroadcastOptions, Room, Sid};

/// Connection state recovery settings (the reference's `connectionStateRecovery`).
///
/// ```
/// use std::time::Duration;
/// use sio_server::{RecoveryConfig, SocketIoConfig};
/// let config = SocketIoConfig {
///     connection_state_recovery: Some(RecoveryConfig {
///         max_disconnection_duration: Duration::from_secs(30),
///         ..Default::default()
///     }),
///     ..Default::default()
/// };
/// # drop(config);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected session can be recovered (default 120 s).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the connection middlewares (default true).
    pub skip_middlewares: bool,
    /// The most packets kept per namespace (default 10 000).
    pub max_packets: usize,
    /// The most disconnected sessions kept per namespace (default 10 000).
    pub max_sessions: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_packets: 10_000,
            max_sessions: 10_000,
        }
    }
}

struct StoredPacket {
    offset: Str,
    opts: BroadcastOptions,
    encoded: Encoded,
    at: Instant,
}

/// A disconnected socket that may come back.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub sid: Sid,
    pub pid: Str,
    pub rooms: Vec<Room>,
    pub data: Value,
    at: Instant,
}

#[derive(Default)]
struct State {
    packets: VecDeque<StoredPacket>,
    sessions: HashMap<Str, Session>,
    last_ms: u64,
    seq: u32,
}

/// The recovery store of one namespace.
pub(crate) struct Recovery {
    pub config: RecoveryConfig,
    state: Mutex<State>,
}

const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

fn encode_ms(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(ALPHABET[(n % 64) as usize]);
        n /= 64;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

impl Recovery {
    pub fn new(config: RecoveryConfig) -> Recovery {
        Recovery {
            config,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn expire(&self, s: &mut State, now: Instant) {
        let max = self.config.max_disconnection_duration;
        while s
            .packets
            .front()
            .is_some_and(|p| now.duration_since(p.at) > max)
        {
            s.packets.pop_front();
        }
        while s.packets.len() > self.config.max_packets {
            s.packets.pop_front();
        }
        s.sessions
            .retain(|_, sess| now.duration_since(sess.at) <= max);
    }

    /// A fresh offset: the time in milliseconds in base 64, plus `.n` when
    /// several packets share a millisecond (the reference's `yeast`).
    pub fn next_offset(&self) -> Str {
        let ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut s = self.lock();
        let base = encode_ms(ms);
        if ms == s.last_ms {
            s.seq += 1;
            Str::from(format!("{base}.{}", encode_ms(u64::from(s.seq))))
        } else {
            s.last_ms = ms;
            s.seq = 0;
            Str::from(base)
        }
    }

    /// Keeps an encoded packet (its offset already appended) for replay.
    pub fn store(&self, offset: Str, opts: BroadcastOptions, encoded: Encoded) {
        let now = Instant::now();
        let mut s = self.lock();
        s.packets.push_back(StoredPacket {
            offset,
            opts,
            encoded,
            at: now,
        });
        self.expire(&mut s, now);
    }

    /// Keeps the session of a socket that disconnected recoverably.
    pub fn persist(&self, sid: Sid, pid: Str, rooms: Vec<Room>, data: Value) {
        let now = Instant::now();
        let mut s = self.lock();
        if s.sessions.len() >= self.config.max_sessions {
            // The oldest session goes first.
            if let Some(oldest) = s
                .sessions
                .iter()
                .min_by_key(|(_, v)| v.at)
                .map(|(k, _)| k.clone())
            {
                s.sessions.remove(&oldest);
            }
        }
        s.sessions.insert(
            pid.clone(),
            Session {
                sid,
                pid,
                rooms,
                data,
                at: now,
            },
        );
        self.expire(&mut s, now);
    }

    /// The session of `pid` and the packets it missed after `offset`, if it
    /// can be recovered.
    pub fn restore(&self, pid: &str, offset: &str) -> Option<(Session, Vec<Encoded>)> {
        let now = Instant::now();
        let mut s = self.lock();
        self.expire(&mut s, now);
        let session = s.sessions.get(pid)?.clone();
        let start = s.packets.iter().position(|p| p.offset == offset)? + 1;
        let missed = s
            .packets
            .iter()
            .skip(start)
            .filter(|p| {
                let wanted = p.opts.rooms.is_empty()
                    || p.opts.rooms.iter().any(|r| session.rooms.contains(r));
                let excluded = p.opts.except.iter().any(|r| session.rooms.contains(r));
                wanted && !excluded
            })
            .map(|p| p.encoded.clone())
            .collect();
        Some((session, missed))
    }

    #[cfg(test)]
    fn sizes(&self) -> (usize, usize) {
        let s = self.lock();
        (s.packets.len(), s.sessions.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sio_proto::{Frame, Parser};

    fn packet(n: u32) -> Encoded {
        Parser::Json.encode_event("/", "e", &(n,), None).unwrap()
    }

    #[test]
    fn offsets_are_unique_and_restore_filters_by_rooms() {
        let r = Recovery::new(RecoveryConfig::default());
        let rooms = |x: &[&str]| x.iter().map(|s| Str::from(*s)).collect::<Vec<_>>();
        let o1 = r.next_offset();
        let o2 = r.next_offset();
        assert_ne!(o1, o2);
        r.store(o1.clone(), BroadcastOptions::default(), packet(1));
        r.store(
            o2,
            BroadcastOptions {
                rooms: rooms(&["a"]),
                except: vec![],
            },
            packet(2),
        );
        r.store(
            r.next_offset(),
            BroadcastOptions {
                rooms: rooms(&["b"]),
                except: vec![],
            },
            packet(3),
        );
        r.store(
            r.next_offset(),
            BroadcastOptions {
                rooms: vec![],
                except: rooms(&["a"]),
            },
            packet(4),
        );
        r.persist(
            Str::from("sid"),
            Str::from("pid"),
            rooms(&["sid", "a"]),
            Value::Null,
        );
        let (session, missed) = r.restore("pid", &o1).unwrap();
        assert_eq!(session.sid, "sid");
        let heads: Vec<Frame> = missed.into_iter().map(|e| e.head).collect();
        assert_eq!(heads, vec![Frame::from(r#"2["e",2]"#)]);
        assert!(r.restore("pid", "unknown offset").is_none());
        assert!(r.restore("other", &o1).is_none());
    }

    #[test]
    fn memory_is_bounded_and_expires() {
        let config = RecoveryConfig {
            max_disconnection_duration: Duration::from_millis(50),
            max_packets: 3,
            max_sessions: 2,
            ..RecoveryConfig::default()
        };
        let r = Recovery::new(config);
        for n in 0..10 {
            r.store(r.next_offset(), BroadcastOptions::default(), packet(n));
        }
        for n in 0..5 {
            r.persist(
                Str::from(format!("s{n}")),
                Str::from(format!("p{n}")),
                vec![],
                Value::Null,
            );
        }
        assert_eq!(r.sizes(), (3, 2));
        std::thread::sleep(Duration::from_millis(80));
        r.persist(Str::from("s"), Str::from("p"), vec![], Value::Null);
        assert_eq!(
            r.sizes(),
            (0, 1),
            "expired packets and sessions are released"
        );
    }
}
