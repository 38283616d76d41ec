//! [`Str`]: an immutable UTF-8 string backed by [`Bytes`].
//!
//! Frames arrive as `Bytes`; namespaces, event names and Engine.IO text
//! messages are slices of them. `Str` keeps those slices zero-copy and cheap
//! to clone (a reference count), which matters on the broadcast path where one
//! frame is shared by thousands of connections.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// An immutable, cheaply cloneable UTF-8 string backed by [`Bytes`].
///
/// ```
/// use sio_proto::Str;
/// let s = Str::from("hello world");
/// let hello = s.slice_ref(&s[..5]);
/// assert_eq!(hello, "hello");
/// assert_eq!(s.len(), 11);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str(Bytes);

/// The bytes given to [`Str::from_utf8`] are not valid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8 in text data")]
pub struct Utf8Error;

impl Str {
    /// An empty string.
    pub const fn new() -> Self {
        Str(Bytes::new())
    }

    /// A string from a `'static` literal, without allocating.
    ///
    /// ```
    /// const SLASH: sio_proto::Str = sio_proto::Str::from_static("/");
    /// assert_eq!(SLASH, "/");
    /// ```
    pub const fn from_static(s: &'static str) -> Self {
        Str(Bytes::from_static(s.as_bytes()))
    }

    /// Validates `bytes` as UTF-8 and wraps them without copying.
    ///
    /// ```
    /// use sio_proto::Str;
    /// assert!(Str::from_utf8(bytes::Bytes::from_static(b"ok")).is_ok());
    /// assert!(Str::from_utf8(bytes::Bytes::from_static(b"\xff")).is_err());
    /// ```
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Utf8Error> {
        std::str::from_utf8(&bytes).map_err(|_| Utf8Error)?;
        Ok(Str(bytes))
    }

    /// Wraps `bytes` without checking that they are UTF-8.
    ///
    /// # Safety
    /// `bytes` must be valid UTF-8 (for example the payload of a WebSocket
    /// text frame, which the WebSocket layer validated).
    pub unsafe fn from_utf8_unchecked(bytes: Bytes) -> Self {
        Str(bytes)
    }

    /// The string as `&str`.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor guarantees that the bytes are valid UTF-8
        // (validated, or derived from a `str`), and they are never mutated.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes (a cheap clone).
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Converts into the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A `Str` for `subset`, which must be a slice of `self` (zero-copy).
    ///
    /// # Panics
    /// If `subset` does not point into `self`.
    pub fn slice_ref(&self, subset: &str) -> Str {
        Str(self.0.slice_ref(subset.as_bytes()))
    }

    /// The substring at byte `range` (zero-copy).
    ///
    /// # Panics
    /// If the range is out of bounds or does not fall on char boundaries.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Str {
        // Indexing the str checks the char boundaries.
        let _ = &self.as_str()[range.clone()];
        Str(self.0.slice(range))
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Str {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Hash for Str {
    // Must agree with `str`'s Hash because of `Borrow<str>`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(Bytes::from(s.into_bytes()))
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Str> for String {
    fn from(s: Str) -> Self {
        s.as_str().to_owned()
    }
}

impl From<Str> for Bytes {
    fn from(s: Str) -> Self {
        s.0
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Str {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Str> for str {
    fn eq(&self, other: &Str) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Str> for &str {
    fn eq(&self, other: &Str) -> bool {
        *self == other.as_str()
    }
}

impl serde::Serialize for Str {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Str {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Str::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_share_the_buffer() {
        let s = Str::from(String::from("/admin,42[]"));
        let nsp = s.slice(0..6);
        assert_eq!(nsp, "/admin");
        assert_eq!(nsp.as_bytes().as_ptr(), s.as_bytes().as_ptr());
    }

    #[test]
    #[should_panic]
    fn slice_off_char_boundary_panics() {
        let s = Str::from("é");
        let _ = s.slice(0..1);
    }

    #[test]
    fn hash_agrees_with_str() {
        let mut set = std::collections::HashSet::new();
        set.insert(Str::from("room"));
        assert!(set.contains("room"));
    }
}
