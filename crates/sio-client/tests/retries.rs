//! At-least-once delivery (`retries`): a server that ignores the first
//! attempts gets exactly the expected deliveries, in order, one at a time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_client::{AckError, ClientBuilder, Transport};
use sio_server::{Socket, SocketIo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_until_acked_then_give_up() {
    let io = SocketIo::new(Default::default());
    // Deliveries per job id, in arrival order.
    let log: Arc<Mutex<Vec<u32>>> = Arc::default();
    let l = log.clone();
    io.ns("/", move |socket: Arc<Socket>| {
        let l = l.clone();
        let counts: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
        async move {
            socket.on("job", move |ev| {
                let (l, counts) = (l.clone(), counts.clone());
                async move {
                    let (id,): (u32,) = ev.args().unwrap();
                    l.lock().unwrap().push(id);
                    let n = {
                        let mut c = counts.lock().unwrap();
                        *c.entry(id).or_default() += 1;
                        c[&id]
                    };
                    // Job 99 is never acked; the others on their third delivery.
                    if id != 99 && n >= 3 {
                        ev.ack(&(format!("done {id}"),)).unwrap();
                    }
                }
            });
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sio_server::serve(listener, io.service()));

    let socket = ClientBuilder::new(&format!("http://{addr}"))
        .transports([Transport::WebSocket])
        .retries(3)
        .ack_timeout(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    let first = socket.emit_with_ack::<_, (String,)>("job", &(1u32,));
    let second = socket.emit_with_ack::<_, (String,)>("job", &(2u32,));
    assert_eq!(first.await.unwrap().0, "done 1");
    assert_eq!(second.await.unwrap().0, "done 2");
    // One in flight at a time: all of job 1's deliveries come before job 2's.
    assert_eq!(*log.lock().unwrap(), [1, 1, 1, 2, 2, 2]);

    log.lock().unwrap().clear();
    let never = socket.emit_with_ack::<_, (String,)>("job", &(99u32,)).await;
    assert_eq!(never, Err(AckError::Timeout));
    assert_eq!(
        *log.lock().unwrap(),
        [99, 99, 99, 99],
        "sent once, then 3 retries"
    );
}
