//! The dynamic [`Value`]: the JSON data model plus binary.
//!
//! Socket.IO arguments are JSON values in which any node may also be a byte
//! buffer (sent as a binary attachment with the JSON parser, as `bin` with
//! msgpack). `Value` is that model. Objects keep insertion order, as
//! JavaScript objects do for string keys, so that decoding and re-encoding a
//! payload gives back the same bytes.
//!
//! Typed data goes through serde: [`to_value`] turns any `Serialize` into a
//! `Value` (`bytes::Bytes` and `serde_bytes` fields become [`Value::Bytes`]),
//! [`from_value`] turns a `Value` into any `Deserialize` type.

mod de;
pub(crate) mod number;
mod ser;

use bytes::Bytes;

pub use de::from_value;
pub use de::DeserializeError;
pub use number::Number;
pub(crate) use ser::map_key;
pub use ser::{to_value, SerializeError, ValueSerializer};

/// An object: string keys in insertion order. Serializable, so a `Map`
/// can be an argument itself.
///
/// ```
/// use sio_proto::{Frame, Map, Parser, Value};
/// let mut obj = Map::new();
/// obj.insert("3".into(), Value::from("4"));
/// obj.insert("5".into(), Value::from(bytes::Bytes::from_static(&[6])));
/// let encoded = Parser::Json.encode_event("/", "hello", &(1, "2", &obj), None).unwrap();
/// assert_eq!(
///     encoded.head,
///     Frame::from(r#"51-["hello",1,"2",{"3":"4","5":{"_placeholder":true,"num":0}}]"#)
/// );
/// ```
pub type Map = indexmap::IndexMap<String, Value>;

/// A dynamically typed Socket.IO value: JSON plus binary.
///
/// ```
/// use sio_proto::{Value, Number};
/// let v = Value::from(vec![Value::from(1), Value::from("two"), Value::from(bytes::Bytes::from_static(&[3]))]);
/// assert_eq!(v[0], Value::Number(Number::from(1)));
/// assert_eq!(v[1].as_str(), Some("two"));
/// assert_eq!(v[2].as_bytes().map(|b| b.as_ref()), Some(&[3u8][..]));
/// assert!(v.has_binary());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null` (also what `undefined` and `None` become).
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number: integer or float.
    Number(Number),
    /// A UTF-8 string.
    String(String),
    /// A byte buffer (a binary attachment on the wire).
    Bytes(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object with string keys, in insertion order.
    Object(Map),
}

static NULL: Value = Value::Null;

impl Value {
    /// `true` for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The number as `u64`, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The number as `f64` (integers converted).
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::as_f64)
    }

    /// The bytes, if this is a byte buffer.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, mutably, if this is an array.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is an object.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The entries, mutably, if this is an object.
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The member `key` of an object (`None` for other values or a missing key).
    ///
    /// ```
    /// let v: sio_proto::Value = serde_json::from_str(r#"{"a":{"b":2}}"#).unwrap();
    /// assert_eq!(v.get("a").and_then(|a| a.get("b")).and_then(|b| b.as_u64()), Some(2));
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(key))
    }

    /// Whether any node of this value is a byte buffer.
    pub fn has_binary(&self) -> bool {
        match self {
            Value::Bytes(_) => true,
            Value::Array(a) => a.iter().any(Value::has_binary),
            Value::Object(m) => m.values().any(Value::has_binary),
            _ => false,
        }
    }

    /// A short name of this value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Bytes(_) => "binary",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

impl std::ops::Index<usize> for Value {
    type Output = Value;
    /// The element at `index` of an array, or `Null` (like a missing JS index).
    fn index(&self, index: usize) -> &Value {
        self.as_array().and_then(|a| a.get(index)).unwrap_or(&NULL)
    }
}

impl std::ops::Index<&str> for Value {
    type Output = Value;
    /// The member `key` of an object, or `Null`.
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

macro_rules! from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                Value::Number(Number::from(n))
            }
        }
    )*};
}
from_number!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, f32, f64);

impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Self {
        Value::Bytes(b)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}

impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Value::Array(iter.into_iter().collect())
    }
}

impl std::fmt::Display for Value {
    /// JSON text, with byte buffers shown as `<Buffer 01 02>` like Node.js.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bytes(b) => {
                f.write_str("<Buffer")?;
                for byte in b.iter() {
                    write!(f, " {byte:02x}")?;
                }
                f.write_str(">")
            }
            Value::Array(a) => {
                f.write_str("[")?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Object(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    let mut key = Vec::new();
                    crate::json::write_str(&mut key, k);
                    write!(f, "{}:{v}", String::from_utf8_lossy(&key))?;
                }
                f.write_str("}")
            }
            scalar => {
                let mut out = Vec::new();
                crate::json::write_value(&mut out, scalar, &mut Vec::new());
                f.write_str(&String::from_utf8_lossy(&out))
            }
        }
    }
}
