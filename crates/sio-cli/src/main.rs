//! # sio: a command-line Socket.IO v4 client
//!
//! Built on `sio-client`. Two subcommands:
//!
//! ```text
//! sio emit URL EVENT [ARG_JSON ...] [--ack] [--timeout MS] [--namespace NS]
//!          [--auth JSON] [--transport websocket|polling|both]
//! sio listen URL [--event NAME ...] [--count N] [--namespace NS]
//!          [--auth JSON] [--timeout MS] [--transport websocket|polling|both]
//! ```
//!
//! `sio emit` connects, emits `EVENT` with one argument per `ARG_JSON` (each
//! parsed as JSON), and disconnects cleanly once the packet is sent. With
//! `--ack` it asks for an acknowledgement, waits for it (at most `--timeout`
//! ms) and prints the ack's arguments as one JSON array on one line.
//! Reconnection is off: it fails fast.
//!
//! `sio listen` connects and prints every event it receives as one JSON line
//! `["event", arg1, ...]` (stdout is flushed after each line), only the
//! events named by `--event` (repeatable) if any are given, and exits after
//! `--count` printed events if given. It reconnects after the connection
//! drops; connection status goes to stderr (`sio: connected to / as <id>`).
//!
//! ## Arguments and output
//!
//! - `URL` is `http(s)://host:port[/namespace][?query]` (`ws://` and `wss://`
//!   work too); its path is the namespace unless `--namespace` is given.
//! - Binary data: an object `{"_binary_base64": "..."}` (that key only, a
//!   standard base64 string) in an argument, at any depth, is sent as a
//!   binary attachment; received binary is printed the same way. Output is
//!   compact JSON (as `JSON.stringify` writes it), object keys in the order
//!   they arrived.
//! - `--auth JSON`: the handshake auth payload, a JSON object (no binary:
//!   Socket.IO sends it as plain JSON).
//! - An argument that starts with `-` and is a number (`-2.5`) is a value,
//!   not an option.
//! - `--transport`: `websocket` (WebSocket only), `polling` (HTTP
//!   long-polling only) or `both` (polling, then upgrade to WebSocket; the
//!   default).
//! - `--timeout MS` (default 5000): how long connecting may take, and for
//!   `emit --ack` how long to wait for the ack.
//!
//! ## Exit status
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success (`emit`: sent, and acked with `--ack`; `listen`: `--count` events printed) |
//! | 1 | any other failure (invalid JSON argument, bad URL, server disconnect, connection lost), with a one-line reason on stderr |
//! | 2 | `connect_error`: the server refused the connection (e.g. `Invalid namespace`, a middleware error) or the connection could not be opened; its message and data go to stderr |
//! | 3 | `emit --ack`: no acknowledgement within `--timeout` |
//! | 130 | `listen` stopped by Ctrl-C (it disconnects cleanly first) |
//!
//! ## Examples
//!
//! ```text
//! $ sio emit http://127.0.0.1:3000 message-with-ack 1 '"two"' '{"_binary_base64":"AAEC"}' --ack
//! [1,"two",{"_binary_base64":"AAEC"}]
//! $ sio emit http://127.0.0.1:3000/admin chat '"hello"' --auth '{"token":"abc"}'
//! $ sio listen http://127.0.0.1:3000 --event chat --count 1 --transport websocket
//! ["chat","hello"]
//! ```

mod bench;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use sio_client::proto::{Map, Value};
use sio_client::{AckError, ClientBuilder, ConnectError, ManagerOptions, Socket, Transport};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::{mpsc, oneshot};

mod serve;

/// The key of the JSON object that stands for binary data.
const BINARY_KEY: &str = "_binary_base64";

/// How long `sio` waits, at most, for the client's tasks to finish sending
/// (the last packets, the DISCONNECT, the transport close) before it exits.
const DRAIN: Duration = Duration::from_millis(200);

/// How long `sio emit` (without `--ack`) waits between the emit and the
/// DISCONNECT. Two reasons: `sio-client` cannot tell when an emit has left,
/// and the official server drops an event whose DISCONNECT arrives with it
/// (it dispatches events on the next tick, and ignores them once the socket
/// has disconnected), so the two must not reach it together.
const SETTLE: Duration = Duration::from_millis(150);

/// Extra time over `--timeout` for a namespace connection that got no answer
/// once the transport is open.
const CONNECT_GRACE: Duration = Duration::from_millis(500);

const EXAMPLES: &str = "\
Examples:
  sio emit http://127.0.0.1:3000 message-with-ack 1 '\"two\"' '{\"_binary_base64\":\"AAEC\"}' --ack
  sio emit http://127.0.0.1:3000/admin chat '\"hello\"' --auth '{\"token\":\"abc\"}'
  sio listen http://127.0.0.1:3000 --event chat --count 1 --transport websocket

Exit status: 0 success, 1 failure, 2 connect_error, 3 ack timeout.";

const EMIT_EXAMPLES: &str = "\
Examples:
  # Emit with three arguments (a number, a string, binary bytes 00 01 02),
  # wait for the ack and print its arguments as one JSON array:
  sio emit http://127.0.0.1:3000 message-with-ack 1 '\"two\"' '{\"_binary_base64\":\"AAEC\"}' --ack
  # Fire and forget on namespace /admin with an auth payload, WebSocket only:
  sio emit http://127.0.0.1:3000/admin chat '\"hello\"' --auth '{\"token\":\"abc\"}' --transport websocket
  # Give up if no ack comes within 300 ms (exit status 3):
  sio emit http://127.0.0.1:3000 slow-request '{\"id\":7}' --ack --timeout 300

Binary: an object {\"_binary_base64\": \"...\"} at any depth is sent as bytes, and
received bytes are printed that way.
Exit status: 0 success, 1 failure, 2 connect_error, 3 ack timeout.";

const LISTEN_EXAMPLES: &str = "\
Examples:
  # Print every event as a JSON line [\"event\", arg1, ...]:
  sio listen http://127.0.0.1:3000
  # Only `chat` and `news` events, exit after the first 5 of them:
  sio listen http://127.0.0.1:3000 --event chat --event news --count 5
  # Namespace /admin with an auth payload, long-polling only:
  sio listen http://127.0.0.1:3000 --namespace /admin --auth '{\"token\":\"abc\"}' --transport polling

Connection status goes to stderr; stdout has only the event lines.
Exit status: 0 after --count events, 1 failure, 2 connect_error, 130 Ctrl-C.";

#[derive(Parser, Debug)]
#[command(
    name = "sio",
    version,
    about = "A command-line Socket.IO v4 client: emit events, wait for acks, listen to events as JSON lines",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Connect, emit EVENT with JSON arguments (optionally wait for the ack), disconnect.
    #[command(after_help = EMIT_EXAMPLES, allow_negative_numbers = true)]
    Emit(EmitArgs),
    /// Connect and print received events as JSON lines.
    #[command(after_help = LISTEN_EXAMPLES)]
    Listen(ListenArgs),
    /// Load-test a server (loopback only): conn, echo, fanout, polling-echo.
    Bench(bench::BenchArgs),
    /// Run a Socket.IO server with a chat web page (and the browser client) on one port.
    #[command(after_help = serve::SERVE_EXAMPLES)]
    Serve(serve::ServeArgs),
}

#[derive(Args, Debug)]
struct EmitArgs {
    /// The server: http(s)://host:port[/namespace][?query]
    url: String,
    /// The event name.
    event: String,
    /// The arguments, one JSON value each ({"_binary_base64": "..."} is binary).
    #[arg(value_name = "ARG_JSON")]
    args: Vec<String>,
    /// Ask for an acknowledgement, wait for it and print its arguments as one JSON array.
    #[arg(long)]
    ack: bool,
    #[command(flatten)]
    conn: ConnArgs,
}

#[derive(Args, Debug)]
struct ListenArgs {
    /// The server: http(s)://host:port[/namespace][?query]
    url: String,
    /// Print only this event (repeatable).
    #[arg(long = "event", value_name = "NAME")]
    events: Vec<String>,
    /// Exit (status 0) after printing this many events.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    #[command(flatten)]
    conn: ConnArgs,
}

#[derive(Args, Debug)]
struct ConnArgs {
    /// The namespace (default: the URL's path, or /).
    #[arg(long, short = 'n', value_name = "NS")]
    namespace: Option<String>,
    /// The handshake auth payload, a JSON object.
    #[arg(long, value_name = "JSON")]
    auth: Option<String>,
    /// The transports to use.
    #[arg(long, value_enum, default_value_t = TransportArg::Both)]
    transport: TransportArg,
    /// Milliseconds allowed for connecting (and, with emit --ack, for the ack).
    #[arg(long, value_name = "MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum TransportArg {
    /// WebSocket only.
    Websocket,
    /// HTTP long-polling only.
    Polling,
    /// Long-polling first, then an upgrade to WebSocket.
    Both,
}

impl TransportArg {
    fn transports(self) -> Vec<Transport> {
        match self {
            TransportArg::Websocket => vec![Transport::WebSocket],
            TransportArg::Polling => vec![Transport::Polling],
            TransportArg::Both => vec![Transport::Polling, Transport::WebSocket],
        }
    }
}

/// Why `sio` exits non-zero.
#[derive(Debug)]
enum Failure {
    /// Status 1, with this one-line reason.
    Other(String),
    /// Status 2: a `connect_error`.
    Connect(ConnectError),
    /// Status 3: no ack in time.
    AckTimeout(Duration),
    /// Status 130: Ctrl-C (after a clean disconnect).
    Interrupted,
}

impl Failure {
    fn report(&self) -> ExitCode {
        match self {
            Failure::Other(reason) => {
                eprintln!("sio: {}", one_line(reason));
                ExitCode::from(1)
            }
            Failure::Connect(err) => {
                eprintln!("sio: {}", describe_connect_error(err));
                ExitCode::from(2)
            }
            Failure::AckTimeout(t) => {
                eprintln!("sio: no acknowledgement within {} ms", t.as_millis());
                ExitCode::from(3)
            }
            Failure::Interrupted => ExitCode::from(130),
        }
    }
}

fn describe_connect_error(err: &ConnectError) -> String {
    let mut line = format!("connect_error: {}", one_line(&err.message));
    if let Some(data) = &err.data {
        line.push_str(" (data: ");
        line.push_str(&to_json(data));
        line.push(')');
    }
    line
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Emit(args) => emit(args).await,
        Command::Listen(args) => listen(args).await,
        Command::Bench(args) => return bench::run(args).await,
        Command::Serve(args) => return serve::run(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

// ---- JSON <-> Value ---------------------------------------------------

/// Parses one JSON argument; `{"_binary_base64": "..."}` objects become bytes.
fn parse_json(what: &str, text: &str) -> Result<Value, Failure> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Failure::Other(format!("{what} is not valid JSON ({e}): {text}")))?;
    decode_binary(value).map_err(|e| Failure::Other(format!("{what}: {e}")))
}

/// Replaces every `{"_binary_base64": "..."}` object by the bytes it encodes.
fn decode_binary(value: Value) -> Result<Value, String> {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(Value::String(b64)) = map.get(BINARY_KEY) {
                    return BASE64
                        .decode(b64)
                        .map(|bytes| Value::Bytes(bytes.into()))
                        .map_err(|e| format!("invalid base64 in {BINARY_KEY} ({e})"));
                }
            }
            map.into_iter()
                .map(|(k, v)| decode_binary(v).map(|v| (k, v)))
                .collect::<Result<Map, String>>()
                .map(Value::Object)
        }
        Value::Array(items) => items
            .into_iter()
            .map(decode_binary)
            .collect::<Result<Vec<Value>, String>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

/// Replaces every byte buffer by `{"_binary_base64": "..."}`.
fn encode_binary(value: &Value) -> Value {
    match value {
        Value::Bytes(bytes) => {
            let mut map = Map::new();
            map.insert(BINARY_KEY.to_owned(), Value::String(BASE64.encode(bytes)));
            Value::Object(map)
        }
        Value::Array(items) => Value::Array(items.iter().map(encode_binary).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), encode_binary(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Compact JSON text of `value`, binary shown as `{"_binary_base64": "..."}`.
fn to_json(value: &Value) -> String {
    let mut out = Vec::new();
    let mut attachments = Vec::new();
    sio_client::proto::json::write_value(&mut out, &encode_binary(value), &mut attachments);
    String::from_utf8(out).unwrap_or_default()
}

// ---- connecting -------------------------------------------------------

/// What a connection needs, checked before connecting.
struct Target {
    url: String,
    namespace: Option<String>,
    auth: Option<Value>,
    transports: Vec<Transport>,
    timeout: Duration,
}

impl Target {
    fn new(url: String, conn: &ConnArgs) -> Result<Target, Failure> {
        let auth = match &conn.auth {
            Some(text) => {
                let value = parse_json("--auth", text)?;
                if !matches!(value, Value::Object(_)) {
                    return Err(Failure::Other(format!(
                        "--auth must be a JSON object, not {}",
                        value.kind()
                    )));
                }
                if value.has_binary() {
                    return Err(Failure::Other(
                        "--auth cannot carry binary data: the CONNECT payload is plain JSON".into(),
                    ));
                }
                Some(value)
            }
            None => None,
        };
        Ok(Target {
            url,
            namespace: conn.namespace.clone(),
            auth,
            transports: conn.transport.transports(),
            timeout: Duration::from_millis(conn.timeout),
        })
    }
}

type Pending = Arc<Mutex<Option<oneshot::Sender<Result<(), ConnectError>>>>>;

fn take(pending: &Pending) -> Option<oneshot::Sender<Result<(), ConnectError>>> {
    pending.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Connects to the namespace: `Ok` on `connect`, a [`Failure::Connect`] on
/// the first `connect_error`, a [`Failure::Other`] when nothing answers in
/// time. `setup` registers handlers before the connection starts. Later
/// `connect_error`s (while reconnecting) are reported on stderr.
async fn connect(
    target: &Target,
    reconnection: bool,
    setup: impl FnOnce(&Socket) + Send + 'static,
) -> Result<Socket, Failure> {
    let options = ManagerOptions {
        transports: target.transports.clone(),
        reconnection,
        timeout: Some(target.timeout),
        ..ManagerOptions::default()
    };
    let mut builder = ClientBuilder::new(&target.url)
        .options(options)
        .with_socket(setup);
    if let Some(nsp) = &target.namespace {
        builder = builder.namespace(nsp);
    }
    if let Some(auth) = &target.auth {
        builder = builder.auth(auth.clone());
    }
    let socket = builder.build().map_err(|e| Failure::Other(e.to_string()))?;

    let (tx, rx) = oneshot::channel();
    let pending: Pending = Arc::new(Mutex::new(Some(tx)));
    let on_connect = pending.clone();
    socket.on_connect(move |_| {
        if let Some(tx) = take(&on_connect) {
            let _ = tx.send(Ok(()));
        }
        async {}
    });
    socket.on_connect_error(move |_, err| {
        match take(&pending) {
            Some(tx) => {
                let _ = tx.send(Err(err));
            }
            None => eprintln!("sio: {}", describe_connect_error(&err)),
        }
        async {}
    });
    socket.connect();
    match tokio::time::timeout(target.timeout + CONNECT_GRACE, rx).await {
        Ok(Ok(Ok(()))) => Ok(socket),
        Ok(Ok(Err(err))) => {
            socket.disconnect();
            Err(Failure::Connect(err))
        }
        Ok(Err(_)) => Err(Failure::Other("the client stopped while connecting".into())),
        Err(_) => {
            socket.disconnect();
            Err(Failure::Other(format!(
                "no answer to the namespace connection within {} ms",
                target.timeout.as_millis()
            )))
        }
    }
}

/// Leaves the namespace and gives the client's tasks (at most [`DRAIN`]) to
/// send what they still hold, then close the transport.
///
/// `sio-client` has no way to wait for a flush or for the connection to be
/// closed, so this waits for the runtime to have no task left (the manager
/// stops once the last socket handle is gone, the engine once it has sent
/// the DISCONNECT and closed the transport).
async fn close(socket: Socket) {
    socket.disconnect();
    drop(socket);
    let metrics = tokio::runtime::Handle::current().metrics();
    let deadline = tokio::time::Instant::now() + DRAIN;
    while metrics.num_alive_tasks() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

// ---- emit ---------------------------------------------------------------

async fn emit(args: EmitArgs) -> Result<(), Failure> {
    if sio_client::proto::packet::is_reserved_event(&args.event) {
        return Err(Failure::Other(format!(
            "\"{}\" is a reserved event name",
            args.event
        )));
    }
    let values = args
        .args
        .iter()
        .enumerate()
        .map(|(i, text)| parse_json(&format!("argument {}", i + 1), text))
        .collect::<Result<Vec<Value>, Failure>>()?;
    let target = Target::new(args.url, &args.conn)?;
    let socket = connect(&target, false, |_| {}).await?;
    let outcome = if args.ack {
        match socket
            .timeout_emit_with_ack::<_, Vec<Value>>(target.timeout, &args.event, &values)
            .await
        {
            Ok(answer) => {
                let line = to_json(&Value::Array(answer));
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}")
                    .and_then(|()| out.flush())
                    .map_err(|e| Failure::Other(format!("cannot write to stdout: {e}")))
            }
            Err(AckError::Timeout) => Err(Failure::AckTimeout(target.timeout)),
            Err(e) => Err(Failure::Other(format!("no acknowledgement: {e}"))),
        }
    } else {
        let sent = socket
            .emit(&args.event, &values)
            .map_err(|e| Failure::Other(format!("cannot emit: {e}")));
        if sent.is_ok() {
            tokio::time::sleep(SETTLE).await;
        }
        sent
    };
    close(socket).await;
    outcome
}

// ---- listen -------------------------------------------------------------

enum Heard {
    /// One output line.
    Event(String),
    /// The server ended the session (no reconnection follows).
    ServerDisconnect,
}

async fn listen(args: ListenArgs) -> Result<(), Failure> {
    let target = Target::new(args.url, &args.conn)?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let filter = args.events;
    let setup = move |socket: &Socket| {
        let events = tx.clone();
        socket.on_any(move |ev| {
            if !filter.is_empty() && !filter.iter().any(|name| name == ev.name()) {
                return;
            }
            let mut line = vec![Value::String(ev.name().to_owned())];
            line.extend(ev.values());
            let _ = events.send(Heard::Event(to_json(&Value::Array(line))));
        });
        socket.on_connect(|s| {
            eprintln!(
                "sio: connected to {} as {}",
                s.nsp(),
                s.id().unwrap_or_default()
            );
            async {}
        });
        socket.on_disconnect(move |_, reason| {
            if reason == "io server disconnect" {
                let _ = tx.send(Heard::ServerDisconnect);
            } else if reason != "io client disconnect" {
                eprintln!("sio: disconnected ({reason}), reconnecting");
            }
            async {}
        });
    };
    let socket = connect(&target, true, setup).await?;
    let mut stdout = tokio::io::stdout();
    let mut printed = 0u64;
    let outcome = loop {
        let heard = tokio::select! {
            heard = rx.recv() => heard,
            _ = tokio::signal::ctrl_c() => break Err(Failure::Interrupted),
        };
        let Some(heard) = heard else {
            break Err(Failure::Other("the client stopped".into()));
        };
        match heard {
            Heard::Event(mut line) => {
                line.push('\n');
                let written = match stdout.write_all(line.as_bytes()).await {
                    Ok(()) => stdout.flush().await,
                    Err(e) => Err(e),
                };
                match written {
                    Ok(()) => {}
                    // The reader went away (`sio listen | head -1`): done.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break Ok(()),
                    Err(e) => break Err(Failure::Other(format!("cannot write to stdout: {e}"))),
                }
                printed += 1;
                if args.count == Some(printed) {
                    break Ok(());
                }
            }
            Heard::ServerDisconnect => {
                break Err(Failure::Other(
                    "the server disconnected this socket (io server disconnect)".into(),
                ))
            }
        }
    };
    close(socket).await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_round_trip() {
        let text = r#"[1,"a",{"b":{"_binary_base64":"AAEC/w=="},"c":[{"_binary_base64":""}]}]"#;
        let value = parse_json("x", text).unwrap();
        assert_eq!(value[2]["b"].as_bytes().unwrap().as_ref(), &[0, 1, 2, 255]);
        assert_eq!(value[2]["c"][0].as_bytes().unwrap().len(), 0);
        assert_eq!(to_json(&value), text);
    }

    #[test]
    fn keeps_key_order_and_other_objects() {
        let text = r#"{"z":1,"a":{"_binary_base64":"AA==","x":1},"m":{"_binary_base64":5}}"#;
        let value = parse_json("x", text).unwrap();
        assert!(!value.has_binary());
        assert_eq!(to_json(&value), text);
    }

    #[test]
    fn bad_input() {
        assert!(matches!(parse_json("x", "{nope"), Err(Failure::Other(_))));
        assert!(matches!(
            parse_json("x", r#"{"_binary_base64":"***"}"#),
            Err(Failure::Other(_))
        ));
    }

    #[test]
    fn cli_shape() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["sio", "emit", "http://h:1", "ev", "-5", "[1]", "--ack"]).unwrap();
        let Command::Emit(e) = cli.command else {
            panic!("emit")
        };
        assert_eq!(e.args, ["-5", "[1]"]);
        assert!(e.ack);
        assert_eq!(e.conn.timeout, 5000);
        assert_eq!(e.conn.transport, TransportArg::Both);
    }
}
