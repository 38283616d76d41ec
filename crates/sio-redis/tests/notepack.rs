//! The codec against the npm packages, both ways
//! (tests/interop/crosscheck/notepack.mjs):
//!
//! - what notepack.io, the real @socket.io/redis-adapter and the real
//!   @socket.io/redis-emitter write is read by the Rust codec and written
//!   back byte for byte;
//! - what the Rust codec writes (values and every message type) is read by
//!   notepack / JSON.parse as the same data and written back by them byte
//!   for byte.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use sio_proto::{Map, Value};
use sio_redis::codec::{self, BroadcastMessage, Request, Response};
use sio_server::adapter::BroadcastOptions;
use sio_server::cluster::{BroadcastFlags, SocketInfo};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn script() -> std::path::PathBuf {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        root.join("tests/interop/node_modules/@socket.io/redis-adapter")
            .exists(),
        "npm packages missing: run scripts/setup"
    );
    root.join("tests/interop/crosscheck/notepack.mjs")
}

/// A JSON description (`{"$binary": b64}` for buffers) as a Value.
fn from_description(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        // JavaScript numbers: exact integers up to 2^53, doubles beyond.
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) if u < 1 << 53 => Value::from(u),
            (_, Some(i)) if i > -(1 << 53) => Value::from(i),
            _ => Value::from(n.as_f64().unwrap()),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(from_description).collect()),
        serde_json::Value::Object(m) => match m.get("$binary") {
            Some(serde_json::Value::String(b)) if m.len() == 1 => {
                Value::Bytes(B64.decode(b).unwrap().into())
            }
            _ => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), from_description(v)))
                    .collect::<Map>(),
            ),
        },
    }
}

fn to_description(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) if !n.is_f64() => u.into(),
            (_, Some(i)) if !n.is_f64() => i.into(),
            _ => serde_json::Number::from_f64(n.as_f64()).unwrap().into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Bytes(b) => serde_json::json!({ "$binary": B64.encode(b) }),
        Value::Array(a) => a.iter().map(to_description).collect(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), to_description(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

#[test]
fn npm_bytes_read_and_written_back_identically() {
    let out = Command::new("node")
        .arg(script())
        .arg("gen")
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut counts = std::collections::HashMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let l: serde_json::Value = serde_json::from_str(line).unwrap();
        let name = l["name"].as_str().unwrap();
        let kind = l["kind"].as_str().unwrap();
        let bytes = B64.decode(l["bytes"].as_str().unwrap()).unwrap();
        let again = match kind {
            "value" => {
                let expected = from_description(&l["value"]);
                assert_eq!(codec::decode(&bytes).unwrap(), expected, "{name}: decoded");
                codec::encode(&expected)
            }
            "broadcast" => BroadcastMessage::decode(&bytes)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .encode(),
            "request" => Request::decode(&bytes)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .encode(),
            "response" => Response::decode(&bytes)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .encode(),
            other => panic!("unknown kind {other}"),
        };
        assert!(
            again == bytes,
            "{name}: written back differently\n npm:  {:?}\n rust: {:?}",
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&again)
        );
        *counts.entry(kind.to_owned()).or_insert(0) += 1;
    }
    assert!(counts["value"] >= 40, "{counts:?}");
    assert!(counts["broadcast"] >= 6, "{counts:?}");
    assert!(counts["request"] >= 12, "{counts:?}");
    assert!(counts["response"] >= 7, "{counts:?}");
}

fn rust_messages() -> Vec<(String, Vec<u8>)> {
    let bin = Value::Bytes(bytes::Bytes::from_static(&[9, 8, 7]));
    let data = vec![
        Value::from("ev"),
        Value::from(1),
        Value::from(-300),
        Value::from(2.5),
        Value::from("é€𝄞"),
        bin.clone(),
        Value::Array(vec![Value::Null, Value::Bool(true)]),
    ];
    let opts = BroadcastOptions {
        rooms: vec!["r1".into()],
        except: vec!["x".into(), "y".into()],
    };
    let flags = BroadcastFlags {
        volatile: true,
        compress: Some(false),
        local: false,
        timeout: Some(Duration::from_millis(1500)),
    };
    let info = SocketInfo {
        id: "sid1".into(),
        handshake: serde_json::from_str::<Value>(r#"{"headers":{"host":"h"},"time":"t","address":"127.0.0.1","xdomain":false,"secure":false,"issued":1700000000000,"url":"/socket.io/?EIO=4","query":{"EIO":"4"},"auth":{}}"#).unwrap(),
        rooms: vec!["sid1".into(), "a".into()],
        data: serde_json::from_str::<Value>(r#"{"n":1.5,"s":"x"}"#).unwrap(),
    };
    let mut out = vec![];
    for (uid, name) in [("node1", "broadcast"), ("emitter", "emitter broadcast")] {
        let m = BroadcastMessage {
            uid: uid.into(),
            nsp: "/chat".into(),
            data: data.clone(),
            opts: opts.clone(),
            flags: flags.clone(),
        };
        out.push((name.to_owned(), m.encode()));
    }
    let requests = vec![
        Request::Sockets {
            uid: "u".into(),
            request_id: "1".into(),
            rooms: vec!["a".into()],
        },
        Request::AllRooms {
            uid: "u".into(),
            request_id: "2".into(),
        },
        Request::RemoteJoin {
            uid: Some("u".into()),
            opts: opts.clone(),
            rooms: vec!["j".into()],
        },
        Request::RemoteJoin {
            uid: None,
            opts: opts.clone(),
            rooms: vec!["j".into()],
        },
        Request::RemoteLeave {
            uid: Some("u".into()),
            opts: opts.clone(),
            rooms: vec!["j".into(), "k".into()],
        },
        Request::RemoteDisconnect {
            uid: Some("u".into()),
            opts: opts.clone(),
            close: true,
        },
        Request::RemoteFetch {
            uid: "u".into(),
            request_id: "3".into(),
            opts: opts.clone(),
        },
        Request::ServerSideEmit {
            uid: "u".into(),
            request_id: None,
            data: vec![Value::from("tell"), Value::from(1)],
        },
        Request::ServerSideEmit {
            uid: "u".into(),
            request_id: Some("4".into()),
            data: vec![Value::from("ask")],
        },
        Request::Broadcast {
            uid: "u".into(),
            request_id: "5".into(),
            nsp: "/".into(),
            data: data.clone(),
            opts: opts.clone(),
            flags: flags.clone(),
        },
    ];
    for r in requests {
        out.push((format!("{r:?}"), r.encode()));
    }
    let responses = vec![
        Response::Sockets {
            request_id: "1".into(),
            sockets: vec!["s1".into(), "s2".into()],
        },
        Response::AllRooms {
            request_id: "2".into(),
            rooms: vec!["a".into()],
        },
        Response::Fetch {
            request_id: "3".into(),
            sockets: vec![info],
        },
        Response::ServerSideEmit {
            request_id: "4".into(),
            data: Value::from(-1.25),
        },
        Response::BroadcastClientCount {
            request_id: "5".into(),
            client_count: 3,
        },
        Response::BroadcastAck {
            request_id: "5".into(),
            packet: Value::Array(vec![bin, Value::from(70000)]),
        },
    ];
    for r in responses {
        out.push((format!("{r:?}"), r.encode()));
    }
    out
}

#[test]
fn rust_bytes_read_and_written_back_identically_by_npm() {
    let mut lines = String::new();
    let mut push = |name: &str, kind: &str, bytes: &[u8], value: serde_json::Value| {
        let line = serde_json::json!({"name": name, "kind": kind, "bytes": B64.encode(bytes), "value": value});
        lines.push_str(&line.to_string());
        lines.push('\n');
    };
    // Values at every size boundary.
    let big = |n: usize| Value::Array((0..n).map(|i| Value::from(i as u64)).collect());
    let mut values = vec![
        Value::Null,
        Value::Bool(false),
        Value::from(0.1),
        Value::from(-1e-300),
        Value::from(2f64.powi(63)),
    ];
    for i in [
        0i64,
        127,
        128,
        255,
        256,
        65535,
        65536,
        4294967295,
        4294967296,
        -1,
        -32,
        -33,
        -128,
        -129,
        -32768,
        -32769,
        -2147483648,
        -2147483649,
    ] {
        values.push(Value::from(i));
    }
    for n in [0usize, 31, 32, 255, 256, 65535, 65536] {
        values.push(Value::from("s".repeat(n)));
        values.push(Value::Bytes(vec![1u8; n].into()));
    }
    values.extend([big(15), big(16), big(70000)]);
    let obj = |n: usize| {
        Value::Object(
            (0..n)
                .map(|i| (format!("k{i}"), Value::from(i as u64)))
                .collect(),
        )
    };
    values.extend([obj(15), obj(16), obj(70000)]);
    for (i, v) in values.iter().enumerate() {
        push(
            &format!("rust value {i}"),
            "value",
            &codec::encode(v),
            to_description(v),
        );
    }
    for (name, bytes) in rust_messages() {
        let value = codec::decode_body(&bytes).unwrap();
        push(&name, "message", &bytes, to_description(&value));
    }
    let mut child = Command::new("node")
        .arg(script())
        .arg("check")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(" 0 failed"), "{report}");
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    let cases: &[&[u8]] = &[
        &[],
        &[0xc1],
        &[0x92, 0x01],
        &[0xdd, 0xff, 0xff, 0xff, 0xff],
        &[0xdf, 0xff, 0xff, 0xff, 0xff],
        &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
        &[0xc6, 0xff, 0xff, 0xff, 0xff],
        &[0xa2, 0xff, 0xfe],
        &[0x81, 0xc0, 0x01],
        &[0xd4, 0x05, 0x00],
        &[0x01, 0x02],
    ];
    for case in cases {
        assert!(codec::decode(case).is_err(), "{case:?}");
    }
    // Deep nesting is refused, not a stack overflow.
    let deep: Vec<u8> = std::iter::repeat_n(0x91u8, 100_000).chain([0xc0]).collect();
    assert!(codec::decode(&deep).is_err());
    // Not messages of the adapter.
    assert!(Request::decode(b"{\"type\":42}").is_err());
    assert!(Request::decode(b"{not json").is_err());
    assert!(Response::decode(b"{\"type\":8}").is_err());
    assert!(BroadcastMessage::decode(&codec::encode(&Value::from("x"))).is_err());
}
