//! [`RawJson`]: a JSON fragment kept as text.

use serde::ser::SerializeStruct;
use serde::Serialize;

use super::JsonError;
use crate::value::Value;
use crate::Str;

/// The struct name by which serializers recognise a [`RawJson`].
pub(crate) const RAW_TOKEN: &str = "$sio_proto::RawJson";

/// A valid JSON fragment kept as text (a slice of the frame it came in).
///
/// Serialized by sio's JSON writer, it is written back verbatim: relaying or
/// echoing arguments costs no parsing and changes no byte. Other serializers
/// (msgpack, [`to_value`](crate::to_value)) see the parsed value.
///
/// ```
/// use sio_proto::json::RawJson;
/// let raw = RawJson::from_text(r#"{"b":1, "a":[2.50]}"#).unwrap();
/// let (mut out, mut att) = (Vec::new(), Vec::new());
/// sio_proto::json::to_writer(&mut out, &("x", &raw), &mut att).unwrap();
/// assert_eq!(out, br#"["x",{"b":1, "a":[2.50]}]"#);
/// assert_eq!(sio_proto::to_value(&raw).unwrap()["a"][0].as_f64(), Some(2.5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawJson(Str);

impl RawJson {
    /// Validates `text` as one JSON value.
    pub fn from_text(text: impl Into<Str>) -> Result<RawJson, JsonError> {
        let text = text.into();
        serde_json::from_str::<serde::de::IgnoredAny>(&text)
            .map_err(|e| JsonError::Syntax(e.to_string()))?;
        Ok(RawJson(text))
    }

    /// Wraps text already known to be one valid JSON value.
    pub(crate) fn new_unchecked(text: Str) -> RawJson {
        RawJson(text)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parsed value (lone surrogate escapes become U+FFFD).
    pub fn to_value(&self) -> Result<Value, JsonError> {
        super::from_str_lossy(&self.0).map_err(|e| JsonError::Syntax(e.to_string()))
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct(RAW_TOKEN, 1)?;
        s.serialize_field(RAW_TOKEN, self.as_str())?;
        s.end()
    }
}
