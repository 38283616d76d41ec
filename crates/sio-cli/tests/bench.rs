//! `sio bench` end to end: every scenario against sio's conformance server
//! (target/debug/examples/conformance, or `SIO_CONFORMANCE_BIN`) and the
//! official Node.js server (tests/interop/lib/node-conformance.mjs), with
//! small counts; the JSON report is parsed and checked (no error, nothing
//! lost, the figures add up).
//!
//! Needs `scripts/setup` (npm packages) and `cargo build --example
//! conformance`. Every process is bounded in time (`--max-time`, and a kill
//! after `common::LIMIT`); servers are killed when the test ends, even on
//! failure.

mod common;

use std::time::Duration;

use common::{sio, Out, Peer, Server};
use serde_json::Value;

/// The Socket.IO default heartbeat, as the benchmarks use it.
const DEFAULTS: [&str; 4] = ["--ping-interval", "25000", "--ping-timeout", "20000"];

fn server(peer: Peer) -> Server {
    Server::start_with(peer, 0, &DEFAULTS)
}

/// Runs `sio bench ARGS` (killed after `common::LIMIT`).
fn bench(args: &[&str]) -> Out {
    let mut full = vec!["bench"];
    full.extend_from_slice(args);
    sio(&full)
}

/// Runs a scenario with `--json` and `--server-pid`, checks it ran clean
/// and returns its report.
fn report(server: &Server, scenario: &str, extra: &[&str]) -> Value {
    let (pid, url) = (server.pid().to_string(), server.url(""));
    let mut args = vec![
        scenario,
        &url,
        "--json",
        "--server-pid",
        &pid,
        "--max-time",
        "15",
    ];
    args.extend_from_slice(extra);
    let out = bench(&args);
    assert_eq!(
        out.code, 0,
        "sio bench {args:?}: {}\n{}",
        out.stdout, out.stderr
    );
    let r: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("one JSON object ({e}): {}", out.stdout));
    assert_eq!(r["scenario"], scenario);
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["lost"], 0, "{r}");
    assert!(r["first_error"].is_null(), "{r}");
    let elapsed = r["elapsed_s"].as_f64().unwrap();
    assert!(elapsed > 0.0 && elapsed < 15.0, "{r}");
    let messages = r["messages"].as_f64().unwrap();
    let rate = r["rate_per_s"].as_f64().unwrap();
    assert!(
        (rate * elapsed - messages).abs() <= 1.0 + messages * 1e-6,
        "rate × time = messages: {r}"
    );
    let lat = &r["latency_us"];
    let (p50, p99, max) = (
        lat["p50"].as_u64().unwrap(),
        lat["p99"].as_u64().unwrap(),
        lat["max"].as_u64().unwrap(),
    );
    assert!(
        p50 > 0 && p50 <= p99 && p99 <= max && max < 30_000_000,
        "{r}"
    );
    let s = &r["server"];
    assert!(s["rss_before_kib"].as_u64().unwrap() > 0, "{r}");
    assert!(s["rss_after_kib"].as_u64().unwrap() > 0, "{r}");
    assert!(s["cpu_ms"].as_f64().unwrap() >= 0.0, "{r}");
    r
}

fn check_echo(r: &Value, acks: u64) {
    assert_eq!(r["messages"], acks, "{r}");
    assert_eq!(r["sent"], acks, "{r}");
    assert!(r["server"]["cpu_ms_per_1000"].as_f64().is_some(), "{r}");
}

fn echo_count(peer: Peer) {
    let server = server(peer);
    let r = report(&server, "echo", &["-c", "4", "--count", "203"]);
    check_echo(&r, 203);
    assert_eq!(r["transport"], "websocket");
    assert_eq!(r["binary"], false);
}

fn echo_binary(peer: Peer) {
    let server = server(peer);
    let r = report(
        &server,
        "echo",
        &["-c", "3", "--count", "90", "--binary", "--payload", "300"],
    );
    check_echo(&r, 90);
    assert_eq!(r["binary"], true);
    assert_eq!(r["payload_bytes"], 300);
}

fn polling_echo(peer: Peer, binary: bool) {
    let server = server(peer);
    let mut args = vec!["-c", "3", "--count", "60"];
    if binary {
        args.push("--binary");
    }
    let r = report(&server, "polling-echo", &args);
    check_echo(&r, 60);
    assert_eq!(r["transport"], "polling");
}

fn fanout_count(peer: Peer) {
    let server = server(peer);
    let r = report(&server, "fanout", &["-c", "25", "--count", "40"]);
    // Every message reaches every session, the sender included.
    assert_eq!(r["sent"], 40, "{r}");
    assert_eq!(r["messages"], 40 * 25, "{r}");
}

fn conn(peer: Peer) {
    let server = server(peer);
    let r = report(&server, "conn", &["-c", "40", "--duration", "0.3"]);
    assert_eq!(r["messages"], 40, "{r}");
    let s = &r["server"];
    // 40 sessions cost the server some memory while they are open.
    let per_conn = s["rss_per_conn_kib"].as_f64().unwrap();
    assert!(per_conn > -1000.0 && per_conn < 1000.0, "{r}");
    assert!(s["rss_with_connections_kib"].as_u64().unwrap() > 0, "{r}");
    assert!(s["cpu_ms_per_conn"].as_f64().is_some(), "{r}");
}

#[test]
fn echo_counted_against_sio() {
    echo_count(Peer::Sio);
}

#[test]
fn echo_counted_against_node() {
    echo_count(Peer::Node);
}

#[test]
fn echo_binary_against_sio() {
    echo_binary(Peer::Sio);
}

#[test]
fn echo_binary_against_node() {
    echo_binary(Peer::Node);
}

#[test]
fn echo_at_a_fixed_rate_for_a_duration() {
    let server = server(Peer::Sio);
    let r = report(
        &server,
        "echo",
        &["-c", "4", "--rate", "400", "--duration", "0.5"],
    );
    // 400/s for 0.5 s: about 200 acks, none missing.
    let acks = r["messages"].as_u64().unwrap();
    assert!((150..=260).contains(&acks), "{r}");
    assert_eq!(r["sent"], acks, "{r}");
    assert_eq!(r["rate_target"], 400.0);
}

#[test]
fn polling_echo_against_sio() {
    polling_echo(Peer::Sio, false);
}

#[test]
fn polling_echo_binary_against_sio() {
    polling_echo(Peer::Sio, true);
}

#[test]
fn polling_echo_against_node() {
    polling_echo(Peer::Node, false);
}

#[test]
fn fanout_counted_against_sio() {
    fanout_count(Peer::Sio);
}

#[test]
fn fanout_counted_against_node() {
    fanout_count(Peer::Node);
}

#[test]
fn fanout_at_a_fixed_rate() {
    let server = server(Peer::Sio);
    let r = report(
        &server,
        "fanout",
        &["-c", "10", "--rate", "100", "--duration", "0.5"],
    );
    let sent = r["sent"].as_u64().unwrap();
    assert!((35..=65).contains(&sent), "{r}");
    assert_eq!(r["messages"].as_u64().unwrap(), sent * 10, "{r}");
}

#[test]
fn conn_against_sio() {
    conn(Peer::Sio);
}

#[test]
fn conn_against_node() {
    conn(Peer::Node);
}

#[test]
fn text_output_without_json() {
    let server = server(Peer::Sio);
    let out = bench(&["echo", &server.url(""), "-c", "2", "--count", "10"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("echo: 2 sessions, 10 acks in "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("errors 0, lost 0"), "{}", out.stdout);
    assert!(out.stdout.contains("latency (µs): p50 "), "{}", out.stdout);
}

#[test]
fn a_server_that_never_answers_fails_within_max_time() {
    // The bare Engine.IO echo server sends each request back instead of an
    // ack: the answer never comes, and --max-time ends the run.
    let server = Server::start_with(Peer::Sio, 0, &["--engine-io"]);
    let out = bench(&[
        "echo",
        &server.url(""),
        "--path",
        "/engine.io/",
        "-c",
        "1",
        "--count",
        "5",
        "--max-time",
        "1",
    ]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("--max-time"), "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

#[test]
fn refuses_what_it_cannot_bound_or_reach() {
    let cases: [(&[&str], &str); 6] = [
        (&["echo", "http://192.0.2.1:3000"], "loopback"),
        (&["echo", "https://127.0.0.1:3000"], "TLS"),
        (&["echo", "http://127.0.0.1:1", "-c", "0"], "--connections"),
        (
            &["conn", "http://127.0.0.1:1", "--count", "5"],
            "--connections",
        ),
        (&["fanout", "http://127.0.0.1:1", "--binary"], "--binary"),
        (
            &["polling-echo", "http://127.0.0.1:1", "--rate", "5"],
            "--rate",
        ),
    ];
    for (args, needle) in cases {
        let out = bench(args);
        assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    // Nobody listens on port 1: every session fails, a clear error.
    let out = bench(&["echo", "http://127.0.0.1:1", "-c", "2", "--count", "2"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no session could connect"),
        "{}",
        out.stderr
    );
}
