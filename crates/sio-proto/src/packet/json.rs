//! The default parser's wire format:
//! `<type>[<attachments>-][<nsp>,][<id>][<json>]` + one binary frame per buffer.

use bytes::Bytes;
use serde::Serialize;

use super::{Encoded, PacketType, Payload};
use crate::json::{JsonError, JsonSerializer};
use crate::{Frame, Str};

const BINARY_EVENT: u8 = b'5';
const BINARY_ACK: u8 = b'6';

/// What goes in the data part of a packet being encoded.
pub(crate) enum Data<'a, T: ?Sized> {
    None,
    /// `T` serialized as the whole data.
    Whole(&'a T),
    /// `[event, ...args]` where `T` serializes as the argument array (a
    /// non-array `T` is one argument).
    Event(&'a str, &'a T),
    /// `T` as an argument array (a non-array `T` is one argument).
    Args(&'a T),
    /// Data already decoded.
    Payload(&'a Payload),
}

/// Writes the header: type, namespace (omitted for `/`), ack id.
fn header(out: &mut Vec<u8>, kind: PacketType, nsp: &str, id: Option<u64>) {
    out.push(b'0' + kind as u8);
    if nsp != "/" && !nsp.is_empty() {
        out.extend_from_slice(nsp.as_bytes());
        out.push(b',');
    }
    if let Some(id) = id {
        out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    }
}

/// Serializes `value` at the end of `out` as an argument list: if it
/// serialized as an array, fine; otherwise wrap it as `[value]`.
fn write_args<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    attachments: &mut Vec<Bytes>,
    after_event: bool,
) -> Result<(), JsonError> {
    let start = out.len();
    value.serialize(&mut JsonSerializer::new(out, attachments))?;
    if out[start] == b'[' {
        if after_event {
            if out.len() == start + 2 {
                // `[]`: no arguments, just close the event array.
                out.truncate(start);
                out.push(b']');
            } else {
                out[start] = b',';
            }
        }
    } else if after_event {
        out.insert(start, b',');
        out.push(b']');
    } else {
        out.insert(start, b'[');
        out.push(b']');
    }
    Ok(())
}

pub(crate) fn encode<T: Serialize + ?Sized>(
    kind: PacketType,
    nsp: &str,
    id: Option<u64>,
    data: Data<'_, T>,
) -> Result<Encoded, JsonError> {
    if nsp.contains(',') {
        return Err(JsonError::Serialize(format!(
            "invalid namespace {nsp:?}: must not contain a comma"
        )));
    }
    let mut out = Vec::with_capacity(64);
    let mut attachments = Vec::new();
    header(&mut out, kind, nsp, id);
    let data_start = out.len();
    match data {
        Data::None => {}
        Data::Whole(v) => v.serialize(&mut JsonSerializer::new(&mut out, &mut attachments))?,
        Data::Event(event, args) => {
            out.push(b'[');
            crate::json::write_str(&mut out, event);
            write_args(&mut out, args, &mut attachments, true)?;
        }
        Data::Args(args) => write_args(&mut out, args, &mut attachments, false)?,
        Data::Payload(Payload::Json(text)) => out.extend_from_slice(text.as_bytes()),
        Data::Payload(Payload::Value(v)) => crate::json::write_value(&mut out, v, &mut attachments),
        Data::Payload(Payload::Binary(b)) => b.write(&mut out, &mut attachments),
    }
    if !attachments.is_empty() {
        // Only events and acks may carry binary (the reference turns them
        // into BINARY_EVENT / BINARY_ACK); the count goes right after the
        // type digit, which is known only now that the data is written.
        out[0] = match kind {
            PacketType::Event => BINARY_EVENT,
            PacketType::Ack => BINARY_ACK,
            _ => {
                return Err(JsonError::Serialize(format!(
                    "{kind:?} packets cannot carry binary data"
                )))
            }
        };
        let mut digits = itoa::Buffer::new();
        let count = digits.format(attachments.len()).as_bytes();
        out.splice(1..1, count.iter().copied().chain([b'-']));
    }
    let _ = data_start;
    // SAFETY-free: every byte written above is valid UTF-8 (ASCII digits and
    // punctuation, `str` contents, and JSON text from the serializer).
    let text = Str::from_utf8(Bytes::from(out))
        .map_err(|_| JsonError::Serialize("invalid UTF-8".into()))?;
    Ok(Encoded {
        head: Frame::Text(text),
        attachments,
    })
}

/// The parsed header of a text packet.
#[derive(Debug)]
pub(crate) struct Header {
    pub kind: PacketType,
    pub attachments: usize,
    pub nsp: Str,
    pub id: Option<u64>,
    /// The data text (may be empty).
    pub data: Str,
}

/// Why a header could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    Empty,
    UnknownType(char),
    IllegalAttachments,
    InvalidId,
}

/// Reads the header as the reference decoder does.
pub(crate) fn parse_header(text: &Str) -> Result<Header, HeaderError> {
    let b = text.as_bytes();
    let first = *b.first().ok_or(HeaderError::Empty)?;
    let kind_code = match first {
        b'0'..=b'6' => first - b'0',
        _ => return Err(HeaderError::UnknownType(text.chars().next().unwrap_or('?'))),
    };
    let kind = PacketType::from_code(kind_code as u64).expect("0..=6");
    let mut i = 1;
    let mut attachments = 0;
    if first == BINARY_EVENT || first == BINARY_ACK {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i >= b.len() || b[i] != b'-' {
            return Err(HeaderError::IllegalAttachments);
        }
        // More than 19 digits cannot be a sane count: treat as too many.
        attachments = text[start..i].parse::<usize>().unwrap_or(usize::MAX);
        if attachments == 0 {
            return Err(HeaderError::IllegalAttachments);
        }
        i += 1;
    }
    let nsp = if b.get(i) == Some(&b'/') {
        let start = i;
        while i < b.len() && b[i] != b',' {
            i += 1;
        }
        let nsp = text.slice(start..i);
        if i < b.len() {
            i += 1; // the comma
        }
        nsp
    } else {
        Str::from_static("/")
    };
    let mut id = None;
    if i < b.len() && b[i].is_ascii_digit() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        id = Some(
            text[start..i]
                .parse::<u64>()
                .map_err(|_| HeaderError::InvalidId)?,
        );
    }
    Ok(Header {
        kind,
        attachments,
        nsp,
        id,
        data: text.slice(i..b.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Result<(PacketType, usize, String, Option<u64>, String), HeaderError> {
        parse_header(&Str::from(s)).map(|h| {
            (
                h.kind,
                h.attachments,
                h.nsp.to_string(),
                h.id,
                h.data.to_string(),
            )
        })
    }

    #[test]
    fn headers() {
        assert_eq!(
            h("0").unwrap(),
            (PacketType::Connect, 0, "/".into(), None, "".into())
        );
        assert_eq!(h("0/admin,").unwrap().2, "/admin");
        // The type is one digit: `40/admin,` is a CONNECT_ERROR with id 0.
        assert_eq!(
            h("40/admin,").unwrap(),
            (
                PacketType::ConnectError,
                0,
                "/".into(),
                Some(0),
                "/admin,".into()
            )
        );
        assert_eq!(h("0/admin").unwrap().2, "/admin");
        assert_eq!(
            h("51-/a,12[\"x\"]").unwrap(),
            (
                PacketType::Event,
                1,
                "/a".into(),
                Some(12),
                "[\"x\"]".into()
            )
        );
        assert_eq!(h("312[]").unwrap().3, Some(12));
        assert_eq!(h("5-[]"), Err(HeaderError::IllegalAttachments));
        assert_eq!(h("51[]"), Err(HeaderError::IllegalAttachments));
        assert_eq!(h("50-[]"), Err(HeaderError::IllegalAttachments));
        assert_eq!(h("7"), Err(HeaderError::UnknownType('7')));
        assert_eq!(h("299999999999999999999999[]"), Err(HeaderError::InvalidId));
    }
}
