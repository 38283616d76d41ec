//! Shared by the Socket.IO decoder fuzz targets: turning fuzz input into a
//! sequence of frames, and the checks applied to every decoded packet.

use sio_proto::{Bytes, Decoder, DecoderConfig, Encoded, Frame, Packet, PacketType, Parser, Value};

/// Splits fuzz input into 1 to 8 frames, using its first bytes as a script:
///
/// - byte 0: the number of frames minus one (modulo 8);
/// - then one byte per frame: bit 7 set for a binary frame, clear for a
///   text frame; the low 7 bits are the frame's length, 127 meaning "all
///   the remaining bytes" (the last frame always takes the rest);
/// - then the frame contents, back to back. Text that is not valid UTF-8
///   is converted lossily, so that every script byte yields its frame.
pub fn split_frames(data: &[u8]) -> Vec<Frame> {
    let Some((&count, rest)) = data.split_first() else {
        return Vec::new();
    };
    let count = usize::from(count % 8) + 1;
    let (script, mut body) = rest.split_at(count.min(rest.len()));
    let mut frames = Vec::with_capacity(script.len());
    for (i, &op) in script.iter().enumerate() {
        let len = usize::from(op & 0x7f);
        let take = if len == 0x7f || i + 1 == script.len() {
            body.len()
        } else {
            len.min(body.len())
        };
        let (chunk, tail) = body.split_at(take);
        body = tail;
        frames.push(if op & 0x80 != 0 {
            Frame::Binary(Bytes::copy_from_slice(chunk))
        } else {
            Frame::from(String::from_utf8_lossy(chunk).into_owned())
        });
    }
    frames
}

/// Feeds `data`, split into frames, to a decoder for `parser`, and checks
/// every packet that comes out. Decode errors are fine; panics are not.
pub fn fuzz_decoder(parser: Parser, data: &[u8]) {
    let mut decoder = Decoder::new(parser);
    for frame in split_frames(data) {
        match decoder.decode(frame) {
            Ok(Some(packet)) => {
                assert!(!decoder.is_pending());
                check_packet(parser, &packet);
            }
            Ok(None) => assert!(parser == Parser::Json && decoder.is_pending()),
            Err(_) => assert!(!decoder.is_pending(), "the decoder resets after an error"),
        }
    }
}

fn check_packet(parser: Parser, packet: &Packet) {
    // The readers work on every decoded packet.
    if let Some(data) = &packet.data {
        data.to_value().expect("decoded data reads as a value");
    }
    let name = packet.event_name();
    // An EVENT without data is accepted (as by the reference) and has no name.
    let named = packet.kind == PacketType::Event && packet.data.is_some();
    assert_eq!(name.is_ok(), named, "{name:?}");
    let args = packet.args::<Vec<Value>>();
    if matches!(packet.kind, PacketType::Event | PacketType::Ack) {
        args.expect("event and ack arguments read as a list");
    }

    // Re-encoding succeeds, decodes to the same packet, and is stable.
    let first = parser
        .encode_packet(packet)
        .unwrap_or_else(|e| panic!("{packet:?} does not re-encode: {e}"));
    let again = decode_encoded(parser, &first);
    assert_eq!(
        (again.kind, &again.nsp, again.id),
        (packet.kind, &packet.nsp, packet.id)
    );
    let second = parser.encode_packet(&again).expect("re-encodes twice");
    assert_eq!(first, second, "re-encoding is not stable");

    match parser {
        Parser::Json => {
            // JSON has no NaN: the values compare equal.
            assert_eq!(value(&again), value(packet));
            // What the JSON parser accepts, msgpack carries too, except an
            // EVENT, ACK or CONNECT_ERROR without data: the npm JSON decoder
            // accepts them (it checks data only when there is some), the npm
            // msgpack decoder does not (and neither does ours).
            if packet.data.is_none()
                && matches!(
                    packet.kind,
                    PacketType::Event | PacketType::Ack | PacketType::ConnectError
                )
            {
                return;
            }
            let encoded = Parser::Msgpack
                .encode_packet(packet)
                .unwrap_or_else(|e| panic!("{packet:?} does not encode as msgpack: {e}"));
            let via_msgpack = decode_encoded(Parser::Msgpack, &encoded);
            assert_eq!(via_msgpack.kind, packet.kind);
            assert_eq!(via_msgpack.nsp, packet.nsp);
            assert_eq!(via_msgpack.id, packet.id);
            assert_eq!(value(&via_msgpack), value(packet));
        }
        Parser::Msgpack => {
            // Not everything msgpack carries fits the JSON format (a comma in
            // the namespace, binary in a CONNECT, NaN): just no panic.
            let _ = Parser::Json.encode_packet(packet);
        }
    }
}

fn value(p: &Packet) -> Option<Value> {
    p.data
        .as_ref()
        .map(|d| d.to_value().expect("data reads as a value"))
}

/// Decodes our own encoding: exactly the last frame completes the packet.
fn decode_encoded(parser: Parser, encoded: &Encoded) -> Packet {
    // Our encoder gives each byte buffer its own attachment, so a packet
    // whose placeholders share attachments can come back with more of them.
    let mut decoder = Decoder::with_config(
        parser,
        DecoderConfig {
            max_attachments: usize::MAX,
        },
    );
    let count = encoded.frame_count();
    let mut out = None;
    for (i, frame) in encoded.frames().enumerate() {
        let got = decoder
            .decode(frame)
            .unwrap_or_else(|e| panic!("our own encoding {encoded:?} does not decode: {e}"));
        assert_eq!(got.is_some(), i + 1 == count);
        out = got;
    }
    out.expect("the last frame completes the packet")
}
