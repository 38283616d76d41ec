//! `sio serve` end to end: the binary starts, prints its URL, serves the
//! chat page and the official browser client (from the npm package in
//! crates/sio-cli/client), the official Node.js client connects and chats,
//! the log shows it; bad options fail clearly. The chat protocol in depth is
//! tests/interop/serve-client.test.mjs, the page in a browser
//! tests/interop/browser-chat.test.mjs.
//!
//! Needs `scripts/setup` (npm packages of tests/interop and
//! crates/sio-cli/client). Every process is bounded in time and killed when
//! the test ends, pass or fail.

#[path = "../../sio-server/tests/common/http_client.rs"]
mod http_client;

use http_client::Reply;
use sio_testkit::root;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

fn client_package() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("client/node_modules/socket.io-client")
}

/// A running `sio serve`, killed when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = sio(&[&["serve", "--port", "0"], args].concat())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = l.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (tx, rx): (_, Receiver<String>) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut serve = Serve {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            log,
        };
        let line = rx
            .recv_timeout(LIMIT)
            .unwrap_or_else(|_| panic!("no URL printed; log:\n{}", serve.log.lock().unwrap()));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"));
        serve.addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        serve
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Waits until the log has a line containing `needle`.
    fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log.lock().unwrap().clone();
            if let Some(line) = log.lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?} in:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// GET `path`.
fn get(addr: SocketAddr, path: &str) -> Reply {
    http_client::request(addr, "GET", path, &[])
}

/// `sio ARGS` with stdin closed and stdout/stderr piped.
fn sio(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sio"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `sio` with `args` to completion (bounded).
fn run_sio(args: &[&str]) -> Output {
    finish(sio(args).spawn().unwrap())
}

/// Waits for `child` at most [`LIMIT`], killing it past that.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process still running after {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn serves_the_page_and_the_browser_client_and_stops_on_ctrl_c() {
    let mut serve = Serve::start(&[]);
    let page = get(serve.addr, "/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains(r#"<script src="/socket.io/socket.io.js"></script>"#));

    let bundle = get(serve.addr, "/socket.io/socket.io.js");
    assert_eq!(bundle.status, 200);
    let package_json = std::fs::read_to_string(client_package().join("package.json")).unwrap();
    let version = serde_json::from_str::<serde_json::Value>(&package_json).unwrap()["version"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        bundle.header("etag"),
        Some(format!("\"{version}\"").as_str())
    );
    let on_disk = std::fs::read(client_package().join("dist/socket.io.js")).unwrap();
    assert!(
        bundle.body == on_disk,
        "the bundle of the npm package, byte for byte"
    );

    assert_eq!(
        get(serve.addr, "/socket.io/socket.io.min.js.map").status,
        200
    );
    assert_eq!(get(serve.addr, "/missing").status, 404);
    serve.wait_for_log(&format!("socket.io-client {version}"));

    // Ctrl-C: a clean stop, status 0.
    let pid = serve.child.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = serve.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    serve.wait_for_log("stopped");
}

#[test]
fn the_official_client_connects_and_chats_and_the_log_shows_it() {
    let serve = Serve::start(&[]);
    // The official Node.js client: connect as "dora", join, post, print both acks.
    let script = r#"
        import { io } from "socket.io-client";
        const socket = io(process.argv[1], { auth: { name: "dora" }, reconnection: false });
        socket.on("connect_error", (e) => { console.error(e.message); process.exit(2); });
        socket.on("connect", async () => {
          const joined = await socket.timeout(5000).emitWithAck("join", { room: "lobby" });
          const sent = await socket.timeout(5000).emitWithAck("message", { room: "lobby", text: "hi" });
          console.log(JSON.stringify({ id: socket.id, joined, sent }));
          socket.disconnect();
        });
    "#;
    let child = Command::new("node")
        .args(["--input-type=module", "-e", script, &serve.url()])
        .current_dir(root().join("tests/interop"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node on PATH");
    let out = finish(child);
    assert!(
        out.status.success(),
        "node client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = reply["id"].as_str().unwrap();
    assert_eq!(reply["joined"]["ok"], true);
    assert_eq!(reply["joined"]["members"][0]["name"], "dora");
    assert_eq!(reply["sent"]["ok"], true);
    assert!(reply["sent"]["id"].as_str().unwrap().starts_with('m'));
    let connect = serve.wait_for_log(&format!("connect {id} \"dora\" from 127.0.0.1:"));
    assert!(connect.contains(" over "), "{connect}");
    serve.wait_for_log(&format!("{id} \"dora\" joined \"lobby\""));
    serve.wait_for_log(&format!("disconnect {id} \"dora\""));
}

#[test]
fn an_unreachable_redis_is_a_clear_error() {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let out = run_sio(&["serve", "--port", "0", "--redis", &url]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("sio serve: --redis {url}")),
        "{stderr}"
    );
}

#[test]
fn a_missing_client_package_or_a_taken_port_is_a_clear_error() {
    let out = run_sio(&[
        "serve",
        "--port",
        "0",
        "--client-dir",
        "/nonexistent/socket.io-client",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--client-dir"), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/socket.io-client/package.json"),
        "{stderr}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run_sio(&["serve", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn another_client_package_can_be_named() {
    // The socket.io-client of tests/interop, by --client-dir.
    let dir = root().join("tests/interop/node_modules/socket.io-client");
    let serve = Serve::start(&["--client-dir", dir.to_str().unwrap()]);
    let bundle = get(serve.addr, "/socket.io/socket.io.min.js");
    assert_eq!(bundle.status, 200);
    assert!(bundle.body == std::fs::read(dir.join("dist/socket.io.min.js")).unwrap());
}
