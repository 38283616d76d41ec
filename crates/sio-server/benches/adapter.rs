//! Hot paths of the in-memory adapter, at 10,000 connected sockets: a
//! socket joining and leaving a room, a disconnection (every room left),
//! and the target list of a broadcast to everyone and to one room.
//!
//! `cargo bench -p sio-server --bench adapter -- --warm-up-time 1 --measurement-time 3`
//!
//! A disconnection used to shift the whole socket index (`shift_remove`),
//! so its cost grew with the number of sockets still connected.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sio_server::adapter::{Adapter, BroadcastOptions, InMemoryAdapter};

const SOCKETS: usize = 10_000;

/// An adapter with `SOCKETS` sockets, each in its own room, every tenth in "lobby".
fn populated() -> InMemoryAdapter {
    let a = InMemoryAdapter::default();
    for i in 0..SOCKETS {
        let sid = format!("socket-{i:08}");
        let mut rooms = vec![sid.as_str().into()];
        if i % 10 == 0 {
            rooms.push("lobby".into());
        }
        a.add_all(&sid.as_str().into(), &rooms);
    }
    a
}

fn adapter(c: &mut Criterion) {
    let a = populated();
    let sid = "socket-00005000".into();
    c.bench_function("join+leave (10k sockets)", |b| {
        b.iter(|| {
            a.add_all(&sid, &["game".into()]);
            a.del(&sid, black_box("game"));
        })
    });
    c.bench_function("disconnect+reconnect (10k sockets)", |b| {
        // A different socket each time, from anywhere in the index (the
        // oldest first): what a disconnection really removes.
        let sids: Vec<_> = (0..SOCKETS).map(|i| format!("socket-{i:08}")).collect();
        let mut i = 0;
        b.iter(|| {
            let sid = sids[i % SOCKETS].as_str().into();
            a.del_all(black_box(&sid));
            a.add_all(&sid, std::slice::from_ref(&sid));
            i += 1;
        })
    });
    let everyone = BroadcastOptions {
        rooms: vec![],
        except: vec![],
    };
    c.bench_function("targets: everyone (10k sockets)", |b| {
        b.iter(|| black_box(a.apply(&everyone)).len())
    });
    let lobby = BroadcastOptions {
        rooms: vec!["lobby".into()],
        except: vec![],
    };
    c.bench_function("targets: one room of 1k (10k sockets)", |b| {
        b.iter(|| black_box(a.apply(&lobby)).len())
    });
}

criterion_group!(benches, adapter);
criterion_main!(benches);
