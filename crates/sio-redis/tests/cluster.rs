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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_across_three_nodes() {
    let redis = RedisServer::start();
    let answer = |name: &'static str| {
        move |io: &sio_server::SocketIo| {
            io.of("/").on_server_event("ask", move |ev| async move {
                let (q,): (String,) = ev.args().unwrap();
                assert!(ev.wants_ack());
                ev.ack(&format!("{name}:{q}")).unwrap();
            });
        }
    };
    let (a, b, c) = (
        node(&redis.url(), answer("a")).await,
        node(&redis.url(), answer("b")).await,
        node(&redis.url(), answer("c")).await,
    );
    wait_server_count(&[&a, &b, &c], 3).await;
    assert_eq!(a.io.of("/").server_count().await, Ok(3));

    let (ca, mut ea) = client(&a.url()).await;
    let (cb, mut eb) = client(&b.url()).await;
    let (cc, mut ec) = client(&c.url()).await;
    let (ida, idb, idc) = (ca.id().unwrap(), cb.id().unwrap(), cc.id().unwrap());
    server_socket(&b, &cb).join("blue");
    server_socket(&c, &cc).set_data(serde_json::from_str(r#"{"name":"carol"}"#).unwrap());

    // fetch_sockets from a: every node's sockets, with rooms, data, handshake.
    let all = a.io.of("/").fetch_sockets().await.unwrap();
    let mut ids: Vec<String> = all.iter().map(|s| s.id().to_string()).collect();
    ids.sort();
    let mut expected = vec![ida.clone(), idb.clone(), idc.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    let remote_c = all.iter().find(|s| s.id() == idc.as_str()).unwrap();
    assert!(remote_c.local().is_none());
    assert_eq!(remote_c.data()["name"].as_str(), Some("carol"));
    assert!(remote_c.handshake()["url"]
        .as_str()
        .unwrap()
        .starts_with("/socket.io/"));
    assert!(all
        .iter()
        .find(|s| s.id() == ida.as_str())
        .unwrap()
        .local()
        .is_some());
    let blue = a.io.to("blue").fetch_sockets().await.unwrap();
    assert_eq!(blue.len(), 1);
    assert_eq!(blue[0].id(), idb.as_str());
    assert_eq!(blue[0].rooms().len(), 2);

    // A RemoteSocket acts on the node where the socket is.
    remote_c.emit("direct", &("to carol",)).unwrap();
    assert_eq!(s(&next(&mut ec, "direct").await[0]), "to carol");
    remote_c.join("green");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server_socket(&c, &cc).rooms().iter().any(|r| r == "green"));

    // sockets_join / sockets_leave from a reach b and c.
    a.io.of("/").sockets_join("all");
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (n, cl) in [(&a, &ca), (&b, &cb), (&c, &cc)] {
        assert!(server_socket(n, cl).rooms().iter().any(|r| r == "all"));
    }
    a.io.to("blue").sockets_leave("all");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!server_socket(&b, &cb).rooms().iter().any(|r| r == "all"));
    assert!(server_socket(&c, &cc).rooms().iter().any(|r| r == "all"));

    // Broadcast with acks across nodes: one answer per client of every node.
    for (cl, tag) in [(&ca, "A"), (&cb, "B"), (&cc, "C")] {
        cl.on("question", move |ev| async move {
            ev.ack(&(tag,)).unwrap();
        });
    }
    let mut answers: Vec<String> =
        b.io.timeout(Duration::from_secs(2))
            .emit_with_ack::<_, Vec<String>>("question", &())
            .await
            .unwrap();
    answers.sort();
    assert_eq!(answers, ["A", "B", "C"]);
    // ... to a room only; and a timeout when a client never answers.
    let green: Vec<String> =
        a.io.to("green")
            .timeout(Duration::from_secs(2))
            .emit_with_ack("question", &())
            .await
            .unwrap();
    assert_eq!(green, ["C"]);
    cc.off("question");
    let started = std::time::Instant::now();
    let timed_out =
        a.io.timeout(Duration::from_millis(500))
            .emit_with_ack::<_, Vec<String>>("question", &())
            .await;
    assert_eq!(timed_out, Err(sio_server::AckError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(2));

    // server_side_emit with acks: one answer per OTHER node.
    let mut replies: Vec<String> =
        a.io.of("/")
            .server_side_emit_with_ack("ask", &("q1",))
            .await
            .unwrap()
            .iter()
            .map(|v| s(v).to_owned())
            .collect();
    replies.sort();
    assert_eq!(replies, ["b:q1", "c:q1"]);
    // ... and without ack.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    c.io.of("/").on_server_event("tell", move |ev| {
        let tx = tx.clone();
        async move {
            assert!(!ev.wants_ack());
            tx.send(ev.values().to_vec()).unwrap();
        }
    });
    a.io.of("/").server_side_emit("tell", &("news", 2)).unwrap();
    let told = tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s(&told[0]), "news");
    assert_eq!(told[1].as_u64(), Some(2));

    // disconnect_sockets from a: b's client in "blue" is disconnected.
    a.io.to("blue").disconnect_sockets(true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!cb.connected());
    assert!(ca.connected() && cc.connected());
    assert!(b.io.of("/").get_socket(&idb).is_none());
    let _ = (&mut ea, &mut eb);
}

/// `SocketIo::close()` closes the namespaces' adapters, as the reference's
/// `io.close()` does: the node unsubscribes, so the others count one server
/// less at once, while its `RedisAdapter` (its Redis connections) lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_server_leaves_the_cluster() {
    let redis = RedisServer::start();
    let a = node(&redis.url(), |_| {}).await;
    let b = node(&redis.url(), |_| {}).await;
    let (a_custom, b_custom) = (a.io.of("/custom"), b.io.of("/custom"));
    a_custom.ready().await.expect("subscribed");
    b_custom.ready().await.expect("subscribed");
    wait_server_count(&[&a, &b], 2).await;
    assert_eq!(b_custom.server_count().await.ok(), Some(2));

    a.io.close();
    assert!(a.adapter.is_connected(), "the RedisAdapter itself stays up");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let counts = (
            b.io.of("/").server_count().await.ok(),
            b_custom.server_count().await.ok(),
        );
        if counts == (Some(1), Some(1)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "b still counts {counts:?} servers 2 s after a closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_emitter_into_rust_and_nodejs_nodes() {
    let redis = RedisServer::start();
    let rust = node(&redis.url(), |io| {
        let ns = io.of("/");
        let weak = std::sync::Arc::downgrade(&ns);
        ns.on_server_event("tell", move |ev| {
            let ns = weak.upgrade();
            async move {
                if let Some(ns) = ns {
                    let _ = ns.local().emit("told", &ev.values());
                }
            }
        });
    })
    .await;
    let nodejs = NodeJsNode::start(&redis.url()).await;
    wait_server_count(&[&rust], 2).await;
    let (cr, mut er) = client(&rust.url()).await;
    let (cn, mut en) = client(&nodejs.url()).await;
    let emitter = sio_redis::Emitter::connect(&redis.url()).await.unwrap();

    // To everyone, binary included.
    emitter
        .emit("emitted", &("all", bytes::Bytes::from_static(&[7, 8])))
        .await
        .unwrap();
    for events in [&mut er, &mut en] {
        let got = next(events, "emitted").await;
        assert_eq!(s(&got[0]), "all");
        assert_eq!(got[1].as_bytes().map(|b| b.to_vec()), Some(vec![7, 8]));
    }

    // sockets_join by socket id, then a room emit reaches exactly those.
    let (idr, idn) = (cr.id().unwrap(), cn.id().unwrap());
    emitter.to(idr.as_str()).sockets_join("room").await.unwrap();
    emitter.to(idn.as_str()).sockets_join("room").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ids: Vec<String> = rust
        .io
        .to("room")
        .fetch_sockets()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id().to_string())
        .collect();
    ids.sort();
    let mut both = vec![idr.clone(), idn.clone()];
    both.sort();
    assert_eq!(ids, both);
    emitter
        .to("room")
        .except(idn.as_str())
        .emit("room-only", &())
        .await
        .unwrap();
    assert!(arrives(&mut er, "room-only", 3000).await);
    assert!(!arrives(&mut en, "room-only", 300).await);
    emitter
        .to(idn.as_str())
        .sockets_leave("room")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rust.io.to("room").fetch_sockets().await.unwrap().len(), 1);

    // server_side_emit reaches every node's listeners.
    emitter
        .server_side_emit("tell", &("from rust emitter",))
        .await
        .unwrap();
    for events in [&mut er, &mut en] {
        assert_eq!(s(&next(events, "told").await[0]), "from rust emitter");
    }

    // Another namespace, and disconnect_sockets.
    let custom = sio_client::ClientBuilder::new(&format!("{}/custom", nodejs.url()))
        .connect()
        .await
        .unwrap();
    let mut ec = custom.events();
    emitter
        .of("custom")
        .emit("hello-custom", &())
        .await
        .unwrap();
    assert!(arrives(&mut ec, "hello-custom", 3000).await);
    emitter
        .to(idn.as_str())
        .disconnect_sockets(true)
        .await
        .unwrap();
    emitter
        .to(idr.as_str())
        .disconnect_sockets(false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!cn.connected());
    assert!(!cr.connected());
    assert!(emitter.emit("connect", &()).await.is_err(), "reserved name");
}
