//! JSON as Socket.IO's default parser writes and reads it.
//!
//! Writing: a `serde::Serializer` that produces exactly what JavaScript's
//! `JSON.stringify` produces for the same data (number formatting, string
//! escapes, key order), and that replaces every byte buffer by a placeholder
//! `{"_placeholder":true,"num":N}` while collecting the buffers as
//! attachments, in one pass and without building a tree.
//!
//! Reading: JSON text plus attachments back into a [`Value`] with the
//! placeholders replaced (see [`parse_value`]); typed reads of text without
//! attachments go straight through serde_json.

mod binary;
mod raw;
mod scan;
mod ser;

use bytes::Bytes;

use crate::value::{Number, Value};

pub use binary::BinaryJson;
pub(crate) use binary::{placeholders_canonical, BinaryFragment, RAW_BINARY_TOKEN};
pub use raw::RawJson;
pub(crate) use raw::RAW_TOKEN;
pub(crate) use scan::{scan, ScanError, Top};
pub use ser::JsonSerializer;

/// Why JSON could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The data could not be serialized (for example a map key that is not a
    /// string or number), or a custom serializer error.
    #[error("cannot serialize: {0}")]
    Serialize(String),
    /// The text is not valid JSON.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// A placeholder refers to an attachment that does not exist.
    #[error("illegal attachments: placeholder {0} out of range")]
    IllegalAttachment(String),
}

impl serde::ser::Error for JsonError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        JsonError::Serialize(msg.to_string())
    }
}

/// Serializes `value` as JSON into `out`, moving byte buffers to `attachments`.
///
/// ```
/// let mut out = Vec::new();
/// let mut attachments = Vec::new();
/// let data = ("hi", bytes::Bytes::from_static(&[1, 2]), 1.0f64, 1e21f64);
/// sio_proto::json::to_writer(&mut out, &data, &mut attachments).unwrap();
/// assert_eq!(out, br#"["hi",{"_placeholder":true,"num":0},1,1e+21]"#);
/// assert_eq!(attachments, vec![bytes::Bytes::from_static(&[1, 2])]);
/// ```
pub fn to_writer<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    attachments: &mut Vec<Bytes>,
) -> Result<(), JsonError> {
    value.serialize(&mut JsonSerializer::new(out, attachments))
}

/// Writes a [`Value`] as JSON (like [`to_writer`], but byte buffers are
/// shared into `attachments` instead of copied).
///
/// ```
/// let v = sio_proto::Value::from(vec!["a".into(), bytes::Bytes::from_static(b"x").into()]);
/// let (mut out, mut att) = (Vec::new(), Vec::new());
/// sio_proto::json::write_value(&mut out, &v, &mut att);
/// assert_eq!(out, br#"["a",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(att.len(), 1);
/// ```
pub fn write_value(out: &mut Vec<u8>, value: &Value, attachments: &mut Vec<Bytes>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => {
            write_placeholder(out, attachments.len());
            attachments.push(b.clone());
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, v, attachments);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            out.push(b'{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, v, attachments);
            }
            out.push(b'}');
        }
    }
}

/// Writes the placeholder that stands for attachment `num`.
pub(crate) fn write_placeholder(out: &mut Vec<u8>, num: usize) {
    out.extend_from_slice(b"{\"_placeholder\":true,\"num\":");
    out.extend_from_slice(itoa::Buffer::new().format(num).as_bytes());
    out.push(b'}');
}

/// Writes a number as `JSON.stringify` does (integral floats without `.0`,
/// exponents as `1e+21`, NaN and infinities as `null`).
pub(crate) fn write_number(out: &mut Vec<u8>, n: &Number) {
    use crate::value::number::N;
    match n.0 {
        N::PosInt(u) => out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes()),
        N::NegInt(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        N::Float(f) => write_f64(out, f),
    }
}

pub(crate) fn write_f64(out: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Writes a JSON string literal with `JSON.stringify`'s escapes: `"`, `\`,
/// and control characters (`\b \f \n \r \t`, others as `\u00xx`); everything
/// else, non-ASCII included, as is.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Parses JSON text into a [`Value`], replacing each placeholder
/// `{"_placeholder":true,"num":N}` by `attachments[N]`.
///
/// ```
/// use bytes::Bytes;
/// let v = sio_proto::json::parse_value(br#"[1,{"_placeholder":true,"num":0}]"#, &[Bytes::from_static(b"x")]).unwrap();
/// assert_eq!(v[1].as_bytes().unwrap().as_ref(), b"x");
/// assert!(sio_proto::json::parse_value(br#"[{"_placeholder":true,"num":1}]"#, &[Bytes::new()]).is_err());
/// ```
pub fn parse_value(text: &[u8], attachments: &[Bytes]) -> Result<Value, JsonError> {
    let mut value: Value =
        serde_json::from_slice(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
    if attachments.is_empty() {
        // Without attachments, any placeholder is out of range: the reference
        // only looks for them in binary packets, so leave the object as is.
        return Ok(value);
    }
    restore_placeholders(&mut value, attachments)?;
    Ok(value)
}

/// Parses JSON text as serde_json does, except that lone UTF-16 surrogate
/// escapes (`"\ud800"`, valid for JavaScript's `JSON.parse`, which any JS
/// peer may send) become U+FFFD instead of failing: a Rust string cannot
/// hold them. Text without them takes the plain path.
///
/// ```
/// let v: Vec<String> = sio_proto::json::from_str_lossy(r#"["a\ud800b","\ud83d\ude00"]"#).unwrap();
/// assert_eq!(v, ["a\u{fffd}b", "😀"]);
/// ```
pub fn from_str_lossy<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    match serde_json::from_str(text) {
        Err(e) if text.contains("\\u") => match replace_lone_surrogates(text) {
            Some(fixed) => serde_json::from_str(&fixed),
            None => Err(e),
        },
        other => other,
    }
}

/// `text` with every lone surrogate escape inside strings replaced by
/// `\ufffd`; `None` if there was none.
pub(crate) fn replace_lone_surrogates(text: &str) -> Option<String> {
    fn hex4(b: &[u8]) -> Option<u16> {
        let s = std::str::from_utf8(b.get(..4)?).ok()?;
        u16::from_str_radix(s, 16).ok()
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut in_string = false;
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if b.get(i + 1) == Some(&b'u') {
                    if let Some(cp) = hex4(&b[i + 2..]) {
                        let is_high = (0xD800..0xDC00).contains(&cp);
                        let is_low = (0xDC00..0xE000).contains(&cp);
                        let paired = is_high
                            && b.get(i + 6) == Some(&b'\\')
                            && b.get(i + 7) == Some(&b'u')
                            && hex4(&b[(i + 8).min(b.len())..])
                                .is_some_and(|lo| (0xDC00..0xE000).contains(&lo));
                        if paired {
                            i += 12;
                            continue;
                        }
                        if is_high || is_low {
                            out.push_str(&text[last..i]);
                            out.push_str("\\ufffd");
                            changed = true;
                            i += 6;
                            last = i;
                            continue;
                        }
                    }
                }
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&text[last..]);
    changed.then_some(out)
}

/// Replaces placeholders in `value` by their attachments, in place.
pub fn restore_placeholders(value: &mut Value, attachments: &[Bytes]) -> Result<(), JsonError> {
    match value {
        Value::Array(a) => a
            .iter_mut()
            .try_for_each(|v| restore_placeholders(v, attachments)),
        Value::Object(m) => {
            if m.get("_placeholder") == Some(&Value::Bool(true)) {
                let num = m.get("num");
                let index = num
                    .and_then(Value::as_u64)
                    .filter(|&n| (n as usize) < attachments.len());
                match index {
                    Some(n) => {
                        *value = Value::Bytes(attachments[n as usize].clone());
                        Ok(())
                    }
                    None => Err(JsonError::IllegalAttachment(
                        num.map_or_else(|| "without num".to_owned(), |n| n.to_string()),
                    )),
                }
            } else {
                m.values_mut()
                    .try_for_each(|v| restore_placeholders(v, attachments))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: serde::Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        to_writer(&mut out, v, &mut Vec::new()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_like_javascript() {
        assert_eq!(json(&1.0f64), "1");
        assert_eq!(json(&-0.0f64), "0");
        assert_eq!(json(&0.1f64), "0.1");
        assert_eq!(json(&1e21f64), "1e+21");
        assert_eq!(json(&1e-7f64), "1e-7");
        assert_eq!(json(&123456789012.5f64), "123456789012.5");
        assert_eq!(json(&f64::NAN), "null");
        assert_eq!(json(&f64::INFINITY), "null");
        assert_eq!(json(&u64::MAX), "18446744073709551615");
        assert_eq!(json(&i64::MIN), "-9223372036854775808");
        assert_eq!(json(&1.1f32), "1.1");
    }

    #[test]
    fn strings_like_javascript() {
        assert_eq!(
            json(&"a\"b\\c\n\u{1}\u{1f}\u{7f}é✓\u{2028}"),
            "\"a\\\"b\\\\c\\n\\u0001\\u001f\u{7f}é✓\u{2028}\""
        );
        assert_eq!(json(&"\u{8}\u{c}\r\t"), r#""\b\f\r\t""#);
    }

    #[test]
    fn floats_read_back_exactly() {
        // Shortest representations that serde_json's default (best-effort)
        // float parser reads one ULP off; found by the property tests.
        for f in [
            -2.2908142580239714e-77f64,
            -3.5189232799456303e264,
            7.4545536611318815e112,
            5.679066828647097e-126,
            -1.2688899212980775e-25,
        ] {
            let text = json(&f);
            let back = parse_value(text.as_bytes(), &[]).unwrap();
            assert_eq!(back.as_f64().unwrap().to_bits(), f.to_bits(), "{text}");
            let typed: f64 = crate::packet::Payload::Json(format!("[{text}]").into())
                .args::<(f64,)>(crate::PacketType::Ack)
                .unwrap()
                .0;
            assert_eq!(typed.to_bits(), f.to_bits(), "{text}");
        }
    }

    #[test]
    fn writer_and_value_writer_agree() {
        let v: Value =
            serde_json::from_str(r#"{"a":[1,-2,2.5,"x",null,true,{}],"b":{"c":[]}}"#).unwrap();
        let mut direct = Vec::new();
        write_value(&mut direct, &v, &mut Vec::new());
        assert_eq!(json(&v).as_bytes(), direct.as_slice());
        assert_eq!(direct, br#"{"a":[1,-2,2.5,"x",null,true,{}],"b":{"c":[]}}"#);
    }
}
