//! Engine.IO: any bytes as a WebSocket frame, text (when valid UTF-8) and
//! binary. Whatever decodes must re-encode, in both the WebSocket and the
//! polling form, to something that decodes to the same packet.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_proto::engine::Packet;
use sio_proto::{Bytes, Frame, Str};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(text) = Str::from_utf8(bytes.clone()) {
        check(Frame::Text(text));
    }
    check(Frame::Binary(bytes));
});

fn check(frame: Frame) {
    let Ok(packet) = Packet::decode_frame(frame) else {
        return;
    };
    let again = Packet::decode_frame(packet.to_frame()).expect("a re-encoded frame decodes");
    assert_eq!(again, packet);

    let mut text = Vec::new();
    packet.encode_text_into(&mut text);
    let text = Str::from_utf8(text.into()).expect("the text form is UTF-8");
    let again = Packet::decode_text(text).expect("the text form decodes");
    assert_eq!(again, packet);
}
