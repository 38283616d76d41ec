//! Cross-check against the official npm codecs (socket.io-parser,
//! socket.io-msgpack-parser, engine.io-parser), which really run in Node.js:
//!
//! 1. `codec.mjs gen` encodes a corpus with the npm encoders (and lists
//!    frames that the npm decoders reject); we decode every frame and compare
//!    with the description, and reject what they reject.
//! 2. We encode every description; `codec.mjs check` decodes our frames with
//!    the npm decoders and compares them byte for byte with its own encoding.
//!
//! Needs `scripts/setup` (npm ci in tests/interop); fails loudly without it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Value as Json};
use sio_proto::engine::{self, decode_payload, encode_payload};
use sio_proto::{Decoder, Frame, Number, Packet, PacketType, Parser, Payload, Str, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn script() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let node_modules = root.join("tests/interop/node_modules");
    assert!(
        node_modules.join("socket.io-parser").exists(),
        "npm packages missing in {}: run scripts/setup first",
        node_modules.display()
    );
    root.join("tests/interop/crosscheck/codec.mjs")
}

/// A description value → our Value. Numbers follow JavaScript: an integer
/// beyond 2^53 in the description is the double JavaScript printed.
fn to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            const SAFE: u64 = 1 << 53;
            match (n.as_u64(), n.as_i64()) {
                (Some(u), _) if u <= SAFE => Value::from(u),
                (_, Some(i)) if i.unsigned_abs() <= SAFE => Value::from(i),
                _ => Value::Number(Number::from(n.as_f64().unwrap())),
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        Json::Object(m) => match m.get("$binary") {
            Some(Json::String(b)) if m.len() == 1 => {
                Value::Bytes(Bytes::from(B64.decode(b).unwrap()))
            }
            _ => Value::Object(m.iter().map(|(k, v)| (k.clone(), to_value(v))).collect()),
        },
    }
}

fn frames_of(j: &Json) -> Vec<Frame> {
    j["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| match (f.get("text"), f.get("binary")) {
            (Some(Json::String(t)), _) => Frame::Text(Str::from(t.as_str())),
            (_, Some(Json::String(b))) => Frame::Binary(Bytes::from(B64.decode(b).unwrap())),
            _ => panic!("bad frame {f}"),
        })
        .collect()
}

fn frame_json(f: &Frame) -> Json {
    match f {
        Frame::Text(t) => json!({ "text": t.as_str() }),
        Frame::Binary(b) => json!({ "binary": B64.encode(b) }),
    }
}

fn sio_packet(desc: &Json) -> Packet {
    let kind = PacketType::from_code(desc["type"].as_u64().unwrap()).unwrap();
    Packet {
        kind,
        nsp: Str::from(desc["nsp"].as_str().unwrap()),
        id: desc.get("id").map(|i| i.as_u64().unwrap()),
        data: desc.get("data").map(|d| Payload::Value(to_value(d))),
    }
}

fn engine_packet(desc: &Json) -> engine::Packet {
    let kind = [
        "open", "close", "ping", "pong", "message", "upgrade", "noop",
    ]
    .iter()
    .position(|t| desc["type"] == **t)
    .unwrap();
    let kind = engine::PacketType::from_digit(b'0' + kind as u8).unwrap();
    let data = match desc.get("data") {
        None => None,
        Some(Json::String(s)) if s.is_empty() => None, // "4" either way on the wire
        Some(Json::String(s)) => Some(Frame::Text(Str::from(s.as_str()))),
        Some(b) => Some(Frame::Binary(to_value(b).as_bytes().unwrap().clone())),
    };
    engine::Packet { kind, data }
}

fn parser_of(codec: &str) -> Parser {
    if codec == "socketio-json" {
        Parser::Json
    } else {
        Parser::Msgpack
    }
}

/// A decoded packet of either layer, compared by value.
#[derive(Debug, PartialEq)]
enum Decoded {
    Sio(Packet),
    Engine(engine::Packet),
}

/// Decodes a case's frames; Ok(packets) or the first error.
fn decode_case(codec: &str, frames: Vec<Frame>) -> Result<Vec<Decoded>, String> {
    match codec {
        "socketio-json" | "socketio-msgpack" => {
            let mut d = Decoder::new(parser_of(codec));
            let mut out = Vec::new();
            for f in frames {
                if let Some(p) = d.decode(f).map_err(|e| e.to_string())? {
                    out.push(Decoded::Sio(normalize(p)));
                }
            }
            if d.is_pending() {
                return Err("incomplete binary packet".into());
            }
            Ok(out)
        }
        "engine-ws" => {
            let p = engine::Packet::decode_frame(frames.into_iter().next().unwrap())
                .map_err(|e| e.to_string())?;
            Ok(vec![Decoded::Engine(normalize_engine(p))])
        }
        "engine-polling" => {
            let Frame::Text(body) = frames.into_iter().next().unwrap() else {
                panic!("polling is text")
            };
            decode_payload(body)
                .map(|p| {
                    p.map(|p| Decoded::Engine(normalize_engine(p)))
                        .map_err(|e| e.to_string())
                })
                .collect()
        }
        other => panic!("unknown codec {other}"),
    }
}

/// Packets compare by value, whatever form the data arrived in.
fn normalize(mut p: Packet) -> Packet {
    p.data = p.data.map(|d| Payload::Value(d.into_value().unwrap()));
    p
}

fn normalize_engine(mut p: engine::Packet) -> engine::Packet {
    if matches!(&p.data, Some(Frame::Text(t)) if t.is_empty()) {
        p.data = None;
    }
    p
}

fn expected(codec: &str, desc: &Json) -> Vec<Decoded> {
    match codec {
        "socketio-json" | "socketio-msgpack" => vec![Decoded::Sio(sio_packet(desc))],
        "engine-ws" => vec![Decoded::Engine(engine_packet(desc))],
        _ => desc["packets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| Decoded::Engine(engine_packet(p)))
            .collect(),
    }
}

fn encode_case(codec: &str, desc: &Json) -> Vec<Frame> {
    match codec {
        "socketio-json" | "socketio-msgpack" => parser_of(codec)
            .encode_packet(&sio_packet(desc))
            .unwrap()
            .frames()
            .collect(),
        "engine-ws" => vec![engine_packet(desc).to_frame()],
        _ => {
            let packets: Vec<_> = desc["packets"]
                .as_array()
                .unwrap()
                .iter()
                .map(engine_packet)
                .collect();
            vec![Frame::Text(
                Str::from_utf8(encode_payload(&packets)).unwrap(),
            )]
        }
    }
}

#[test]
fn npm_codecs_agree_with_ours() {
    let script = script();
    let gen = Command::new("node")
        .arg(&script)
        .arg("gen")
        .output()
        .expect("node runs");
    assert!(
        gen.status.success(),
        "gen failed: {}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let cases: Vec<Json> = String::from_utf8(gen.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(cases.len() > 300, "corpus too small: {}", cases.len());

    // 1. Decode what npm encoded; reject what npm rejects.
    let mut failures = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let codec = case["codec"].as_str().unwrap();
        let got = decode_case(codec, frames_of(case));
        if let Some(desc) = case.get("packet") {
            valid += 1;
            let want = expected(codec, desc);
            match got {
                Ok(got) if got == want => {}
                other => failures.push(format!(
                    "{codec} {name}: decoded {other:?}, expected {want:?}"
                )),
            }
        } else {
            invalid += 1;
            if let Ok(got) = got {
                failures.push(format!(
                    "{codec} {name}: npm rejects ({}) but we decoded {got:?}",
                    case["error"]
                ));
            }
        }
    }

    // 2. Encode every valid description; npm decodes and compares bytes.
    let mut input = Vec::new();
    for case in cases.iter().filter(|c| c.get("packet").is_some()) {
        let codec = case["codec"].as_str().unwrap();
        let frames: Vec<Json> = encode_case(codec, &case["packet"])
            .iter()
            .map(frame_json)
            .collect();
        let line = json!({ "name": case["name"], "codec": codec, "frames": frames, "packet": case["packet"] });
        writeln!(input, "{line}").unwrap();
    }
    let mut check = Command::new("node")
        .arg(&script)
        .arg("check")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check.stdin.take().unwrap().write_all(&input).unwrap();
    let out = check.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    println!(
        "decode: {valid} valid and {invalid} invalid npm cases; encode: {}",
        report.lines().last().unwrap_or("")
    );
    if !out.status.success() {
        failures.push(format!(
            "npm check of our encodings failed:\n{report}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
