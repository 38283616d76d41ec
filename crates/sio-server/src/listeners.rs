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
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use sio_proto::Value;

use crate::engine::sid_hash::SidHasher;
use crate::socket::{BoxFuture, DisconnectReason, Event, MiddlewareError, Socket};

/// A listener id, to remove one listener with [`Socket::off_listener`].
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

static NEXT_LISTENER: AtomicU64 = AtomicU64::new(1);

impl ListenerId {
    pub(crate) fn next() -> ListenerId {
        ListenerId(NEXT_LISTENER.fetch_add(1, Ordering::Relaxed))
    }
}

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
        self.entries.push(Entry { id, kind });
    }

    /// Recomputes which kinds the list holds: after any edit of `entries`.
    pub fn reindex(&mut self) {
        self.kinds = self.entries.iter().fold(0, |bits, e| bits | e.kind.bit());
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

    #[test]
    fn entries_are_small() {
        // Two shared pointers and an id.
        assert!(std::mem::size_of::<Entry>() <= 48);
    }
}
