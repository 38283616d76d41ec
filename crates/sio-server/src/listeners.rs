//! The listeners of a socket, kept small: most servers register the same
//! dozen handlers on every socket, so what one socket stores per listener
//! is two shared pointers and an id.
//!
//! - One list for every kind of listener (events, catch-all, middlewares,
//!   error, disconnect): one allocation, not one per kind.
//! - Event names are interned: the same name on every socket is one shared
//!   `Arc<str>`, not an allocation each (bounded: past [`MAX_NAMES`] names
//!   or [`MAX_NAME_BYTES`] bytes, a name gets an allocation of its own).
//! - A handler that captures nothing (a zero-sized closure, the common
//!   case) is one `Arc` per closure type for the whole process, shared by
//!   every socket; a capturing one gets its own `Arc`, as before.
//!
//! The list is copy-on-write behind an `Arc`: dispatching an event takes a
//! snapshot (one reference count), and a change made while a snapshot is
//! in use copies the list first.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use sio_proto::Value;

use crate::engine::sid_hash::SidHasher;
use crate::socket::{BoxFuture, DisconnectReason, Event, MiddlewareError, Socket};

/// A listener id, to remove one listener with [`Socket::off_listener`].
/// Ids are per socket: the n-th listener a socket gets has the same id on
/// every socket (so that sockets registering the same listeners in the
/// same order have equal lists, which they share).
///
/// ```
/// # fn demo(socket: std::sync::Arc<sio_server::Socket>) {
/// let id = socket.on("tick", |_ev| async {});
/// socket.off_listener(id);
/// assert_eq!(socket.listener_count("tick"), 0);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

pub(crate) type EventFn = dyn Fn(Event) -> BoxFuture + Send + Sync;
pub(crate) type AnyFn = dyn Fn(&Event) + Send + Sync;
pub(crate) type AnyOutFn = dyn Fn(&str, &Value) + Send + Sync;
pub(crate) type MiddlewareFn = dyn Fn(&Event) -> Result<(), MiddlewareError> + Send + Sync;
pub(crate) type ErrorFn = dyn Fn(&Arc<Socket>, &MiddlewareError) + Send + Sync;
pub(crate) type DisconnectFn = dyn Fn(Arc<Socket>, DisconnectReason) -> BoxFuture + Send + Sync;

/// One listener.
#[derive(Clone)]
pub(crate) enum Kind {
    /// An event handler (`on`).
    Event(Arc<str>, Arc<EventFn>),
    /// An event handler removed after its first call (`once`).
    Once(Arc<str>, Arc<EventFn>),
    Any(Arc<AnyFn>),
    AnyOutgoing(Arc<AnyOutFn>),
    Middleware(Arc<MiddlewareFn>),
    Error(Arc<ErrorFn>),
    Disconnecting(Arc<DisconnectFn>),
    Disconnect(Arc<DisconnectFn>),
}

#[derive(Clone)]
pub(crate) struct Entry {
    pub id: ListenerId,
    pub kind: Kind,
}

impl Entry {
    /// The event handler of `event`, if this is one (and whether it is a `once`).
    pub fn handler_of(&self, event: &str) -> Option<(&Arc<EventFn>, bool)> {
        match &self.kind {
            Kind::Event(name, f) if **name == *event => Some((f, false)),
            Kind::Once(name, f) if **name == *event => Some((f, true)),
            _ => None,
        }
    }

    /// The event name, for event handlers.
    pub fn event(&self) -> Option<&str> {
        match &self.kind {
            Kind::Event(name, _) | Kind::Once(name, _) => Some(name),
            _ => None,
        }
    }
}

impl Kind {
    /// The same listener: same kind, same shared handler, same name.
    fn same(&self, other: &Kind) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.handler_addr() == other.handler_addr()
            && match (self, other) {
                (Kind::Event(n, _) | Kind::Once(n, _), Kind::Event(m, _) | Kind::Once(m, _)) => {
                    Arc::ptr_eq(n, m)
                }
                _ => true,
            }
    }

    /// The address of the handler (what [`Kind::same`] compares).
    fn handler_addr(&self) -> usize {
        fn addr<T: ?Sized>(f: &Arc<T>) -> usize {
            Arc::as_ptr(f) as *const () as usize
        }
        match self {
            Kind::Event(_, f) | Kind::Once(_, f) => addr(f),
            Kind::Any(f) => addr(f),
            Kind::AnyOutgoing(f) => addr(f),
            Kind::Middleware(f) => addr(f),
            Kind::Error(f) => addr(f),
            Kind::Disconnecting(f) | Kind::Disconnect(f) => addr(f),
        }
    }

    /// This kind's bit in [`Listeners::kinds`].
    fn bit(&self) -> u8 {
        match self {
            Kind::Event(..) | Kind::Once(..) => 1,
            Kind::Any(_) => 2,
            Kind::AnyOutgoing(_) => 4,
            Kind::Middleware(_) => 8,
            Kind::Error(_) => 16,
            Kind::Disconnecting(_) | Kind::Disconnect(_) => 32,
        }
    }
}

/// The listeners of one kind (a variant of [`Kind`] with one field), in
/// order: none without a walk of the list when the kind has none, the
/// common case for catch-alls and middlewares on every event.
macro_rules! of_kind {
    ($listeners:ident, $variant:ident, $bit:expr) => {{
        let n = if $listeners.kinds & $bit != 0 {
            $listeners.entries.len()
        } else {
            0
        };
        ($listeners.entries[..n].iter()).filter_map(|e| match &e.kind {
            Kind::$variant(f) => Some(f),
            _ => None,
        })
    }};
}

/// Every listener of a socket, in registration order (`prepend_*` put
/// theirs first).
#[derive(Default, Clone)]
pub(crate) struct Listeners {
    pub entries: Vec<Entry>,
    /// The bits of the kinds in `entries` (see [`Listeners::reindex`]).
    kinds: u8,
    /// The id of the last listener added.
    last_id: u64,
    /// For a list shared by sockets ([`share`]): (hash of the event name,
    /// position in `entries`) of every event handler, sorted, so that an
    /// event finds its handlers without a walk of the list.
    index: Option<Box<[(u64, u32)]>>,
}

/// The list of a socket that has no listener yet: shared, so that creating
/// a socket allocates none.
pub(crate) static EMPTY: LazyLock<Arc<Listeners>> = LazyLock::new(Arc::default);

impl Listeners {
    pub fn push(&mut self, id: ListenerId, kind: Kind) {
        if self.entries.capacity() == 0 {
            // A connection handler typically registers about a dozen: grow
            // once or twice, not five times.
            self.entries.reserve(8);
        }
        self.kinds |= kind.bit();
        self.index = None;
        self.entries.push(Entry { id, kind });
    }

    /// The id for the next listener of this socket.
    pub fn new_id(&mut self) -> ListenerId {
        self.last_id += 1;
        ListenerId(self.last_id)
    }

    /// Recomputes which kinds the list holds: after any edit of `entries`.
    pub fn reindex(&mut self) {
        self.kinds = self.entries.iter().fold(0, |bits, e| bits | e.kind.bit());
        self.index = None;
    }

    /// The handlers of `event` in order, and whether each is a `once`.
    pub fn handlers<'a>(&'a self, event: &'a str) -> Handlers<'a> {
        let (pos, hash) = match &self.index {
            Some(index) => {
                let hash = name_hash(event);
                (index.partition_point(|&(h, _)| h < hash), hash)
            }
            None => (0, 0),
        };
        Handlers {
            list: self,
            event,
            pos,
            hash,
        }
    }

    /// The catch-all listeners, in order.
    pub fn any(&self) -> impl Iterator<Item = &Arc<AnyFn>> {
        of_kind!(self, Any, 2)
    }

    pub fn any_outgoing(&self) -> impl Iterator<Item = &Arc<AnyOutFn>> {
        of_kind!(self, AnyOutgoing, 4)
    }

    pub fn middlewares(&self) -> impl Iterator<Item = &Arc<MiddlewareFn>> {
        of_kind!(self, Middleware, 8)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Arc<ErrorFn>> {
        of_kind!(self, Error, 16)
    }

    /// The disconnecting (`before`) or disconnect listeners.
    pub fn disconnect(&self, before: bool) -> impl Iterator<Item = &Arc<DisconnectFn>> {
        (self.entries.iter()).filter_map(move |e| match (&e.kind, before) {
            (Kind::Disconnecting(f), true) | (Kind::Disconnect(f), false) => Some(f),
            _ => None,
        })
    }

    /// The index of the first entry whose kind `pred` accepts (where a
    /// prepended listener goes).
    pub fn first(&self, pred: impl Fn(&Kind) -> bool) -> usize {
        (self.entries.iter().position(|e| pred(&e.kind))).unwrap_or(self.entries.len())
    }
}

/// What [`Listeners::handlers`] iterates.
pub(crate) struct Handlers<'a> {
    list: &'a Listeners,
    event: &'a str,
    /// The next position in the index, or in the entries without one.
    pos: usize,
    hash: u64,
}

impl<'a> Iterator for Handlers<'a> {
    type Item = (&'a Arc<EventFn>, bool);

    fn next(&mut self) -> Option<Self::Item> {
        let entries = &self.list.entries;
        match &self.list.index {
            Some(index) => {
                while let Some(&(hash, at)) = index.get(self.pos) {
                    if hash != self.hash {
                        return None;
                    }
                    self.pos += 1;
                    if let Some(found) = entries[at as usize].handler_of(self.event) {
                        return Some(found);
                    }
                }
                None
            }
            None => {
                while let Some(entry) = entries.get(self.pos) {
                    self.pos += 1;
                    if let Some(found) = entry.handler_of(self.event) {
                        return Some(found);
                    }
                }
                None
            }
        }
    }
}

/// A quick hash of an event name, for the index of shared lists (names a
/// peer sends are only looked up, never inserted).
fn name_hash(name: &str) -> u64 {
    let mut h = SidHasher::default();
    h.write_usize(name.len());
    h.write(name.as_bytes());
    h.finish()
}

// ---- shared lists -----------------------------------------------------------

/// The most distinct lists [`share`] keeps.
const MAX_SHARED_LISTS: usize = 1024;

type ListMap = HashMap<u64, Vec<std::sync::Weak<Listeners>>, BuildHasherDefault<SidHasher>>;

/// Lists in use, by the hash of their entries.
static LISTS: LazyLock<Mutex<ListMap>> = LazyLock::new(Default::default);

impl Listeners {
    /// The same entries, in the same order, with the same ids.
    fn same(&self, other: &Listeners) -> bool {
        self.entries.len() == other.entries.len()
            && self.last_id == other.last_id
            && (self.entries.iter().zip(&other.entries))
                .all(|(a, b)| a.id == b.id && a.kind.same(&b.kind))
    }

    /// A hash of what [`Listeners::same`] compares.
    fn key(&self) -> u64 {
        let mut h = SidHasher::default();
        h.write_u64(self.last_id);
        for e in &self.entries {
            h.write_usize(e.kind.handler_addr());
            h.write_u64(e.id.0 << 8 | u64::from(e.kind.bit()));
        }
        h.finish()
    }

    fn build_index(&mut self) {
        let mut index: Vec<(u64, u32)> = (self.entries.iter().enumerate())
            .filter_map(|(at, e)| Some((name_hash(e.event()?), at as u32)))
            .collect();
        index.sort_unstable();
        self.index = Some(index.into_boxed_slice());
    }
}

/// Shares `list` with the sockets that have an equal one: most servers
/// register the same listeners (closures without captures, one shared
/// `Arc` each) on every socket, so every socket can point at one list
/// instead of keeping a copy. A list kept for sharing gets an index of its
/// event handlers. An edit later copies the list first (copy on write), as
/// for any snapshot in use.
pub(crate) fn share(list: &mut Arc<Listeners>) {
    if list.entries.is_empty() {
        *list = EMPTY.clone();
        return;
    }
    let key = list.key();
    let mut lists = LISTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(bucket) = lists.get(&key) {
        for weak in bucket {
            if let Some(shared) = weak.upgrade() {
                if Arc::ptr_eq(&shared, list) {
                    return;
                }
                if shared.same(list) {
                    *list = shared;
                    return;
                }
            }
        }
    }
    if lists.len() >= MAX_SHARED_LISTS {
        lists.retain(|_, bucket| {
            bucket.retain(|w| w.strong_count() > 0);
            !bucket.is_empty()
        });
        if lists.len() >= MAX_SHARED_LISTS {
            return;
        }
    }
    let own = Arc::make_mut(list);
    own.entries.shrink_to_fit();
    own.build_index();
    let bucket = lists.entry(key).or_default();
    bucket.retain(|w| w.strong_count() > 0);
    bucket.push(Arc::downgrade(list));
}

// ---- shared handlers ------------------------------------------------------

type TypeMap = HashMap<TypeId, Box<dyn Any + Send + Sync>, BuildHasherDefault<SidHasher>>;

/// One `Arc` per handler type that captures nothing.
static SHARED: LazyLock<Mutex<TypeMap>> = LazyLock::new(Default::default);

/// `f` as a shared handler: a closure that captures nothing (zero-sized,
/// nothing to drop) is the same for every socket, so one `Arc` per closure
/// type serves them all; any other gets its own. `coerce` turns the `Arc`
/// of the closure into the `Arc` of the trait object.
pub(crate) fn handler<F, T>(f: F, coerce: fn(Arc<F>) -> Arc<T>) -> Arc<T>
where
    F: Send + Sync + 'static,
    T: ?Sized + Send + Sync + 'static,
{
    if std::mem::size_of::<F>() != 0 || std::mem::needs_drop::<F>() {
        return coerce(Arc::new(f));
    }
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let any = shared
        .entry(TypeId::of::<F>())
        .or_insert_with(|| Box::new(coerce(Arc::new(f))));
    match any.downcast_ref::<Arc<T>>() {
        Some(f) => f.clone(),
        // Not reached: the entry of `F` was made by this function for `T`
        // (each listener kind wraps its closure in a type of its own).
        None => unreachable!("a shared handler of another type"),
    }
}

// ---- interned names -------------------------------------------------------

/// The most event names kept shared.
pub(crate) const MAX_NAMES: usize = 4096;
/// The most bytes of event names kept shared.
pub(crate) const MAX_NAME_BYTES: usize = 64 * 1024;

#[derive(Default)]
struct Names {
    set: HashSet<Arc<str>, BuildHasherDefault<SidHasher>>,
    bytes: usize,
}

static NAMES: LazyLock<Mutex<Names>> = LazyLock::new(Default::default);

/// The shared copy of an event name (a fresh one once the table is full:
/// names a server makes up at run time must not grow it without bound).
pub(crate) fn intern(name: &str) -> Arc<str> {
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(shared) = names.set.get(name) {
        return shared.clone();
    }
    let name: Arc<str> = Arc::from(name);
    if names.set.len() < MAX_NAMES && names.bytes + name.len() <= MAX_NAME_BYTES {
        names.bytes += name.len();
        names.set.insert(name.clone());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shared_and_bounded() {
        let a = intern("listeners-test-a");
        let b = intern(&String::from("listeners-test-a"));
        assert!(Arc::ptr_eq(&a, &b));
        let huge = "x".repeat(MAX_NAME_BYTES + 1);
        let c = intern(&huge);
        let d = intern(&huge);
        assert!(!Arc::ptr_eq(&c, &d), "too big to keep");
        assert_eq!(*c, *huge);
    }

    #[test]
    fn closures_without_captures_share_one_arc() {
        fn make() -> Arc<dyn Fn(u32) -> u32 + Send + Sync> {
            handler(|x: u32| x + 1, |f| f)
        }
        let (a, b) = (make(), make());
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a(1), 2);
        let n = 5u32;
        let c: Arc<dyn Fn(u32) -> u32 + Send + Sync> = handler(move |x: u32| x + n, |f| f);
        let d: Arc<dyn Fn(u32) -> u32 + Send + Sync> = handler(move |x: u32| x + n, |f| f);
        assert!(!Arc::ptr_eq(&c, &d));
        assert_eq!(d(1), 6);
    }

    fn event_handler() -> Arc<EventFn> {
        handler(|_ev: Event| -> BoxFuture { Box::pin(async {}) }, |f| f)
    }

    fn list(names: &[(&str, bool)], handler: impl Fn() -> Arc<EventFn>) -> Arc<Listeners> {
        let mut l = Listeners::default();
        for &(name, once) in names {
            let id = l.new_id();
            let kind = if once {
                Kind::Once(intern(name), handler())
            } else {
                Kind::Event(intern(name), handler())
            };
            l.push(id, kind);
        }
        Arc::new(l)
    }

    fn found(l: &Listeners, event: &str) -> Vec<bool> {
        l.handlers(event).map(|(_, once)| once).collect()
    }

    #[test]
    fn equal_lists_are_shared_and_indexed() {
        let names = [
            ("ls-a", false),
            ("ls-b", false),
            ("ls-a", false),
            ("ls-b", true),
        ];
        let (mut x, mut y) = (list(&names, event_handler), list(&names, event_handler));
        let linear = (found(&x, "ls-a"), found(&x, "ls-b"), found(&x, "ls-c"));
        assert_eq!(linear, (vec![false, false], vec![false, true], vec![]));
        share(&mut x);
        share(&mut y);
        assert!(Arc::ptr_eq(&x, &y), "one list for both");
        assert!(x.index.is_some());
        // The index finds the same handlers, in registration order.
        assert_eq!(
            (found(&x, "ls-a"), found(&x, "ls-b"), found(&x, "ls-c")),
            linear
        );
        // A different list is not shared, and an edited copy drops the index.
        let mut z = list(&names[..3], event_handler);
        share(&mut z);
        assert!(!Arc::ptr_eq(&x, &z));
        let mut copy = (*x).clone();
        copy.entries.pop();
        copy.reindex();
        assert!(copy.index.is_none());
        assert_eq!(found(&copy, "ls-b"), [false]);
    }

    #[test]
    fn lists_with_capturing_handlers_are_not_shared() {
        let names = [("ls-d", false)];
        let capturing = || -> Arc<EventFn> {
            let n = std::sync::Arc::new(1u8);
            handler(
                move |_ev: Event| -> BoxFuture {
                    let _ = &n;
                    Box::pin(async {})
                },
                |f| f,
            )
        };
        let (mut x, mut y) = (list(&names, capturing), list(&names, capturing));
        share(&mut x);
        share(&mut y);
        assert!(!Arc::ptr_eq(&x, &y));
        assert_eq!(found(&y, "ls-d"), [false]);
    }

    #[test]
    fn entries_are_small() {
        // Two shared pointers and an id.
        assert!(std::mem::size_of::<Entry>() <= 48);
    }
}
