//! Redis goes away in the middle of a test and comes back: local clients
//! keep working, requests to other nodes fail in bounded time, the outage is
//! logged once per node, and the nodes reconnect, resubscribe and see each
//! other again.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// Collects what the tracing subscriber writes.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// One thread: the log subscriber set for this thread sees every task.
#[tokio::test(flavor = "current_thread")]
async fn redis_killed_and_restarted_mid_test() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut redis = RedisServer::start();
    let (a, b) = (
        node(&redis.url(), |io| {
            io.ns("/", |socket| async move {
                socket.on("echo", |ev| async move {
                    let _ = ev.ack(&ev.arguments());
                });
            });
            io.dynamic_ns(|name, _| name.starts_with("/dyn-"), |_| async {});
        })
        .await,
        node(&redis.url(), |_| {}).await,
    );
    wait_server_count(&[&a, &b], 2).await;
    let (ca, mut ea) = client(&a.url()).await;
    let (_cb, mut eb) = client(&b.url()).await;
    a.io.emit("before", &()).unwrap();
    assert!(arrives(&mut eb, "before", 3000).await);

    redis.kill();
    // Both nodes notice the loss.
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.adapter.is_connected() || b.adapter.is_connected() {
        assert!(Instant::now() < deadline, "the outage went unnoticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Local clients keep working: events, acks, local broadcasts.
    let (reply,): (String,) = ca.emit_with_ack("echo", &("still here",)).await.unwrap();
    assert_eq!(reply, "still here");
    a.io.emit("during", &(1,)).unwrap();
    assert!(arrives(&mut ea, "during", 3000).await);
    assert!(
        !arrives(&mut eb, "during", 300).await,
        "no Redis, no cross-node delivery"
    );

    // New clients connect at once, to existing and to new namespaces.
    let started = Instant::now();
    let (late, _) = client(&a.url()).await;
    assert!(late.connected());
    let other = sio_client::ClientBuilder::new(&format!("{}/dyn-1", a.url()))
        .connect()
        .await
        .unwrap();
    assert!(other.connected());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // Requests to other nodes fail, in bounded time, never hang.
    let limit = test_config().request_timeout + Duration::from_secs(1);
    let started = Instant::now();
    assert!(a.io.of("/").fetch_sockets().await.is_err());
    assert!(a.io.of("/").server_count().await.is_err());
    assert!(a
        .io
        .of("/")
        .server_side_emit_with_ack("x", &())
        .await
        .is_err());
    let acks =
        a.io.timeout(Duration::from_secs(10))
            .emit_with_ack::<_, Vec<sio_proto::Value>>("q", &())
            .await;
    assert!(acks.is_err(), "{acks:?}");
    assert!(started.elapsed() < limit * 4, "{:?}", started.elapsed());

    // A few reconnection attempts fail while Redis is away: logged once.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    redis.restart();
    wait_server_count(&[&a, &b], 2).await;
    assert!(a.adapter.is_connected() && b.adapter.is_connected());

    // Cross-node works again, both ways, resubscribed.
    a.io.emit("after", &("a",)).unwrap();
    assert!(arrives(&mut eb, "after", 3000).await);
    b.io.emit("after-b", &()).unwrap();
    assert!(arrives(&mut ea, "after-b", 3000).await);
    assert_eq!(a.io.of("/").fetch_sockets().await.unwrap().len(), 3);

    let text = logs.text();
    let lost = text.matches("redis connection lost").count();
    let unreachable = text.matches("redis unreachable").count();
    let back = text.matches("redis reconnected").count();
    // Per node: one line when the outage starts, one when it ends.
    assert_eq!(lost + unreachable, 2, "{text}");
    assert_eq!(back, 2, "{text}");
}
