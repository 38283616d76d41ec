//! The cluster layer with a scripted cluster adapter (no Redis): what the
//! server hands to the adapter, and how it merges the other nodes' answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_server::adapter::{BroadcastOptions, Room};
use sio_server::cluster::{
    AckSink, AdapterError, AdapterFactory, BoxFuture, BroadcastFlags, Cluster, ClusterAdapter,
    SocketInfo,
};
use sio_server::proto::Value;
use sio_server::{AckError, SocketIo, SocketIoConfig};

/// Records calls; plays two other nodes.
#[derive(Default)]
struct Scripted {
    calls: Mutex<Vec<String>>,
    /// Answer broadcast acks (else: never).
    answer_acks: bool,
}

impl Scripted {
    fn log(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
}

impl Cluster for Scripted {
    fn ready(&self) -> BoxFuture<Result<(), AdapterError>> {
        Box::pin(async { Ok(()) })
    }
    fn request_timeout(&self) -> Duration {
        Duration::from_millis(300)
    }
    fn broadcast(&self, data: &[Value], opts: &BroadcastOptions, flags: &BroadcastFlags) {
        self.log(format!(
            "broadcast {:?} to {:?} except {:?} volatile {}",
            data[0].as_str(),
            opts.rooms,
            opts.except,
            flags.volatile
        ));
    }
    fn broadcast_with_ack(
        &self,
        _: &[Value],
        _: &BroadcastOptions,
        flags: &BroadcastFlags,
        sink: AckSink,
    ) {
        self.log(format!("broadcast_with_ack timeout {:?}", flags.timeout));
        if self.answer_acks {
            // Node 2 has two clients, node 3 one; acks may come before counts.
            sink.ack(Value::from("x"));
            sink.client_count(2);
            sink.ack(Value::from("y"));
            sink.client_count(1);
            sink.ack(Value::from("z"));
        } else {
            sink.client_count(1);
            sink.client_count(0);
        }
    }
    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        Box::pin(async { Ok(3) })
    }
    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>> {
        self.log(format!("fetch {:?}", opts.rooms));
        Box::pin(async {
            Ok(vec![SocketInfo {
                id: "remote1".into(),
                handshake: Value::Null,
                rooms: vec!["remote1".into(), "r".into()],
                data: Value::from(7),
            }])
        })
    }
    fn sockets_join(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.log(format!("join {:?} {:?}", opts.rooms, rooms));
    }
    fn sockets_leave(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.log(format!("leave {:?} {:?}", opts.rooms, rooms));
    }
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.log(format!("disconnect {:?} {close}", opts.except));
    }
    fn server_side_emit(&self, data: &[Value]) {
        self.log(format!("sse {:?}", data[0].as_str()));
    }
    fn server_side_emit_with_ack(
        &self,
        _: &[Value],
    ) -> BoxFuture<Result<Vec<Value>, AdapterError>> {
        Box::pin(async { Err(AdapterError::Timeout("serverSideEmit".into())) })
    }
}

type Made = Arc<Mutex<Option<Arc<ClusterAdapter<Scripted>>>>>;

fn server(answer_acks: bool) -> (SocketIo, Made) {
    let made: Made = Arc::default();
    let m = made.clone();
    let io = SocketIo::new(SocketIoConfig {
        adapter: AdapterFactory::new(move |node| {
            let a = Arc::new(ClusterAdapter::new(Scripted {
                answer_acks,
                ..Default::default()
            }));
            if node.name() == "/" {
                *m.lock().unwrap() = Some(a.clone());
            }
            a
        }),
        ..Default::default()
    });
    (io, made)
}

fn calls(made: &Made) -> Vec<String> {
    let a = made.lock().unwrap().clone().unwrap();
    let c = std::mem::take(&mut *a.inner().calls.lock().unwrap());
    c
}

#[tokio::test]
async fn operations_reach_the_cluster_and_answers_merge() {
    let (io, made) = server(true);
    let ns = io.of("/");
    ns.ready().await.unwrap();

    io.to("r").except("x").volatile().emit("ev", &(1,)).unwrap();
    io.local().emit("only-here", &()).unwrap();
    ns.sockets_join("a");
    ns.local().sockets_join("b");
    io.to("r").sockets_leave("c");
    ns.except("e").disconnect_sockets(true);
    ns.server_side_emit("tell", &()).unwrap();
    assert_eq!(
        calls(&made),
        [
            r#"broadcast Some("ev") to ["r"] except ["x"] volatile true"#,
            r#"join [] ["a"]"#,
            r#"leave ["r"] ["c"]"#,
            r#"disconnect ["e"] true"#,
            r#"sse Some("tell")"#,
        ]
    );

    // Broadcast acks: complete when 3 nodes reported and 3 answers came.
    let mut answers: Vec<String> = io
        .timeout(Duration::from_secs(1))
        .emit_with_ack("q", &())
        .await
        .unwrap();
    answers.sort();
    assert_eq!(answers, ["x", "y", "z"]);
    // Without a timeout, the adapter's request timeout is the bound it is given.
    let _ = io.emit_with_ack::<_, Vec<String>>("q", &()).await;
    assert_eq!(
        calls(&made),
        [
            "broadcast_with_ack timeout Some(1s)",
            "broadcast_with_ack timeout Some(300ms)"
        ]
    );

    let fetched = io.to("r").fetch_sockets().await.unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].id(), "remote1");
    assert!(fetched[0].local().is_none());
    assert_eq!(fetched[0].data().as_u64(), Some(7));
    assert_eq!(calls(&made), [r#"fetch ["r"]"#]);
    assert!(io.local().fetch_sockets().await.unwrap().is_empty());
    assert!(calls(&made).is_empty(), "local() asks no other node");

    assert_eq!(ns.server_count().await, Ok(3));
    assert_eq!(
        ns.server_side_emit_with_ack("ask", &()).await,
        Err(AckError::Adapter(AdapterError::Timeout(
            "serverSideEmit".into()
        )))
    );
}

#[tokio::test]
async fn broadcast_acks_time_out_when_a_node_is_missing() {
    // A node reports one client that never answers.
    let (io, _made) = server(false);
    let started = std::time::Instant::now();
    let r = io
        .timeout(Duration::from_millis(200))
        .emit_with_ack::<_, Vec<String>>("q", &())
        .await;
    assert_eq!(r, Err(AckError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn without_a_cluster_one_node() {
    let io = SocketIo::new(Default::default());
    let ns = io.of("/");
    ns.ready().await.unwrap();
    assert_eq!(ns.server_count().await, Ok(1));
    assert_eq!(ns.server_side_emit_with_ack("x", &()).await, Ok(vec![]));
    assert!(ns.fetch_sockets().await.unwrap().is_empty());
    let none: Vec<Value> = io.emit_with_ack("q", &()).await.unwrap();
    assert!(none.is_empty());
}
