//! The msgpack parser's wire format (npm `socket.io-msgpack-parser`): each
//! packet is one binary frame holding the msgpack map
//! `{"type", "data"?, "nsp", "id"?}` as the `notepack.io` encoder writes it
//! (byte buffers as `bin`, integral numbers as the smallest integer).

use serde::Serialize;

use super::json::Data;
use super::{Encoded, PacketType, Payload};
use crate::value::Value;
use crate::Frame;

/// Why msgpack could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot serialize to msgpack: {0}")]
pub struct MsgpackError(pub String);

fn ser<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), MsgpackError> {
    // Through a Value: numbers as notepack writes them (integral floats as
    // integers), and raw JSON fragments parsed.
    let value = crate::to_value(value).map_err(|e| MsgpackError(e.to_string()))?;
    let mut s = rmp_serde::Serializer::new(out).with_struct_map();
    value
        .serialize(&mut s)
        .map_err(|e| MsgpackError(e.to_string()))
}

/// Reads an array header at the start of `buf`: (element count, header length).
fn array_header(buf: &[u8]) -> Option<(u32, usize)> {
    match *buf.first()? {
        m @ 0x90..=0x9f => Some(((m & 0x0f) as u32, 1)),
        0xdc => Some((u16::from_be_bytes([*buf.get(1)?, *buf.get(2)?]) as u32, 3)),
        0xdd => Some((
            u32::from_be_bytes([*buf.get(1)?, *buf.get(2)?, *buf.get(3)?, *buf.get(4)?]),
            5,
        )),
        _ => None,
    }
}

/// Writes `args` as an argument array, with `event` first if given.
fn write_args<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    event: Option<&str>,
    args: &T,
) -> Result<(), MsgpackError> {
    let mut body = Vec::new();
    ser(&mut body, args)?;
    let (count, skip) = match array_header(&body) {
        Some((n, len)) => (n, len),
        None => (1, 0), // not an array: one argument
    };
    let extra = u32::from(event.is_some());
    let e = |x: rmp::encode::ValueWriteError| MsgpackError(x.to_string());
    rmp::encode::write_array_len(out, count + extra).map_err(e)?;
    if let Some(event) = event {
        rmp::encode::write_str(out, event).map_err(e)?;
    }
    out.extend_from_slice(&body[skip..]);
    Ok(())
}

pub(crate) fn encode<T: Serialize + ?Sized>(
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    data: Data<'_, T>,
) -> Result<Encoded, MsgpackError> {
    fn e(x: impl std::fmt::Display) -> MsgpackError {
        MsgpackError(x.to_string())
    }
    let has_data = !matches!(data, Data::None);
    let mut out = Vec::with_capacity(64);
    let fields = 2 + u32::from(has_data) + u32::from(id.is_some());
    rmp::encode::write_map_len(&mut out, fields).map_err(e)?;
    rmp::encode::write_str(&mut out, "type").map_err(e)?;
    rmp::encode::write_uint(&mut out, kind as u64).map_err(e)?;
    if has_data {
        rmp::encode::write_str(&mut out, "data").map_err(e)?;
        match data {
            Data::None => unreachable!(),
            Data::Whole(v) => ser(&mut out, v)?,
            Data::Event(event, args) => write_args(&mut out, Some(event), args)?,
            Data::Args(args) => write_args(&mut out, None, args)?,
            Data::Payload(Payload::Value(v)) => ser(&mut out, v)?,
            Data::Payload(p @ (Payload::Json(_) | Payload::Binary(_))) => {
                let v = p.to_value().map_err(|x| MsgpackError(x.to_string()))?;
                ser(&mut out, &v)?
            }
        }
    }
    rmp::encode::write_str(&mut out, "nsp").map_err(e)?;
    rmp::encode::write_str(&mut out, nsp).map_err(e)?;
    if let Some(id) = id {
        rmp::encode::write_str(&mut out, "id").map_err(e)?;
        rmp::encode::write_uint(&mut out, id).map_err(e)?;
    }
    Ok(Encoded {
        head: Frame::Binary(out.into()),
        attachments: Vec::new(),
    })
}

/// A decoded msgpack packet before validation.
pub(crate) struct Raw {
    pub kind: Option<Value>,
    pub nsp: Option<Value>,
    pub data: Option<Value>,
    pub id: Option<Value>,
}

/// The nesting limit: the packet map, then data as deep as JSON data may be
/// (serde_json's limit). rmp_serde's default (1024) lets a one-kilobyte
/// frame overflow a 2 MiB thread stack in debug builds.
const MAX_DEPTH: usize = 129;

pub(crate) fn decode(buf: &[u8]) -> Result<Raw, String> {
    let mut de = rmp_serde::Deserializer::new(std::io::Cursor::new(buf));
    de.set_max_depth(MAX_DEPTH);
    let value: Value = serde::Deserialize::deserialize(&mut de).map_err(|e| e.to_string())?;
    let used = de.get_ref().position() as usize;
    if used != buf.len() {
        // One frame is one packet: trailing bytes are an error, as in notepack.
        return Err(format!("{} trailing bytes", buf.len() - used));
    }
    let Value::Object(mut m) = value else {
        return Err(format!("expected a map, found {}", value.kind()));
    };
    Ok(Raw {
        kind: m.swap_remove("type"),
        nsp: m.swap_remove("nsp"),
        data: m.swap_remove("data"),
        id: m.swap_remove("id"),
    })
}

#[cfg(test)]
mod tests {
    use crate::{Decoder, Frame, Parser};

    /// An ACK whose data is `depth` nested arrays, as JSON and as msgpack.
    fn nested(depth: usize) -> [Frame; 2] {
        let json = format!("3{}{}", "[".repeat(depth), "]".repeat(depth));
        let mut b = b"\x83\xa4type\x03\xa4data".to_vec();
        b.extend(std::iter::repeat_n(0x91, depth - 1));
        b.push(0x90);
        b.extend_from_slice(b"\xa3nsp\xa1/");
        [Frame::from(json), Frame::Binary(b.into())]
    }

    #[test]
    fn nesting_is_limited_like_json() {
        // Found while fuzzing: 1000 nested arrays (a 1 KiB frame) overflowed
        // a 2 MiB stack in debug builds and aborted the process.
        for (parser, frame) in [Parser::Json, Parser::Msgpack].into_iter().zip(nested(127)) {
            let packet = Decoder::new(parser).decode(frame).unwrap().unwrap();
            packet.data.unwrap().to_value().unwrap();
        }
        for depth in [128, 1000, 100_000] {
            for (parser, frame) in [Parser::Json, Parser::Msgpack]
                .into_iter()
                .zip(nested(depth))
            {
                let got = std::thread::Builder::new()
                    .stack_size(1 << 20)
                    .spawn(move || Decoder::new(parser).decode(frame).is_err())
                    .unwrap()
                    .join();
                assert_eq!(got.ok(), Some(true), "{parser:?} at depth {depth}");
            }
        }
    }
}
