//! Property tests of the codecs: everything we encode decodes back to the
//! same thing, with both Socket.IO parsers, over both Engine.IO framings,
//! and the decoder survives any input.
//!
//! The case count is kept modest so that the whole file runs in a few
//! seconds in debug mode; raise it for a deeper run with e.g.
//! `PROPTEST_CASES=5000 cargo test -p sio-proto --test proptest`.

use bytes::Bytes;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use sio_proto::engine::{self, decode_payload, encode_payload};
use sio_proto::packet::{is_reserved_event, RESERVED_EVENTS};
use sio_proto::{
    json, Decoder, DecoderConfig, Frame, Map, Number, Packet, PacketType, Parser, Payload, Str,
    Value,
};

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Any char, with extra weight on the ones that need care: control chars
/// (JSON escapes), the polling separator `\x1e`, quotes and backslashes,
/// the JavaScript line separators and multi-byte UTF-8.
fn arb_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        3 => prop::char::range(' ', '~'),
        2 => prop::char::range('\0', '\u{1f}'),
        1 => Just('\u{1e}'),
        1 => prop::sample::select(vec![
            '"', '\\', '/', ',', '\u{7f}', '\u{80}', '\u{2028}', '\u{2029}', '\u{feff}',
            '\u{fffd}', 'é', '✓', '😀',
        ]),
    ]
}

fn arb_string(max_len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(arb_char(), 0..=max_len).prop_map(String::from_iter)
}

/// Strings without the polling separator (not representable in a polling
/// payload's text packets).
fn arb_string_no_sep(max_len: usize) -> impl Strategy<Value = String> {
    arb_string(max_len).prop_map(|s| s.replace('\u{1e}', ""))
}

/// Finite floats: every class of bit pattern, plus integral floats (which
/// the encoders write as integers) and short decimals.
fn arb_finite_f64() -> impl Strategy<Value = f64> {
    use prop::num::f64 as F;
    prop_oneof![
        4 => F::POSITIVE | F::NEGATIVE | F::NORMAL | F::SUBNORMAL | F::ZERO,
        1 => any::<i64>().prop_map(|i| i as f64),
        1 => any::<u64>().prop_map(|u| u as f64),
        1 => any::<i32>().prop_map(|i| f64::from(i) / 100.0),
        1 => prop::sample::select(vec![
            0.0, -0.0, 0.1, -1.5, 1e21, 1e-7, 5e-324, f64::MAX, f64::MIN, f64::EPSILON,
            9007199254740992.0, 9007199254740993.0, 18446744073709551616.0,
            -9223372036854775808.0, 1.844674407370955e19, 1.152921504606847e18,
        ]),
    ]
}

/// Integers over the whole u64 / i64 range (with the edges), and floats.
fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        2 => any::<u64>().prop_map(Number::from),
        2 => any::<i64>().prop_map(Number::from),
        1 => prop::sample::select(vec![0u64, 1, u64::MAX, u64::MAX - 1, 1 << 53, (1 << 53) + 1])
            .prop_map(Number::from),
        1 => prop::sample::select(vec![i64::MIN, i64::MIN + 1, -1, -(1 << 53) - 1])
            .prop_map(Number::from),
        3 => arb_finite_f64().prop_map(Number::from),
    ]
}

fn arb_bytes(max_len: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..=max_len).prop_map(Bytes::from)
}

/// Object keys. `_placeholder` is left out: an object `{"_placeholder":
/// true, "num": N}` *is* a binary placeholder on the wire (in JavaScript
/// too), so it cannot round-trip as an ordinary object.
fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => arb_string(8),
        1 => prop::sample::select(vec!["num", "data", "message", "sid", "", "0", "__proto__"])
            .prop_map(String::from),
    ]
    .prop_filter("not the placeholder marker", |k| k != "_placeholder")
}

fn arb_leaf(binary: bool) -> BoxedStrategy<Value> {
    let scalars = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => arb_number().prop_map(Value::Number),
        3 => arb_string(16).prop_map(Value::String),
    ];
    if binary {
        prop_oneof![6 => scalars, 1 => arb_bytes(64).prop_map(Value::Bytes)].boxed()
    } else {
        scalars.boxed()
    }
}

/// Any value, nested at most 4 levels deep, at most 6 elements per array
/// or object. `binary`: whether byte buffers may appear.
fn arb_value(binary: bool) -> BoxedStrategy<Value> {
    arb_leaf(binary)
        .prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((arb_key(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map>())),
            ]
        })
        .boxed()
}

fn arb_object(binary: bool) -> impl Strategy<Value = Value> {
    prop::collection::vec((arb_key(), arb_value(binary)), 0..5)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

/// `/`, or `/` followed by anything but a comma (which ends the namespace
/// in the JSON header).
fn arb_nsp() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("/".to_owned()),
        2 => arb_string(12).prop_map(|s| format!("/{}", s.replace(',', ""))),
    ]
}

fn arb_event_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => arb_string(12),
        1 => prop::sample::select(vec!["message", "chat message", "connected", "disconnected"])
            .prop_map(String::from),
    ]
    .prop_filter("not a reserved event name", |n| !is_reserved_event(n))
}

fn arb_id() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        2 => Just(None),
        2 => (0u64..1000).prop_map(Some),
        1 => any::<u64>().prop_map(Some),
    ]
}

/// Any Socket.IO packet, with data of the shape its type requires. Binary
/// only in events and acks, the only packets that can carry it with the
/// JSON parser.
fn arb_packet() -> impl Strategy<Value = Packet> {
    let args = || prop::collection::vec(arb_value(true), 0..5);
    prop_oneof![
        (arb_nsp(), arb_id(), prop::option::of(arb_object(false))).prop_map(|(nsp, id, data)| {
            Packet {
                id,
                ..Packet::connect(nsp, data)
            }
        }),
        (arb_nsp(), arb_id()).prop_map(|(nsp, id)| Packet {
            id,
            ..Packet::disconnect(nsp)
        }),
        (arb_nsp(), arb_id(), arb_event_name(), args()).prop_map(|(nsp, id, name, args)| {
            Packet {
                id,
                ..Packet::event(nsp, &name, args)
            }
        }),
        (arb_nsp(), arb_id(), args()).prop_map(|(nsp, id, args)| Packet {
            id,
            ..Packet::ack(nsp, 0, args)
        }),
        (
            arb_nsp(),
            arb_id(),
            arb_string(16),
            prop::option::of(arb_value(false))
        )
            .prop_map(|(nsp, id, message, data)| Packet {
                id,
                ..Packet::connect_error(nsp, &message, data)
            }),
        // A CONNECT_ERROR may also be a bare string (older servers).
        (arb_nsp(), arb_id(), arb_string(16)).prop_map(|(nsp, id, message)| Packet {
            kind: PacketType::ConnectError,
            nsp: nsp.into(),
            id,
            data: Some(Payload::Value(Value::String(message))),
        }),
    ]
}

fn arb_engine_kind() -> impl Strategy<Value = engine::PacketType> {
    (b'0'..=b'6').prop_map(|d| engine::PacketType::from_digit(d).unwrap())
}

/// Any Engine.IO packet: every type with or without text, and binary
/// messages. `separator`: whether text may contain `\x1e`.
fn arb_engine_packet(separator: bool) -> impl Strategy<Value = engine::Packet> {
    let text = if separator {
        arb_string(24).boxed()
    } else {
        arb_string_no_sep(24).boxed()
    };
    prop_oneof![
        3 => (arb_engine_kind(), prop::option::of(text)).prop_map(|(kind, data)| {
            engine::Packet {
                kind,
                data: data.map(Frame::from),
            }
        }),
        1 => arb_bytes(64).prop_map(engine::Packet::binary),
    ]
}

/// On the wire an empty text is no data: `4` is a message without data.
fn normalize_engine(p: engine::Packet) -> engine::Packet {
    match p.data {
        Some(Frame::Text(t)) if t.is_empty() => engine::Packet { data: None, ..p },
        _ => p,
    }
}

/// Text frames that look like Socket.IO packets, to get past the header
/// parser more often than random text would.
fn arb_packetish_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "1-",
        "2-",
        "0-",
        "11-",
        "-",
        "/",
        "/x,",
        "/a",
        ",",
        "12",
        "99999999999999999999",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "\"ev\"",
        "\"connect\"",
        ":",
        "1",
        "-1",
        "1.5e3",
        "null",
        "true",
        "{\"_placeholder\":true,\"num\":0}",
        "{\"_placeholder\":true,\"num\":1}",
        "{\"_placeholder\":true}",
        "{\"_placeholder\":true,\"num\":-1}",
        "\"message\"",
        " ",
        "\\u0000",
        "é",
        "\u{1e}",
        "1e400",
        "-1e999",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    ]);
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        3 => arb_packetish_text().prop_map(Frame::from),
        1 => arb_string(24).prop_map(Frame::from),
        2 => arb_bytes(48).prop_map(Frame::Binary),
        // Valid encodings, cut or with one byte changed.
        2 => (arb_packet(), any::<bool>(), any::<prop::sample::Index>(), any::<u8>()).prop_map(
            |(p, msgpack, at, byte)| {
                let parser = if msgpack { Parser::Msgpack } else { Parser::Json };
                let head = match parser.encode_packet(&p) {
                    Ok(e) => e.head,
                    Err(_) => return Frame::Binary(Bytes::new()),
                };
                let mut b = head.as_bytes().to_vec();
                if !b.is_empty() {
                    let i = at.index(b.len());
                    if byte % 2 == 0 {
                        b.truncate(i);
                    } else {
                        b[i] = byte;
                    }
                }
                match (head.is_text(), String::from_utf8(b.clone())) {
                    (true, Ok(s)) => Frame::from(s),
                    _ => Frame::Binary(Bytes::from(b)),
                }
            }
        ),
    ]
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A packet with its data as a value, for comparisons by value.
#[derive(Debug, PartialEq)]
struct Plain {
    kind: PacketType,
    nsp: String,
    id: Option<u64>,
    data: Option<Value>,
}

fn plain(p: Packet) -> Plain {
    Plain {
        kind: p.kind,
        nsp: p.nsp.to_string(),
        id: p.id,
        data: p
            .data
            .map(|d| d.into_value().expect("data reads as a value")),
    }
}

/// Feeds every frame of `encoded`; exactly the last one completes a packet.
fn decode_all(parser: Parser, frames: Vec<Frame>) -> Result<Packet, TestCaseError> {
    let mut decoder = Decoder::with_config(
        parser,
        DecoderConfig {
            max_attachments: 1000,
        },
    );
    let n = frames.len();
    let mut out = None;
    for (i, frame) in frames.into_iter().enumerate() {
        let got = decoder
            .decode(frame)
            .map_err(|e| TestCaseError::fail(format!("frame {i}: {e}")))?;
        prop_assert_eq!(got.is_some(), i + 1 == n, "packet completed at frame {}", i);
        out = got;
    }
    prop_assert!(!decoder.is_pending());
    Ok(out.expect("the last frame completes the packet"))
}

/// Every number as the double it stands for.
fn as_doubles(v: Value) -> Value {
    match v {
        Value::Number(n) => Value::Number(Number::from(n.as_f64())),
        Value::Array(a) => Value::Array(a.into_iter().map(as_doubles).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, as_doubles(v))).collect()),
        other => other,
    }
}

fn parser_of(msgpack: bool) -> Parser {
    if msgpack {
        Parser::Msgpack
    } else {
        Parser::Json
    }
}

fn to_json(v: &Value) -> (Vec<u8>, Vec<Bytes>) {
    let (mut out, mut att) = (Vec::new(), Vec::new());
    json::write_value(&mut out, v, &mut att);
    (out, att)
}

// Typed data for the typed round trip.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    size: i64,
    ratio: f64,
    comment: Option<String>,
    tags: Vec<String>,
    data: Bytes,
    thumbnail: Option<Bytes>,
    chunks: Vec<Bytes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    user: String,
    age: i64,
    score: f64,
    nickname: Option<String>,
    friends: Vec<String>,
    avatar: Option<Bytes>,
}

fn arb_upload() -> impl Strategy<Value = Upload> {
    (
        arb_string(16),
        any::<i64>(),
        arb_finite_f64(),
        prop::option::of(arb_string(16)),
        prop::collection::vec(arb_string(8), 0..4),
        arb_bytes(64),
        prop::option::of(arb_bytes(16)),
        prop::collection::vec(arb_bytes(16), 0..3),
    )
        .prop_map(
            |(name, size, ratio, comment, tags, data, thumbnail, chunks)| Upload {
                name,
                size,
                ratio,
                comment,
                tags,
                data,
                thumbnail,
                chunks,
            },
        )
}

/// Without binary (unless `avatar` is set) the JSON parser sends plain
/// text, which is read by a different path than binary packets.
fn arb_profile() -> impl Strategy<Value = Profile> {
    (
        arb_string(16),
        any::<i64>(),
        arb_finite_f64(),
        prop::option::of(arb_string(16)),
        prop::collection::vec(arb_string(8), 0..4),
        prop::option::weighted(0.2, arb_bytes(16)),
    )
        .prop_map(|(user, age, score, nickname, friends, avatar)| Profile {
            user,
            age,
            score,
            nickname,
            friends,
            avatar,
        })
}

fn typed_round_trip<T>(
    parser: Parser,
    nsp: &str,
    event: &str,
    value: &T,
    id: Option<u64>,
) -> Result<(), TestCaseError>
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let encoded = parser
        .encode_event(nsp, event, &(value,), id)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let packet = decode_all(parser, encoded.frames().collect())?;
    prop_assert_eq!(packet.kind, PacketType::Event);
    prop_assert_eq!(&packet.nsp, nsp);
    prop_assert_eq!(packet.id, id);
    prop_assert_eq!(
        packet
            .event_name()
            .map_err(|e| TestCaseError::fail(e.to_string()))?,
        event
    );
    let (back,): (T,) = packet
        .args()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, value);
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig {
        // 256 cases (proptest's default) unless PROPTEST_CASES says otherwise.
        max_shrink_iters: 2000,
        // Failures are kept as unit tests in the crate, not as files.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// (a) Socket.IO packets: encode → decode, both parsers.
    #[test]
    fn sio_packet_round_trip(packet in arb_packet(), msgpack in any::<bool>()) {
        let parser = parser_of(msgpack);
        let encoded = parser.encode_packet(&packet).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if parser == Parser::Msgpack {
            prop_assert!(encoded.attachments.is_empty());
            prop_assert!(!encoded.head.is_text());
        } else {
            prop_assert!(encoded.head.is_text());
        }
        let decoded = decode_all(parser, encoded.frames().collect())?;
        prop_assert_eq!(plain(decoded.clone()), plain(packet.clone()));

        // The decoded packet re-encodes to the same frames.
        let again = parser.encode_packet(&decoded).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(again, encoded);

        // The typed readers agree with the value.
        if packet.kind == PacketType::Event {
            let data = plain(packet).data.unwrap();
            let name = decoded.event_name().ok();
            prop_assert_eq!(name.as_deref(), data[0].as_str());
            let args: Vec<Value> = decoded.args().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&args[..], &data.as_array().unwrap()[1..]);
        } else if packet.kind == PacketType::Ack {
            let data = plain(packet).data.unwrap();
            let args: Vec<Value> = decoded.args().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&args[..], &data.as_array().unwrap()[..]);
        }
    }

    /// (a) A packet encoded by one parser and decoded carries the same
    /// values as when encoded by the other. Compared as doubles: an
    /// integral float beyond 2^53 is its shortest digits in JSON
    /// (`35672203859715550`, as JavaScript prints it) but its exact integer
    /// in msgpack (`35672203859715552`, as notepack writes it); both are
    /// the same double.
    #[test]
    fn parsers_agree(packet in arb_packet()) {
        let mut decoded = Vec::new();
        for parser in [Parser::Json, Parser::Msgpack] {
            let encoded = parser.encode_packet(&packet).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut p = plain(decode_all(parser, encoded.frames().collect())?);
            p.data = p.data.map(as_doubles);
            decoded.push(p);
        }
        prop_assert_eq!(&decoded[0], &decoded[1]);
    }

    /// (b) Engine.IO over WebSocket: one packet per frame.
    #[test]
    fn engine_frame_round_trip(packet in arb_engine_packet(true)) {
        let decoded = engine::Packet::decode_frame(packet.to_frame());
        prop_assert_eq!(decoded, Ok(normalize_engine(packet)));
    }

    /// (b) Engine.IO over polling: packets joined by `\x1e` (text packets
    /// containing `\x1e` cannot be sent over polling).
    #[test]
    fn engine_payload_round_trip(packets in prop::collection::vec(arb_engine_packet(false), 1..10)) {
        let body = encode_payload(&packets);
        let body = Str::from_utf8(body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let decoded: Result<Vec<_>, _> = decode_payload(body).collect();
        let expected: Vec<_> = packets.into_iter().map(normalize_engine).collect();
        prop_assert_eq!(decoded, Ok(expected));
    }

    /// (b) Each packet of a payload decodes alone like in the payload.
    #[test]
    fn engine_text_form_matches_frame_form(packet in arb_engine_packet(false)) {
        let mut text = Vec::new();
        packet.encode_text_into(&mut text);
        let text = Str::from_utf8(text.into()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(engine::Packet::decode_text(text), Ok(normalize_engine(packet)));
    }

    /// (c) The serde JSON writer and the Value writer agree byte for byte,
    /// and the text parses back to the same value.
    #[test]
    fn json_writers_agree_and_parse_back(value in arb_value(true)) {
        let (direct, direct_att) = to_json(&value);
        let (mut via_serde, mut serde_att) = (Vec::new(), Vec::new());
        json::to_writer(&mut via_serde, &value, &mut serde_att).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            String::from_utf8(via_serde).unwrap(),
            String::from_utf8(direct.clone()).unwrap()
        );
        prop_assert_eq!(&serde_att, &direct_att);
        let back = json::parse_value(&direct, &direct_att).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, value);
    }

    /// (c) The JSON text is valid JSON to an independent parser too, and
    /// reading it through serde_json's own value model gives the same text.
    #[test]
    fn json_text_is_standard_json(value in arb_value(false)) {
        let (text, _) = to_json(&value);
        let std: serde_json::Value = serde_json::from_slice(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let via_std: Value = serde_json::from_value(std).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(via_std, value);
    }

    /// (d) Typed arguments: a struct with binary fields goes out with
    /// `encode_event` and comes back with `args()`.
    #[test]
    fn typed_struct_round_trip(
        upload in arb_upload(),
        profile in arb_profile(),
        nsp in arb_nsp(),
        event in arb_event_name(),
        id in arb_id(),
        msgpack in any::<bool>(),
    ) {
        let parser = parser_of(msgpack);
        typed_round_trip(parser, &nsp, &event, &upload, id)?;
        typed_round_trip(parser, &nsp, &event, &profile, id)?;
    }

    /// (e) The decoder never panics, whatever the frames, for both parsers,
    /// and everything it returns can be read and re-encoded.
    #[test]
    fn decoder_never_panics(frames in prop::collection::vec(arb_frame(), 0..12), msgpack in any::<bool>()) {
        let parser = parser_of(msgpack);
        let mut decoder = Decoder::new(parser);
        for frame in frames {
            if let Ok(Some(packet)) = decoder.decode(frame) {
                // What the decoder accepts, the readers can read.
                if let Some(data) = &packet.data {
                    prop_assert!(data.to_value().is_ok(), "{:?}: unreadable data", packet);
                }
                let name = packet.event_name();
                // (An EVENT without data is accepted, as by the reference, and
                // has no name.)
                let named = packet.kind == PacketType::Event && packet.data.is_some();
                prop_assert_eq!(name.is_ok(), named, "{:?}", name);
                let args = packet.args::<Vec<Value>>();
                if matches!(packet.kind, PacketType::Event | PacketType::Ack) {
                    prop_assert!(args.is_ok(), "{:?}: {:?}", packet, args);
                }
                let encoded = parser.encode_packet(&packet);
                prop_assert!(encoded.is_ok(), "{:?} does not re-encode: {:?}", packet, encoded);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Sanity checks of the strategies themselves
// ---------------------------------------------------------------------------

#[test]
fn reserved_names_are_filtered() {
    for name in RESERVED_EVENTS {
        assert!(is_reserved_event(name));
    }
}
