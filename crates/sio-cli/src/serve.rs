//! `sio serve`: a Socket.IO server with a small chat web app, on one port.
//!
//! ```text
//! sio serve [--port 3000] [--host 127.0.0.1] [--client-dir DIR] [--redis URL]
//! ```
//!
//! One listener answers three kinds of requests:
//! - `/socket.io/socket.io.js` (and the other bundles): the official browser
//!   client, from an installed npm package `socket.io-client`, served the
//!   way the Node.js server's `serveClient` does
//!   ([`sio_server::ClientFiles`]);
//! - `/socket.io/?EIO=4...`: the Socket.IO server (the chat, see [`chat`]);
//! - `/`, `/app.js`, `/style.css`: the chat page, compiled into the binary.
//!
//! The browser client is not copied into this repository: `--client-dir`
//! names an installed package (the folder holding its `package.json`). By
//! default `sio serve` looks for the one `scripts/serve` installs
//! (`crates/sio-cli/client/node_modules/socket.io-client`), then for
//! `node_modules/socket.io-client` in the current folder.
//!
//! It logs connections, joins and disconnections on stderr and prints the
//! URL to open on stdout (`sio serve: chat on http://127.0.0.1:3000/`),
//! then runs until Ctrl-C (exit status 0).
//!
//! Exit status: 1 when it cannot start (port taken, client package missing,
//! Redis unreachable with `--redis`).

mod chat;

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::ExitCode;
use std::task::{Context, Poll};

use bytes::Bytes;
use clap::Args;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use sio_redis::{RedisAdapter, RedisAdapterConfig};
use sio_server::{ClientFiles, SocketIo, SocketIoConfig};
use tower_layer::Layer as _;

/// The options of `sio serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The TCP port (0: any free port; the URL printed says which).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// An installed npm package socket.io-client (the folder with its package.json),
    /// served at /socket.io/socket.io.js.
    #[arg(long, value_name = "DIR")]
    client_dir: Option<PathBuf>,
    /// Share rooms and broadcasts with other servers through Redis.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
}

pub const SERVE_EXAMPLES: &str = "\
Examples:
  # The chat on http://127.0.0.1:3000/ (open it in two browser tabs):
  sio serve
  # Any free port, with the browser client from another npm install:
  sio serve --port 0 --client-dir ./node_modules/socket.io-client

`bash scripts/serve` installs the browser client (npm) and runs this.
Exit status: 0 after Ctrl-C, 1 could not start (port taken, no client package, Redis unreachable).";

/// Where the browser client is looked for when `--client-dir` is not given.
fn default_client_dirs() -> Vec<PathBuf> {
    vec![
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("client/node_modules/socket.io-client"),
        PathBuf::from("node_modules/socket.io-client"),
    ]
}

/// Loads the browser client: `--client-dir`, or the first default that
/// exists.
fn load_client(dir: Option<PathBuf>) -> Result<ClientFiles, String> {
    if let Some(dir) = dir {
        return ClientFiles::from_package(&dir).map_err(|e| {
            format!("--client-dir must be an installed npm package socket.io-client: {e}")
        });
    }
    let candidates = default_client_dirs();
    for dir in &candidates {
        if dir.join("package.json").is_file() {
            return ClientFiles::from_package(dir).map_err(|e| e.to_string());
        }
    }
    let tried: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
    Err(format!(
        "the browser client (npm package socket.io-client) is not installed; looked in {}. \
         Run `bash scripts/serve` (it installs it), or `npm install` in crates/sio-cli/client, \
         or pass --client-dir DIR",
        tried.join(", ")
    ))
}

/// Runs `sio serve` until Ctrl-C.
pub async fn run(args: ServeArgs) -> ExitCode {
    let client = match load_client(args.client_dir) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("sio serve: {e}");
            return ExitCode::from(1);
        }
    };
    let listener = match tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "sio serve: cannot listen on {}:{}: {e}",
                args.host, args.port
            );
            return ExitCode::from(1);
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("sio serve: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "sio serve: browser client socket.io-client {} ({} files)",
        client.version(),
        client.file_names().count()
    );
    let mut config = SocketIoConfig {
        serve_client: Some(client),
        ..Default::default()
    };
    // With --redis, the nodes started on one Redis form one chat: rooms,
    // member lists, messages and delivered ticks span them.
    let redis = match &args.redis {
        Some(url) => match RedisAdapter::connect(url, RedisAdapterConfig::default()).await {
            Ok(adapter) => {
                config.adapter = adapter.factory();
                eprintln!("sio serve: cluster on Redis {url}");
                Some(adapter)
            }
            Err(e) => {
                eprintln!("sio serve: --redis {url}: {e}");
                return ExitCode::from(1);
            }
        },
        None => None,
    };
    let io = SocketIo::new(config);
    chat::install(&io, redis.is_some());
    if let Err(e) = io.of("/").ready().await {
        eprintln!("sio serve: Redis subscription failed: {e}");
        return ExitCode::from(1);
    }
    let service = io.layer().layer(Assets);
    // Printed once the listener is bound: whoever waits for this line can connect.
    println!("sio serve: chat on http://{addr}/ (open it in a browser; Ctrl-C stops)");
    tokio::select! {
        result = sio_server::serve(listener, service) => {
            if let Err(e) = result {
                eprintln!("sio serve: {e}");
                return ExitCode::from(1);
            }
        }
        _ = tokio::signal::ctrl_c() => {
            io.close();
            if let Some(adapter) = &redis {
                adapter.close();
            }
            eprintln!("sio serve: stopped");
        }
    }
    ExitCode::SUCCESS
}

/// The chat page: three files compiled into the binary.
#[derive(Debug, Clone, Copy)]
struct Assets;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");

/// Only same-origin scripts, styles and connections (the page builds its
/// DOM with textContent, and this keeps it that way).
const CSP: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:";

impl Assets {
    fn respond(method: &Method, path: &str) -> Response<Full<Bytes>> {
        let (body, content_type) = match path {
            "/" | "/index.html" => (INDEX_HTML, "text/html; charset=utf-8"),
            "/app.js" => (APP_JS, "application/javascript; charset=utf-8"),
            "/style.css" => (STYLE_CSS, "text/css; charset=utf-8"),
            _ => return plain(StatusCode::NOT_FOUND, "not found\n"),
        };
        if method != Method::GET && method != Method::HEAD {
            let mut res = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            res.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return res;
        }
        let body = if method == Method::HEAD { "" } else { body };
        Response::builder()
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CACHE_CONTROL, "no-cache")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(header::CONTENT_SECURITY_POLICY, CSP)
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("valid response")
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .expect("valid response")
}

impl<B> tower_service::Service<Request<B>> for Assets {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        std::future::ready(Ok(Assets::respond(req.method(), req.uri().path())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_served_with_their_types() {
        let res = Assets::respond(&Method::GET, "/");
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(Assets::respond(&Method::GET, "/app.js").status(), 200);
        assert_eq!(Assets::respond(&Method::GET, "/nope").status(), 404);
        assert_eq!(Assets::respond(&Method::POST, "/").status(), 405);
        // The page loads the client from our server, and its own script.
        assert!(INDEX_HTML.contains(r#"<script src="/socket.io/socket.io.js"></script>"#));
        assert!(INDEX_HTML.contains(r#"<script src="/app.js"></script>"#));
    }
}
