//! Polling payloads: several packets in one HTTP body.

use crate::engine::{EngineError, Packet};
use crate::Str;

/// The record separator between packets of a polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// Encodes packets as one polling body (`\x1e`-separated, binary as `b` + base64).
///
/// ```
/// use sio_proto::engine::{encode_payload, Packet};
/// assert_eq!(&encode_payload(&[Packet::noop(), Packet::close()])[..], b"6\x1e1");
/// ```
pub fn encode_payload<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> bytes::Bytes {
    let mut out = Vec::with_capacity(64);
    encode_payload_into(&mut out, packets);
    out.into()
}

/// Like [`encode_payload`], appending to `out`.
pub fn encode_payload_into<'a>(out: &mut Vec<u8>, packets: impl IntoIterator<Item = &'a Packet>) {
    for (i, p) in packets.into_iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        p.encode_text_into(out);
    }
}

/// Decodes a polling body into its packets, lazily and without copying text.
/// Decoding stops after the first error, as the reference does.
///
/// ```
/// use sio_proto::engine::{decode_payload, Packet};
/// let body = sio_proto::Str::from("2\x1e4hi\x1e9");
/// let items: Vec<_> = decode_payload(body).collect();
/// assert_eq!(items[0], Ok(Packet::ping()));
/// assert_eq!(items[1], Ok(Packet::message("hi")));
/// assert!(items[2].is_err());
/// ```
pub fn decode_payload(body: Str) -> PayloadDecoder {
    PayloadDecoder {
        body,
        pos: 0,
        done: false,
    }
}

/// The iterator returned by [`decode_payload`].
#[derive(Debug, Clone)]
pub struct PayloadDecoder {
    body: Str,
    pos: usize,
    done: bool,
}

impl Iterator for PayloadDecoder {
    type Item = Result<Packet, EngineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = &self.body.as_bytes()[self.pos..];
        let end = match rest.iter().position(|&b| b == SEPARATOR) {
            Some(i) => self.pos + i,
            None => {
                self.done = true;
                self.body.len()
            }
        };
        // The separator is ASCII, so both ends are char boundaries.
        let record = self.body.slice(self.pos..end);
        self.pos = end + 1;
        let packet = Packet::decode_text(record);
        if packet.is_err() {
            self.done = true;
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn empty_records_are_errors() {
        let items: Vec<_> = decode_payload(Str::from("")).collect();
        assert_eq!(items, vec![Err(EngineError::Empty)]);
        let items: Vec<_> = decode_payload(Str::from("4a\x1e")).collect();
        assert_eq!(
            items,
            vec![Ok(Packet::message("a")), Err(EngineError::Empty)]
        );
    }

    #[test]
    fn mixed_round_trip() {
        let packets = vec![
            Packet::message("é\u{1e}".replace('\u{1e}', "")),
            Packet::binary(Bytes::from(vec![0u8; 1000])),
            Packet::ping(),
            Packet::binary(Bytes::new()),
        ];
        let body = Str::from_utf8(encode_payload(&packets)).unwrap();
        let back: Vec<_> = decode_payload(body).collect::<Result<_, _>>().unwrap();
        assert_eq!(back, packets);
    }
}
