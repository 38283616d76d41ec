//! Codec benchmarks: encode and decode of typical packets.
//!
//! `cargo bench -p sio-proto --bench codec -- --warm-up-time 1 --measurement-time 3`
//!
//! Each case has an `encode/…` and a `decode/…` benchmark. Decoding JSON
//! text without binary is lazy (the decoder checks the shape and keeps the
//! text), so the 10 KiB case also has `decode+to_value/…`, the cost of
//! reading it all into a tree.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sio_proto::engine::{self, decode_payload, encode_payload};
use sio_proto::{Bytes, Decoder, Frame, Map, Packet, Parser, Str, Value};

/// `["message","hello world",42]`
fn small_event() -> Packet {
    Packet::event("/", "message", vec!["hello world".into(), 42.into()])
}

/// `343[{"status":"ok","count":3,"user":{"id":7,"name":"alice"}}]`
fn small_ack() -> Packet {
    let mut user = Map::new();
    user.insert("id".into(), 7.into());
    user.insert("name".into(), "alice".into());
    let mut m = Map::new();
    m.insert("status".into(), "ok".into());
    m.insert("count".into(), 3.into());
    m.insert("user".into(), Value::Object(user));
    Packet::ack("/", 43, vec![Value::Object(m)])
}

/// `["upload","photo.bin",<1 KiB>]`
fn binary_event() -> Packet {
    let data: Vec<u8> = (0..1024u32).map(|i| (i * 31 % 251) as u8).collect();
    Packet::event(
        "/",
        "upload",
        vec!["photo.bin".into(), Value::Bytes(Bytes::from(data))],
    )
}

/// `["records",{"page":1,"records":[{...}, ...]}]`, about 10 KiB of JSON.
fn large_event() -> Packet {
    let records: Vec<Value> = (0..92)
        .map(|i| {
            let mut r = Map::new();
            r.insert("id".into(), (1000 + i).into());
            r.insert("name".into(), format!("user-{i}").into());
            r.insert("email".into(), format!("user{i}@example.com").into());
            r.insert("active".into(), (i % 3 != 0).into());
            r.insert("score".into(), (f64::from(i) * 1.25 + 0.5).into());
            r.insert(
                "tags".into(),
                Value::Array(vec!["alpha".into(), "beta".into()]),
            );
            Value::Object(r)
        })
        .collect();
    let mut body = Map::new();
    body.insert("page".into(), 1.into());
    body.insert("records".into(), Value::Array(records));
    Packet::event("/", "records", vec![Value::Object(body)])
}

/// Ten Engine.IO messages, each a small Socket.IO event, as one polling body.
fn polling_packets() -> Vec<engine::Packet> {
    (0..10)
        .map(|i| engine::Packet::message(format!(r#"2["message","hello world",{i}]"#)))
        .collect()
}

fn frames(parser: Parser, packet: &Packet) -> Vec<Frame> {
    parser.encode_packet(packet).unwrap().frames().collect()
}

/// Decodes the frames of one packet with a reused decoder.
fn decode(decoder: &mut Decoder, frames: &[Frame]) -> Packet {
    let mut out = None;
    for f in frames {
        out = decoder.decode(f.clone()).unwrap();
    }
    out.unwrap()
}

fn packets(c: &mut Criterion) {
    let cases = [
        ("small_event", Parser::Json, small_event()),
        ("ack", Parser::Json, small_ack()),
        ("binary_event_1k", Parser::Json, binary_event()),
        ("json_10k", Parser::Json, large_event()),
        ("msgpack_small_event", Parser::Msgpack, small_event()),
    ];

    let mut encode = c.benchmark_group("encode");
    for (name, parser, packet) in &cases {
        let size: usize = frames(*parser, packet).iter().map(Frame::len).sum();
        encode.throughput(Throughput::Bytes(size as u64));
        encode.bench_with_input(BenchmarkId::from_parameter(name), packet, |b, p| {
            b.iter(|| parser.encode_packet(black_box(p)).unwrap())
        });
    }
    encode.finish();

    let mut decode_group = c.benchmark_group("decode");
    for (name, parser, packet) in &cases {
        let input = frames(*parser, packet);
        let size: usize = input.iter().map(Frame::len).sum();
        decode_group.throughput(Throughput::Bytes(size as u64));
        let mut decoder = Decoder::new(*parser);
        decode_group.bench_with_input(BenchmarkId::from_parameter(name), &input, |b, f| {
            b.iter(|| decode(&mut decoder, black_box(f)))
        });
    }
    decode_group.finish();

    let input = frames(Parser::Json, &large_event());
    assert!(
        (10_000..10_500).contains(&input[0].len()),
        "{}",
        input[0].len()
    );
    let mut decoder = Decoder::new(Parser::Json);
    c.bench_function("decode+to_value/json_10k", |b| {
        b.iter(|| {
            let p = decode(&mut decoder, black_box(&input));
            p.data.unwrap().into_value().unwrap()
        })
    });
}

fn polling(c: &mut Criterion) {
    let packets = polling_packets();
    let body = encode_payload(&packets);
    c.bench_function("encode/polling_10", |b| {
        b.iter(|| encode_payload(black_box(&packets)))
    });
    let body = Str::from_utf8(body).unwrap();
    c.bench_function("decode/polling_10", |b| {
        b.iter(|| {
            decode_payload(black_box(body.clone()))
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        })
    });
}

fn typed(c: &mut Criterion) {
    let input = frames(Parser::Json, &small_event());
    let packet = decode(&mut Decoder::new(Parser::Json), &input);
    c.bench_function("typed/args_string_u32", |b| {
        b.iter(|| black_box(&packet).args::<(String, u32)>().unwrap())
    });
    c.bench_function("typed/encode_event_tuple", |b| {
        b.iter(|| {
            Parser::Json
                .encode_event("/", "message", black_box(&("hello world", 42u32)), None)
                .unwrap()
        })
    });
}

criterion_group!(benches, packets, polling, typed);
criterion_main!(benches);
