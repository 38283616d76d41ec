//! Three Rust nodes on one real redis-server: every cross-node operation,
//! checked at the clients (official-protocol sio clients) of each node.

mod common;

use std::time::Duration;

use common::*;
use sio_proto::Value;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_rooms_and_except_across_three_nodes() {
    let redis = RedisServer::start();
    let (a, b, c) = (
        node(&redis.url(), |_| {}).await,
        node(&redis.url(), |_| {}).await,
        node(&redis.url(), |_| {}).await,
    );
    wait_server_count(&[&a, &b, &c], 3).await;
    let (ca, mut ea) = client(&a.url()).await;
    let (cb, mut eb) = client(&b.url()).await;
    let (cc, mut ec) = client(&c.url()).await;

    // A broadcast from node a reaches the clients of b and c (and a's own).
    a.io.emit("news", &("hello", 1, bytes::Bytes::from_static(&[1, 2, 3])))
        .unwrap();
    for events in [&mut ea, &mut eb, &mut ec] {
        let got = next(events, "news").await;
        assert_eq!(s(&got[0]), "hello");
        assert_eq!(got[1].as_u64(), Some(1));
        assert_eq!(got[2].as_bytes().map(|b| b.to_vec()), Some(vec![1, 2, 3]));
    }

    // Rooms: b's client joins "r1" on b; a room broadcast from c reaches only it.
    server_socket(&b, &cb).join("r1");
    c.io.to("r1").emit("room-news", &("r1 only",)).unwrap();
    assert_eq!(s(&next(&mut eb, "room-news").await[0]), "r1 only");
    assert!(!arrives(&mut ea, "room-news", 300).await);
    assert!(!arrives(&mut ec, "room-news", 10).await);

    // Two rooms (published on the namespace channel, not a room channel).
    server_socket(&c, &cc).join("r2");
    a.io.to(["r1", "r2"]).emit("two-rooms", &()).unwrap();
    assert!(arrives(&mut eb, "two-rooms", 3000).await);
    assert!(arrives(&mut ec, "two-rooms", 3000).await);
    assert!(!arrives(&mut ea, "two-rooms", 300).await);

    // Except: everyone but r1, from a; and socket.broadcast excludes the sender.
    a.io.except("r1").emit("not-r1", &()).unwrap();
    assert!(arrives(&mut ea, "not-r1", 3000).await);
    assert!(arrives(&mut ec, "not-r1", 3000).await);
    assert!(!arrives(&mut eb, "not-r1", 300).await);
    server_socket(&a, &ca)
        .broadcast()
        .emit("from-a", &())
        .unwrap();
    assert!(arrives(&mut eb, "from-a", 3000).await);
    assert!(arrives(&mut ec, "from-a", 3000).await);
    assert!(!arrives(&mut ea, "from-a", 300).await);

    // local(): this node only.
    b.io.local().emit("local-only", &()).unwrap();
    assert!(arrives(&mut eb, "local-only", 3000).await);
    assert!(!arrives(&mut ea, "local-only", 300).await);
    assert!(!arrives(&mut ec, "local-only", 10).await);

    // Order is kept across nodes.
    for i in 0..50u32 {
        a.io.emit("seq", &(i,)).unwrap();
    }
    for i in 0..50u64 {
        assert_eq!(next(&mut ec, "seq").await[0].as_u64(), Some(i));
    }

    // Other namespaces are separate channels.
    let admin_b = b.io.of("/admin");
    admin_b.ready().await.unwrap();
    let admin_client = sio_client::ClientBuilder::new(&format!("{}/admin", b.url()))
        .connect()
        .await
        .unwrap();
    let mut admin_events = admin_client.events();
    let admin_a = a.io.of("/admin");
    admin_a.ready().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    admin_a.emit("admin-news", &()).unwrap();
    assert!(arrives(&mut admin_events, "admin-news", 3000).await);
    assert!(!arrives(&mut eb, "admin-news", 300).await);
}
