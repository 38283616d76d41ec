//! Support for the guide's examples (`sio::__guide`, hidden from the docs).
//!
//! Every example of the guide runs both sides for real: an sio server on a
//! free port of 127.0.0.1 and an sio client connected to it. These helpers
//! keep the hidden part of each example to a line or two: start (and stop)
//! the server, and a console that stands for
//! `console.log` so that the example can assert what the Socket.IO docs
//! says is printed (see [`log`] and [`expect`]). The examples run on a
//! current-thread runtime (`#[tokio::main(flavor = "current_thread")]`).

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;
use sio_proto::Value;
use sio_server::SocketIo;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

/// How long [`Console::next`] waits before failing the example.
const WAIT: Duration = Duration::from_secs(5);

/// A server started by [`start`]: its URL, and the means to stop it.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections; with [`SocketIo::close`] this is a
    /// server going down. Returns the address, to start another one there.
    pub async fn stop(self) -> SocketAddr {
        self.task.abort();
        // Waiting for the task releases the listening socket before a
        // restart binds the same port.
        let _ = self.task.await;
        self.addr
    }
}

/// Serves `io` on `addr` (port 0: a free one).
pub async fn start_at(io: &SocketIo, addr: SocketAddr) -> Running {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(sio_server::serve(listener, io.service()));
    Running { addr, task }
}

/// Serves `io` on a free port of 127.0.0.1.
pub async fn start(io: &SocketIo) -> Running {
    start_at(io, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

/// Serves `io` on a free port of 127.0.0.1 until the runtime ends; returns
/// its URL.
pub async fn serve(io: &SocketIo) -> String {
    // Dropping the handle detaches the task: the server lives as long as
    // the example's runtime.
    start(io).await.url()
}

thread_local! {
    static CONSOLE: Console = Console::new();
}

/// What an example prints: `console.log` of the Socket.IO docs, one
/// [`Value`] a line. The examples run on a current-thread runtime, so the
/// handlers of both sides run on the example's thread and print to the same
/// console.
struct Console {
    tx: mpsc::UnboundedSender<Value>,
    rx: Rc<Mutex<mpsc::UnboundedReceiver<Value>>>,
}

impl Console {
    fn new() -> Console {
        let (tx, rx) = mpsc::unbounded_channel();
        Console {
            tx,
            rx: Rc::new(Mutex::new(rx)),
        }
    }
}

/// Prints one line (anything serializable) to this thread's console.
pub fn log<T: Serialize + ?Sized>(line: &T) {
    let value = sio_proto::to_value(line).expect("a serializable line");
    CONSOLE.with(|c| {
        let _ = c.tx.send(value);
    });
}

/// The next line printed, waiting for it (at most 5 s, then the example
/// fails).
pub async fn next() -> Value {
    let rx = CONSOLE.with(|c| c.rx.clone());
    let mut rx = rx.lock().await;
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(line)) => line,
        _ => panic!("nothing was printed within {WAIT:?}"),
    }
}

/// Waits for the next line and checks that it is `expected`.
pub async fn expect<T: Serialize + ?Sized>(expected: &T) {
    let expected = sio_proto::to_value(expected).expect("a serializable line");
    assert_eq!(next().await, expected);
}

/// Waits for as many lines as `expected` has and checks that they are
/// those, in any order (what several clients print comes in no set order).
pub async fn expect_unordered<T: Serialize>(expected: &[T]) {
    let key = |v: &Value| format!("{v:?}");
    let mut want: Vec<Value> = expected
        .iter()
        .map(|e| sio_proto::to_value(e).expect("a serializable line"))
        .collect();
    let mut got = Vec::with_capacity(want.len());
    for _ in 0..want.len() {
        got.push(next().await);
    }
    want.sort_by_key(key);
    got.sort_by_key(key);
    assert_eq!(got, want);
}

/// Checks that nothing is printed for `wait`.
pub async fn expect_nothing(wait: Duration) {
    tokio::time::sleep(wait).await;
    let rx = CONSOLE.with(|c| c.rx.clone());
    let line = rx.lock().await.try_recv();
    assert!(line.is_err(), "unexpected line: {line:?}");
}
