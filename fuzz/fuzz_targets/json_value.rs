//! JSON values with binary placeholders: the first byte picks 0 to 3
//! attachments, the rest is the JSON text. Whatever parses is written back
//! (by both writers, identically) and parses again to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_proto::{json, Bytes};

fuzz_target!(|data: &[u8]| {
    let Some((&first, text)) = data.split_first() else {
        return;
    };
    let attachments: Vec<Bytes> = (0..first % 4)
        .map(|i| Bytes::from(vec![i; usize::from(i)]))
        .collect();
    let Ok(value) = json::parse_value(text, &attachments) else {
        return;
    };

    let (mut out, mut written) = (Vec::new(), Vec::new());
    json::write_value(&mut out, &value, &mut written);
    let (mut via_serde, mut serde_written) = (Vec::new(), Vec::new());
    json::to_writer(&mut via_serde, &value, &mut serde_written).expect("a value serializes");
    assert_eq!(via_serde, out, "the two JSON writers disagree");
    assert_eq!(serde_written, written);

    let again = json::parse_value(&out, &written).expect("written JSON parses");
    assert_eq!(again, value);
});
