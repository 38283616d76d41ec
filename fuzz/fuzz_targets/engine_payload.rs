//! Engine.IO polling: any text as a payload body. Decoding yields packets
//! up to the first error and nothing after it; the packets decoded before
//! the error re-encode to a body that decodes to the same packets.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_proto::engine::{decode_payload, encode_payload, SEPARATOR};
use sio_proto::Str;

fuzz_target!(|body: &str| {
    let records = body.bytes().filter(|&b| b == SEPARATOR).count() + 1;
    let mut packets = Vec::new();
    let mut items = 0;
    let mut failed = false;
    for item in decode_payload(Str::from(body)) {
        items += 1;
        assert!(!failed, "an item after an error");
        match item {
            Ok(p) => packets.push(p),
            Err(_) => failed = true,
        }
    }
    assert!(
        items >= 1 && items <= records,
        "{items} items from {records} records"
    );
    assert!(failed || items == records);

    if !packets.is_empty() {
        let again = Str::from_utf8(encode_payload(&packets)).expect("a payload is UTF-8");
        let back: Vec<_> = decode_payload(again)
            .collect::<Result<_, _>>()
            .expect("a re-encoded payload decodes");
        assert_eq!(back, packets);
    }
});
