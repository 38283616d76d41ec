//! The adapter: which socket is in which room.
//!
//! Each namespace has one. The in-memory adapter, the embedded default,
//! keeps the two-way index room → sockets and socket → rooms under one short
//! lock, in insertion order (so broadcasts reach sockets in the order they
//! joined, as in the reference). Adapters for a cluster (Redis) implement the
//! same trait and add the cross-node traffic.

use std::collections::HashSet;
use std::sync::Mutex;

use indexmap::{IndexMap, IndexSet};
use sio_proto::Str;

/// A socket id.
pub type Sid = Str;

/// A room name.
pub type Room = Str;

/// Which sockets a broadcast reaches: the union of `rooms` (every socket if
/// empty), minus the sockets in `except` (rooms or socket ids).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Target rooms (all sockets when empty).
    pub rooms: Vec<Room>,
    /// Excluded rooms (a socket id is also the name of the socket's own room).
    pub except: Vec<Room>,
}

/// Room membership for one namespace.
pub trait Adapter: Send + Sync + 'static {
    /// Adds socket `sid` to each of `rooms`.
    fn add_all(&self, sid: &Sid, rooms: &[Room]);
    /// Removes socket `sid` from `room`.
    fn del(&self, sid: &Sid, room: &str);
    /// Removes socket `sid` from every room.
    fn del_all(&self, sid: &Sid);
    /// The rooms of socket `sid`, in the order it joined them.
    fn socket_rooms(&self, sid: &str) -> Vec<Room>;
    /// The sockets a broadcast with `opts` reaches, each once, in order.
    fn apply(&self, opts: &BroadcastOptions) -> Vec<Sid>;
    /// Every room that has at least one socket.
    fn rooms(&self) -> Vec<Room>;
    /// The cross-node part, for adapters of a cluster (none for the
    /// in-memory adapter).
    fn cluster(&self) -> Option<&dyn crate::cluster::Cluster> {
        None
    }
}

#[derive(Default)]
struct Index {
    rooms: IndexMap<Room, IndexSet<Sid>>,
    sids: IndexMap<Sid, IndexSet<Room>>,
}

impl Index {
    fn remove_from_room(&mut self, room: &str, sid: &str) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.shift_remove(sid);
            if members.is_empty() {
                // O(1): the order of the room list is not kept (every
                // socket's own room goes when it disconnects).
                self.rooms.swap_remove(room);
            }
        }
    }
}

/// The embedded default adapter: membership in memory.
///
/// ```
/// use sio_server::adapter::{Adapter, BroadcastOptions, InMemoryAdapter};
/// let a = InMemoryAdapter::default();
/// a.add_all(&"s1".into(), &["s1".into(), "lobby".into()]);
/// a.add_all(&"s2".into(), &["s2".into(), "lobby".into()]);
/// let to_lobby = BroadcastOptions { rooms: vec!["lobby".into()], except: vec!["s1".into()] };
/// assert_eq!(a.apply(&to_lobby), vec!["s2"]);
/// ```
#[derive(Default)]
pub struct InMemoryAdapter {
    index: Mutex<Index>,
}

impl InMemoryAdapter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Adapter for InMemoryAdapter {
    fn add_all(&self, sid: &Sid, rooms: &[Room]) {
        let mut index = self.lock();
        let mine = index.sids.entry(sid.clone()).or_default();
        for room in rooms {
            mine.insert(room.clone());
        }
        for room in rooms {
            index
                .rooms
                .entry(room.clone())
                .or_default()
                .insert(sid.clone());
        }
    }

    fn del(&self, sid: &Sid, room: &str) {
        let mut index = self.lock();
        if let Some(mine) = index.sids.get_mut(sid.as_str()) {
            mine.shift_remove(room);
        }
        index.remove_from_room(room, sid);
    }

    fn del_all(&self, sid: &Sid) {
        let mut index = self.lock();
        // O(1) (the order of sockets is not kept): `shift_remove` made
        // each disconnection cost as much as the sockets still connected.
        if let Some(mine) = index.sids.swap_remove(sid.as_str()) {
            for room in mine {
                index.remove_from_room(&room, sid);
            }
        }
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        self.lock()
            .sids
            .get(sid)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn apply(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        let index = self.lock();
        let mut except: HashSet<&str> = HashSet::new();
        for room in &opts.except {
            match index.rooms.get(room.as_str()) {
                Some(members) => except.extend(members.iter().map(|s| s.as_str())),
                None => {
                    except.insert(room.as_str());
                }
            }
        }
        if opts.rooms.is_empty() {
            return index
                .sids
                .keys()
                .filter(|s| !except.contains(s.as_str()))
                .cloned()
                .collect();
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::new();
        for room in &opts.rooms {
            if let Some(members) = index.rooms.get(room.as_str()) {
                for sid in members {
                    if !except.contains(sid.as_str()) && seen.insert(sid.as_str()) {
                        out.push(sid.clone());
                    }
                }
            }
        }
        out
    }

    fn rooms(&self) -> Vec<Room> {
        self.lock().rooms.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Str {
        Str::from(x)
    }

    #[test]
    fn rooms_dedupe_and_except() {
        let a = InMemoryAdapter::default();
        a.add_all(&s("a"), &[s("a"), s("r1"), s("r2")]);
        a.add_all(&s("b"), &[s("b"), s("r2")]);
        a.add_all(&s("c"), &[s("c"), s("r3")]);
        let both = BroadcastOptions {
            rooms: vec![s("r1"), s("r2")],
            except: vec![],
        };
        assert_eq!(a.apply(&both), vec![s("a"), s("b")]);
        let all_but_r2 = BroadcastOptions {
            rooms: vec![],
            except: vec![s("r2")],
        };
        assert_eq!(a.apply(&all_but_r2), vec![s("c")]);
        a.del(&s("a"), "r1");
        assert!(!a.rooms().contains(&s("r1")), "empty rooms are deleted");
        a.del_all(&s("b"));
        assert_eq!(a.socket_rooms("b"), Vec::<Str>::new());
        assert_eq!(a.apply(&BroadcastOptions::default()), vec![s("a"), s("c")]);
    }
}
