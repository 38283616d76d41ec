//! In-process tests of the server API: what the wire alone cannot show
//! (ordering of handler execution, cleanup after disconnect, middleware
//! order, ack bookkeeping). A minimal raw WebSocket client speaks the
//! protocol; the interop suites in tests/interop cover the wire with the
//! official clients.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sio_server::{AckError, ConnectError, MiddlewareError, Socket, SocketIo, SocketIoConfig};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn start(io: &SocketIo) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sio_server::serve(listener, io.service()));
    addr
}

/// Connects and joins `/`; returns the socket and the CONNECT reply.
async fn connect(addr: std::net::SocketAddr, auth: &str) -> (Ws, String) {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open = next_text(&mut ws).await;
    assert!(open.starts_with("0{"), "{open}");
    ws.send(Message::text(format!("40{auth}"))).await.unwrap();
    let reply = next_text(&mut ws).await;
    (ws, reply)
}

/// The next text frame that is not a ping (pings are answered).
async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame in time");
        match msg {
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                ws.send(Message::text("3")).await.unwrap()
            }
            Some(Ok(Message::Text(t))) => return t.to_string(),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn quick() -> SocketIoConfig {
    let mut config = SocketIoConfig::default();
    config.engine.ping_interval = Duration::from_millis(300);
    config.engine.ping_timeout = Duration::from_millis(200);
    config
}

#[tokio::test]
async fn handlers_start_in_arrival_order_even_when_they_await() {
    let io = SocketIo::new(quick());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    io.ns("/", move |socket: Arc<Socket>| {
        let s = s.clone();
        async move {
            socket.on("n", move |ev| {
                let s = s.clone();
                async move {
                    let (n,): (u32,) = ev.args().unwrap();
                    // The synchronous part runs in arrival order...
                    s.lock().unwrap().push(n);
                    // ...even when the handler then waits.
                    tokio::time::sleep(Duration::from_millis(u64::from(n % 3))).await;
                    ev.ack(&(n,)).unwrap();
                }
            });
        }
    });
    let addr = start(&io).await;
    let (mut ws, reply) = connect(addr, "").await;
    assert!(reply.starts_with("40{\"sid\":"), "{reply}");
    for n in 0..200u32 {
        ws.send(Message::text(format!("42{n}[\"n\",{n}]")))
            .await
            .unwrap();
    }
    let mut acked = 0;
    while acked < 200 {
        let t = next_text(&mut ws).await;
        assert!(t.starts_with("43"), "{t}");
        acked += 1;
    }
    assert_eq!(*seen.lock().unwrap(), (0..200).collect::<Vec<_>>());
}

#[tokio::test]
async fn disconnect_releases_the_socket_and_its_rooms() {
    let io = SocketIo::new(quick());
    let weak: Arc<Mutex<Option<Weak<Socket>>>> = Arc::default();
    let w = weak.clone();
    io.ns("/", move |socket: Arc<Socket>| {
        socket.join(["a", "b"]);
        socket.on("wait", |ev| async move {
            // An ack the client will never send.
            let _ = ev.socket().emit_with_ack::<_, ()>("q", &()).await;
        });
        *w.lock().unwrap() = Some(Arc::downgrade(&socket));
        async {}
    });
    let addr = start(&io).await;
    let (mut ws, _) = connect(addr, "").await;
    ws.send(Message::text("42[\"wait\"]")).await.unwrap();
    assert!(next_text(&mut ws).await.starts_with("420[\"q\"]"));
    let ns = io.of("/");
    assert_eq!(ns.sockets().len(), 1);
    assert_eq!(ns.adapter().rooms().len(), 3);
    let socket = weak.lock().unwrap().clone().unwrap().upgrade().unwrap();
    assert_eq!(socket.pending_acks(), 1);
    drop(socket);
    ws.close(None).await.unwrap();
    // The close reaches the server; everything is released.
    for _ in 0..50 {
        if weak.lock().unwrap().as_ref().unwrap().upgrade().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        weak.lock().unwrap().as_ref().unwrap().upgrade().is_none(),
        "the socket is freed"
    );
    assert!(ns.sockets().is_empty());
    assert!(ns.adapter().rooms().is_empty());
    assert_eq!(io.engine().session_count(), 0);
}

#[tokio::test]
async fn middlewares_run_in_order_and_catch_all_comes_first() {
    let io = SocketIo::new(quick());
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let ns = io.of("/");
    for name in ["m1", "m2", "m3"] {
        let l = log.clone();
        ns.use_middleware(move |socket: Arc<Socket>| {
            let l = l.clone();
            async move {
                assert!(
                    !socket.connected(),
                    "middlewares run before the socket joins"
                );
                l.lock().unwrap().push(name.to_owned());
                if name == "m2" && socket.handshake().auth.get("stop").is_some() {
                    return Err(
                        ConnectError::new("stopped").with_data(serde_json::json!({"at": name}))
                    );
                }
                Ok(())
            }
        });
    }
    let l = log.clone();
    ns.on_connection(move |socket: Arc<Socket>| {
        let l = l.clone();
        async move {
            l.lock().unwrap().push("connection".into());
            let l1 = l.clone();
            socket.on_any(move |ev| l1.lock().unwrap().push(format!("any:{}", ev.name())));
            let l2 = l.clone();
            socket.use_middleware(move |ev| {
                l2.lock().unwrap().push(format!("use:{}", ev.name()));
                if ev.name() == "no" {
                    Err(MiddlewareError::new("refused"))
                } else {
                    Ok(())
                }
            });
            let l3 = l.clone();
            socket.on_error(move |_, err| l3.lock().unwrap().push(format!("error:{err}")));
            let l4 = l.clone();
            socket.on("yes", move |ev| {
                let l4 = l4.clone();
                async move {
                    l4.lock().unwrap().push("handler:yes".into());
                    ev.ack(&()).unwrap();
                }
            });
        }
    });
    let addr = start(&io).await;
    let (_ws, reply) = connect(addr, "{\"stop\":true}").await;
    assert_eq!(reply, r#"44{"message":"stopped","data":{"at":"m2"}}"#);
    assert_eq!(*log.lock().unwrap(), ["m1", "m2"]);
    log.lock().unwrap().clear();

    let (mut ws, reply) = connect(addr, "").await;
    assert!(reply.starts_with("40{"));
    ws.send(Message::text("42[\"no\"]")).await.unwrap();
    ws.send(Message::text("421[\"yes\"]")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "431[]");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "m1",
            "m2",
            "m3",
            "connection",
            "any:no",
            "use:no",
            "error:refused",
            "any:yes",
            "use:yes",
            "handler:yes"
        ]
    );
}

#[tokio::test]
async fn ack_timeout_removes_the_pending_ack() {
    let io = SocketIo::new(quick());
    type Outcome = (Result<(String,), AckError>, usize);
    let result: Arc<Mutex<Option<Outcome>>> = Arc::default();
    let r = result.clone();
    io.ns("/", move |socket: Arc<Socket>| {
        let r = r.clone();
        async move {
            let outcome = socket
                .timeout(Duration::from_millis(100))
                .emit_with_ack::<_, (String,)>("q", &(1,))
                .await;
            *r.lock().unwrap() = Some((outcome, socket.pending_acks()));
        }
    });
    let addr = start(&io).await;
    let (mut ws, _) = connect(addr, "").await;
    assert_eq!(next_text(&mut ws).await, "420[\"q\",1]");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (outcome, pending) = result.lock().unwrap().take().expect("the ack settled");
    assert_eq!(outcome, Err(AckError::Timeout));
    assert_eq!(pending, 0);
    // A late answer is ignored.
    ws.send(Message::text("430[\"late\"]")).await.unwrap();
}

#[tokio::test]
async fn callback_acks_get_the_answer_or_the_timeout() {
    let io = SocketIo::new(quick());
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let g = got.clone();
    io.ns("/", move |socket: Arc<Socket>| {
        let (g1, g2) = (g.clone(), g.clone());
        socket.emit_with_callback("q1", &(), move |r: Result<(String,), AckError>| {
            g1.lock().unwrap().push(format!("{r:?}"));
        });
        socket
            .timeout(Duration::from_millis(50))
            .emit_with_callback("q2", &(), move |r: Result<(), AckError>| {
                g2.lock().unwrap().push(format!("{r:?}"));
            });
        async {}
    });
    let addr = start(&io).await;
    let (mut ws, _) = connect(addr, "").await;
    assert_eq!(next_text(&mut ws).await, "420[\"q1\"]");
    assert_eq!(next_text(&mut ws).await, "421[\"q2\"]");
    ws.send(Message::text("430[\"ok\"]")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut got = got.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, ["Err(Timeout)", "Ok((\"ok\",))"]);
}

#[tokio::test]
async fn reserved_event_names_are_refused_on_emit() {
    let io = SocketIo::new(quick());
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = errors.clone();
    io.ns("/", move |socket: Arc<Socket>| {
        for name in [
            "connect",
            "connect_error",
            "disconnect",
            "disconnecting",
            "newListener",
            "removeListener",
        ] {
            e.lock()
                .unwrap()
                .push(socket.emit(name, &()).unwrap_err().to_string());
        }
        async {}
    });
    let addr = start(&io).await;
    let _ = connect(addr, "").await;
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 6);
    assert_eq!(errors[0], "\"connect\" is a reserved event name");
}

#[tokio::test]
async fn empty_dynamic_children_are_cleaned_up_when_asked() {
    let mut config = quick();
    config.cleanup_empty_child_namespaces = true;
    let io = SocketIo::new(config);
    io.dynamic_ns(
        |name, _| name.starts_with("/room-"),
        |_socket: Arc<Socket>| async {},
    );
    let addr = start(&io).await;
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert!(next_text(&mut ws).await.starts_with("0{"));
    ws.send(Message::text("40/room-1,")).await.unwrap();
    assert!(next_text(&mut ws).await.starts_with("40/room-1,{\"sid\""));
    assert!(io.get_ns("/room-1").is_some());
    ws.send(Message::text("41/room-1,")).await.unwrap();
    for _ in 0..50 {
        if io.get_ns("/room-1").is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(io.get_ns("/room-1").is_none(), "the empty child is gone");
    // A new connection creates it again.
    ws.send(Message::text("40/room-1,")).await.unwrap();
    assert!(next_text(&mut ws).await.starts_with("40/room-1,{\"sid\""));
    assert!(io.get_ns("/room-1").is_some());
}
