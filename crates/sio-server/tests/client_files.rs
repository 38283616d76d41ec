//! Serving the browser client (`SocketIoConfig::serve_client`), on the wire,
//! side by side with the official Node.js server's `serveClient`
//! (tests/interop/lib/serve-client-reference.mjs): same status, same
//! headers, same bytes once decoded, for every file and every
//! `Accept-Encoding` the reference negotiates.
//!
//! Needs the npm packages of tests/interop (`scripts/setup`).

#[path = "common/http_client.rs"]
mod http_client;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use http_client::{request, Reply};
use sio_server::engine::Cors;
use sio_server::{ClientFiles, ClientFilesError, SocketIo, SocketIoConfig, CLIENT_FILE_NAMES};

fn interop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

fn package(name: &str) -> PathBuf {
    interop().join("node_modules").join(name)
}

fn package_version(name: &str) -> String {
    let text = std::fs::read_to_string(package(name).join("package.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["version"].as_str().unwrap().to_owned()
}

/// The official server, killed when dropped.
struct Reference {
    child: Child,
    addr: SocketAddr,
}

impl Reference {
    fn start(args: &[&str]) -> Reference {
        let mut child = Command::new("node")
            .arg("lib/serve-client-reference.mjs")
            .args(args)
            .current_dir(interop())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node on PATH");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut reference = Reference {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
        };
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the reference server starts");
        let port: u16 = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        reference.addr = SocketAddr::from(([127, 0, 0, 1], port));
        reference
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts sio on a free port, on its own runtime thread.
fn start_sio(config: SocketIoConfig) -> SocketAddr {
    start_service(SocketIo::new(config).service())
}

/// Serves `service` on a free port, on its own runtime thread.
fn start_service<S, B>(service: S) -> SocketAddr
where
    S: tower_service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            sio_server::serve(listener, service).await.unwrap();
        });
    });
    addr
}

fn serving(files: ClientFiles) -> SocketIoConfig {
    SocketIoConfig {
        serve_client: Some(files),
        ..Default::default()
    }
}

/// The body of `reply` with its Content-Encoding undone.
fn decoded(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    match reply.header("content-encoding") {
        None => out = reply.body.clone(),
        Some("gzip") => {
            flate2::read::GzDecoder::new(&reply.body[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("deflate") => {
            flate2::read::ZlibDecoder::new(&reply.body[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(&reply.body[..], 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
    out
}

/// The headers both servers must agree on.
const COMPARED: [&str; 4] = ["content-type", "cache-control", "etag", "content-encoding"];

fn assert_same(what: &str, ours: &Reply, theirs: &Reply) {
    assert_eq!(ours.status, theirs.status, "{what}: status");
    for name in COMPARED {
        assert_eq!(ours.header(name), theirs.header(name), "{what}: {name}");
    }
}

#[test]
fn loads_the_installed_npm_package() {
    let files = ClientFiles::from_package(package("socket.io-client")).unwrap();
    assert_eq!(files.version(), package_version("socket.io-client"));
    assert_eq!(files.file_names().collect::<Vec<_>>(), CLIENT_FILE_NAMES);
    let on_disk = std::fs::read(package("socket.io-client").join("dist/socket.io.min.js")).unwrap();
    assert_eq!(files.get("socket.io.min.js").unwrap()[..], on_disk[..]);
    assert!(files.get("index.html").is_none());
    // The server package bundles the same files in client-dist/.
    let bundled = ClientFiles::from_package(package("socket.io")).unwrap();
    assert_eq!(bundled.version(), package_version("socket.io"));
    assert_eq!(bundled.file_names().count(), CLIENT_FILE_NAMES.len());
}

#[test]
fn answers_like_the_reference_server_for_every_file_and_encoding() {
    // Served from the same bytes as the reference (socket.io's client-dist),
    // so that bodies compare exactly.
    let files = ClientFiles::from_package(package("socket.io")).unwrap();
    let ours = start_sio(serving(files));
    let reference = Reference::start(&[]);
    let encodings = [
        "",
        "gzip",
        "deflate",
        "br",
        "gzip, deflate, br, zstd",
        "deflate, gzip",
        "br;q=0.5, gzip",
        "*",
        "identity",
    ];
    for name in CLIENT_FILE_NAMES {
        let expected = std::fs::read(package("socket.io").join("client-dist").join(name)).unwrap();
        // brotli at quality 11 on the source maps takes seconds in a debug
        // build: the maps get the codings browsers pick first, the bundles
        // all of them.
        let encodings: &[&str] = if name.ends_with(".map") {
            &encodings[..3]
        } else {
            &encodings
        };
        for accept in encodings {
            let headers: Vec<(&str, &str)> = if accept.is_empty() {
                vec![]
            } else {
                vec![("Accept-Encoding", accept)]
            };
            let path = format!("/socket.io/{name}");
            let a = request(ours, "GET", &path, &headers);
            let b = request(reference.addr, "GET", &path, &headers);
            let what = format!("GET {path} Accept-Encoding: {accept:?}");
            assert_same(&what, &a, &b);
            assert_eq!(a.status, 200, "{what}");
            assert!(
                decoded(&a) == expected,
                "{what}: our body decodes to the file"
            );
            assert!(decoded(&b) == expected, "{what}: the reference's body");
            if a.header("content-encoding").is_some() {
                assert!(a.body.len() < expected.len(), "{what}: compressed");
            }
        }
    }
}

#[test]
fn etag_head_query_and_other_paths_as_the_reference() {
    let files = ClientFiles::from_package(package("socket.io")).unwrap();
    let version = files.version().to_owned();
    let ours = start_sio(serving(files));
    let reference = Reference::start(&[]);
    let strong = format!("\"{version}\"");
    let weak = format!("W/\"{version}\"");
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case<'_>> = vec![
        (
            "GET",
            "/socket.io/socket.io.js",
            vec![("If-None-Match", strong.as_str())],
            304,
        ),
        (
            "GET",
            "/socket.io/socket.io.min.js",
            vec![("If-None-Match", weak.as_str())],
            304,
        ),
        (
            "GET",
            "/socket.io/socket.io.js",
            vec![("If-None-Match", "\"1.0.0\"")],
            200,
        ),
        ("GET", "/socket.io/socket.io.js?v=2", vec![], 200),
        (
            "HEAD",
            "/socket.io/socket.io.min.js",
            vec![("Accept-Encoding", "gzip")],
            200,
        ),
        // Not a client file: the engine answers (unknown transport).
        ("GET", "/socket.io/index.html", vec![], 400),
        ("GET", "/socket.io/x/socket.io.js", vec![], 400),
    ];
    for (method, path, headers, status) in cases {
        let a = request(ours, method, path, &headers);
        let b = request(reference.addr, method, path, &headers);
        let what = format!("{method} {path} {headers:?}");
        assert_eq!(a.status, status, "{what}");
        assert_eq!(b.status, status, "{what}: the reference");
        if status == 200 {
            assert_same(&what, &a, &b);
        }
        if status != 200 || method == "HEAD" {
            assert!(
                a.body.is_empty() == (status != 400),
                "{what}: body {:?}",
                a.body.len()
            );
        }
        if status == 400 {
            assert_eq!(a.body, b.body, "{what}: same engine error");
        }
    }
    // HEAD announces the length GET sends.
    let head = request(
        ours,
        "HEAD",
        "/socket.io/socket.io.min.js",
        &[("Accept-Encoding", "gzip")],
    );
    let get = request(
        ours,
        "GET",
        "/socket.io/socket.io.min.js",
        &[("Accept-Encoding", "gzip")],
    );
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
}

#[test]
fn off_by_default_like_serve_client_false() {
    let ours = start_sio(SocketIoConfig::default());
    let reply = request(ours, "GET", "/socket.io/socket.io.js", &[]);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body, br#"{"code":0,"message":"Transport unknown"}"#);
}

#[test]
fn other_methods_are_refused_and_cors_applies() {
    let mut config = serving(ClientFiles::from_package(package("socket.io-client")).unwrap());
    config.engine.cors = Some(Cors::default());
    let ours = start_sio(config);
    let reference = Reference::start(&["--cors"]);
    let origin = [("Origin", "http://example.com")];
    let a = request(ours, "GET", "/socket.io/socket.io.js", &origin);
    let b = request(reference.addr, "GET", "/socket.io/socket.io.js", &origin);
    assert_eq!(a.status, 200);
    assert_eq!(a.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        a.header("access-control-allow-origin"),
        b.header("access-control-allow-origin")
    );
    let preflight = [
        ("Origin", "http://example.com"),
        ("Access-Control-Request-Method", "GET"),
    ];
    let a = request(ours, "OPTIONS", "/socket.io/socket.io.js", &preflight);
    let b = request(
        reference.addr,
        "OPTIONS",
        "/socket.io/socket.io.js",
        &preflight,
    );
    assert_eq!(a.status, 204);
    assert_eq!(a.status, b.status);
    // The reference would send the file to a POST; a file is for GET.
    let post = request(ours, "POST", "/socket.io/socket.io.js", &[]);
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[test]
fn the_layer_serves_the_files_in_front_of_another_service() {
    use tower_layer::Layer as _;
    let files = ClientFiles::from_package(package("socket.io-client")).unwrap();
    let io = SocketIo::new(serving(files));
    let addr = start_service(io.layer().layer(sio_server::NotFound));
    assert_eq!(
        request(addr, "GET", "/socket.io/socket.io.min.js", &[]).status,
        200
    );
    assert_eq!(request(addr, "GET", "/elsewhere", &[]).status, 404);
}

#[test]
fn bad_packages_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("sio-client-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    let err = ClientFiles::from_package(dir.join("missing")).unwrap_err();
    assert!(matches!(err, ClientFilesError::Io { .. }), "{err}");
    assert!(err.to_string().contains("package.json"), "{err}");

    std::fs::write(dir.join("package.json"), "{\"name\":\"x\"}").unwrap();
    let err = ClientFiles::from_package(&dir).unwrap_err();
    assert!(
        matches!(err, ClientFilesError::BadPackageJson { .. }),
        "{err}"
    );

    std::fs::write(dir.join("package.json"), "not json").unwrap();
    let err = ClientFiles::from_package(&dir).unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");

    std::fs::write(dir.join("package.json"), "{\"version\":\"4.0.0\"}").unwrap();
    let err = ClientFiles::from_package(&dir).unwrap_err();
    assert!(matches!(err, ClientFilesError::NoFiles { .. }), "{err}");

    std::fs::write(dir.join("dist/socket.io.js"), "console.log(1)").unwrap();
    let files = ClientFiles::from_package(&dir).unwrap();
    assert_eq!(files.file_names().collect::<Vec<_>>(), ["socket.io.js"]);

    let err = ClientFiles::from_dir(dir.join("dist"), "4.0\"").unwrap_err();
    assert!(matches!(err, ClientFilesError::BadVersion(_)), "{err}");
    let err = ClientFiles::from_dir(dir.join("dist"), "").unwrap_err();
    assert!(matches!(err, ClientFilesError::BadVersion(_)), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
