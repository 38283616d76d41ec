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

use crate::engine::sid_hash::SidHash;

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

/// The rooms of one socket.
#[derive(Default)]
struct Memberships {
    /// In its own room (the room named by its id), as every socket is from
    /// its connection on unless it leaves it: a flag, not an entry in the
    /// room index, so that a socket in no other room costs one entry.
    own: bool,
    /// The other rooms, in joining order (allocated on the first join).
    others: Option<Box<IndexSet<Room>>>,
}

#[derive(Default)]
struct Index {
    /// Rooms other than the sockets' own ones, each with its members in
    /// joining order.
    rooms: IndexMap<Room, IndexSet<Sid>>,
    /// Every socket, in order, with its rooms. Keyed by ids this server
    /// made (random): no keyed hash needed.
    sids: IndexMap<Sid, Memberships, SidHash>,
}

impl Index {
    fn remove_from_room(&mut self, room: &str, sid: &str) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.shift_remove(sid);
            if members.is_empty() {
                // O(1): the order of the room list is not kept.
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
        let mut joined = Vec::new();
        for room in rooms {
            if room == sid {
                mine.own = true;
            } else if mine.others.get_or_insert_default().insert(room.clone()) {
                joined.push(room);
            }
        }
        for room in joined {
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
            if room == sid.as_str() {
                mine.own = false;
                return;
            }
            if let Some(others) = &mut mine.others {
                others.shift_remove(room);
                if others.is_empty() {
                    mine.others = None;
                }
            }
        }
        index.remove_from_room(room, sid);
    }

    fn del_all(&self, sid: &Sid) {
        let mut index = self.lock();
        // O(1) (the order of sockets is not kept): `shift_remove` made
        // each disconnection cost as much as the sockets still connected.
        if let Some(mine) = index.sids.swap_remove(sid.as_str()) {
            for room in mine.others.into_iter().flat_map(|o| o.into_iter()) {
                index.remove_from_room(&room, sid);
            }
        }
    }

    fn socket_rooms(&self, sid: &str) -> Vec<Room> {
        let index = self.lock();
        let Some((id, mine)) = index.sids.get_key_value(sid) else {
            return Vec::new();
        };
        let others = mine.others.iter().flat_map(|o| o.iter().cloned());
        (mine.own.then(|| id.clone()).into_iter())
            .chain(others)
            .collect()
    }

    fn apply(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        let index = self.lock();
        let mut except: HashSet<&str> = HashSet::new();
        for room in &opts.except {
            if let Some(members) = index.rooms.get(room.as_str()) {
                except.extend(members.iter().map(|s| s.as_str()));
            }
            // A socket id: that socket (in its own room or not).
            except.insert(room.as_str());
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
            // A socket's own room: the socket first (it joined at connection).
            if let Some((sid, mine)) = index.sids.get_key_value(room.as_str()) {
                if mine.own && !except.contains(sid.as_str()) && seen.insert(sid.as_str()) {
                    out.push(sid.clone());
                }
            }
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
        let index = self.lock();
        let own = (index.sids.iter())
            .filter(|(sid, mine)| mine.own && !index.rooms.contains_key(sid.as_str()))
            .map(|(sid, _)| sid.clone());
        index.rooms.keys().cloned().chain(own).collect()
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

    #[test]
    fn own_rooms() {
        let a = InMemoryAdapter::default();
        a.add_all(&s("a"), &[s("a"), s("x")]);
        a.add_all(&s("b"), &[s("b"), s("a")]);
        assert_eq!(a.socket_rooms("a"), vec![s("a"), s("x")]);
        assert_eq!(a.socket_rooms("b"), vec![s("b"), s("a")]);
        let to_a = BroadcastOptions {
            rooms: vec![s("a")],
            except: vec![],
        };
        assert_eq!(
            a.apply(&to_a),
            vec![s("a"), s("b")],
            "the owner, then who joined"
        );
        let mut rooms = a.rooms();
        rooms.sort();
        assert_eq!(rooms, vec![s("a"), s("b"), s("x")]);
        a.del(&s("a"), "a");
        assert_eq!(a.socket_rooms("a"), vec![s("x")]);
        assert_eq!(a.apply(&to_a), vec![s("b")]);
        let except_a = BroadcastOptions {
            rooms: vec![],
            except: vec![s("a")],
        };
        assert_eq!(a.apply(&except_a), Vec::<Str>::new(), "b joined room a");
        a.del_all(&s("b"));
        assert_eq!(a.apply(&to_a), Vec::<Str>::new());
        assert_eq!(a.rooms(), vec![s("x")]);
    }
}
