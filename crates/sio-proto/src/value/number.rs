//! [`Number`]: an integer or a float, as JSON and msgpack carry them.

use std::fmt;

/// A number: a non-negative integer, a negative integer, or a float.
///
/// Integers keep their full 64-bit precision (JavaScript would round them
/// beyond 2^53; Rust peers need not). Equality is numeric: `1` equals `1.0`.
///
/// ```
/// use sio_proto::Number;
/// assert_eq!(Number::from(-3).as_i64(), Some(-3));
/// assert_eq!(Number::from(2.5).as_f64(), 2.5);
/// assert_eq!(Number::from(1), Number::from(1.0));
/// assert!(Number::from(1.5).is_f64());
/// ```
#[derive(Clone, Copy)]
pub struct Number(pub(crate) N);

#[derive(Clone, Copy, Debug)]
pub(crate) enum N {
    PosInt(u64),
    /// Always negative.
    NegInt(i64),
    Float(f64),
}

impl Number {
    /// The number as `u64`, if it is a non-negative integer (an integral
    /// float within range counts).
    pub fn as_u64(&self) -> Option<u64> {
        match self.0 {
            N::PosInt(u) => Some(u),
            N::NegInt(_) => None,
            N::Float(f) => {
                (f.fract() == 0.0 && (0.0..18446744073709551616.0).contains(&f)).then_some(f as u64)
            }
        }
    }

    /// The number as `i64`, if it is an integer that fits (an integral float
    /// within range counts).
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            N::PosInt(u) => i64::try_from(u).ok(),
            N::NegInt(i) => Some(i),
            N::Float(f) => (f.fract() == 0.0
                && (-9223372036854775808.0..9223372036854775808.0).contains(&f))
            .then_some(f as i64),
        }
    }

    /// The number as `f64` (large integers are rounded).
    pub fn as_f64(&self) -> f64 {
        match self.0 {
            N::PosInt(u) => u as f64,
            N::NegInt(i) => i as f64,
            N::Float(f) => f,
        }
    }

    /// Whether the number is stored as a float.
    pub fn is_f64(&self) -> bool {
        matches!(self.0, N::Float(_))
    }

    /// A float, or `None` for NaN and infinities (JSON cannot carry them).
    pub fn from_f64(f: f64) -> Option<Number> {
        f.is_finite().then_some(Number(N::Float(f)))
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (self.0, other.0) {
            (N::PosInt(a), N::PosInt(b)) => a == b,
            (N::NegInt(a), N::NegInt(b)) => a == b,
            (N::PosInt(_), N::NegInt(_)) | (N::NegInt(_), N::PosInt(_)) => false,
            _ => self.as_f64() == other.as_f64(),
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            N::PosInt(u) => write!(f, "{u}"),
            N::NegInt(i) => write!(f, "{i}"),
            N::Float(x) => write!(f, "{x:?}"),
        }
    }
}

impl fmt::Display for Number {
    /// Formats as JavaScript's `Number.prototype.toString` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            N::PosInt(u) => write!(f, "{u}"),
            N::NegInt(i) => write!(f, "{i}"),
            N::Float(x) => f.write_str(ryu_js::Buffer::new().format(x)),
        }
    }
}

macro_rules! from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(u: $t) -> Self {
                Number(N::PosInt(u as u64))
            }
        }
    )*};
}
from_unsigned!(u8, u16, u32, u64, usize);

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(i: $t) -> Self {
                if i < 0 {
                    Number(N::NegInt(i as i64))
                } else {
                    Number(N::PosInt(i as u64))
                }
            }
        }
    )*};
}
from_signed!(i8, i16, i32, i64, isize);

impl From<f64> for Number {
    /// NaN and infinities are kept, but are encoded as `null` in JSON, as
    /// `JSON.stringify` does.
    fn from(f: f64) -> Self {
        Number(N::Float(f))
    }
}

impl From<f32> for Number {
    fn from(f: f32) -> Self {
        Number(N::Float(f as f64))
    }
}

impl serde::Serialize for Number {
    /// Integral floats within the 64-bit integer range are written as
    /// integers: JavaScript has one number type, and its msgpack encoder
    /// (notepack) writes integral numbers as integers. JSON text is the same
    /// either way (`2`, never `2.0`) up to 2^53; beyond, JavaScript prints the
    /// shortest digits padded with zeros (`2**60` is `1152921504606847000`),
    /// so text formats (human-readable serializers) get the float there.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let exact = |f: f64| !s.is_human_readable() || f.abs() <= 9007199254740992.0;
        match self.0 {
            N::PosInt(u) => s.serialize_u64(u),
            N::NegInt(i) => s.serialize_i64(i),
            N::Float(f)
                if f.fract() == 0.0 && (0.0..18446744073709551616.0).contains(&f) && exact(f) =>
            {
                s.serialize_u64(f as u64)
            }
            N::Float(f)
                if f.fract() == 0.0 && (-9223372036854775808.0..0.0).contains(&f) && exact(f) =>
            {
                s.serialize_i64(f as i64)
            }
            N::Float(f) => s.serialize_f64(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn via_serde(v: &Value) -> String {
        let mut out = Vec::new();
        crate::json::to_writer(&mut out, v, &mut Vec::new()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn large_integral_floats_print_as_javascript() {
        // Found by the property tests: the serde writer printed the exact
        // integer (`-37936854993972224`), `write_value` and JavaScript the
        // shortest digits (`-37936854993972220`).
        for (f, js) in [
            (-3.793685499397222e16, "-37936854993972220"),
            (1152921504606846976.0, "1152921504606847000"),
            (1.844674407370955e19, "18446744073709550000"),
            (9007199254740992.0, "9007199254740992"),
            (-9007199254740992.0, "-9007199254740992"),
            (1e20, "100000000000000000000"),
            (5.0, "5"),
            (-0.0, "0"),
        ] {
            let v = Value::Number(Number::from(f));
            let mut direct = Vec::new();
            crate::json::write_value(&mut direct, &v, &mut Vec::new());
            assert_eq!(via_serde(&v), js);
            assert_eq!(String::from_utf8(direct).unwrap(), js);
        }
    }

    #[test]
    fn msgpack_still_writes_integral_floats_as_integers() {
        // notepack writes 2**60 as uint64 and -(2**63) as int64.
        let mut out = Vec::new();
        let v = Value::from(vec![
            Value::from(1152921504606846976.0),
            Value::from(-9223372036854775808.0),
        ]);
        serde::Serialize::serialize(&v, &mut rmp_serde::Serializer::new(&mut out)).unwrap();
        assert_eq!(out[1], 0xcf);
        assert_eq!(&out[2..10], &(1u64 << 60).to_be_bytes());
        assert_eq!(out[10], 0xd3);
        assert_eq!(&out[11..19], &i64::MIN.to_be_bytes());
    }
}
