//! [`Frame`]: one unit of data as a transport carries it.

use bytes::Bytes;

use crate::Str;

/// One text or binary unit: a WebSocket frame, the data of an Engine.IO
/// message, or one part of an encoded Socket.IO packet.
///
/// ```
/// use sio_proto::Frame;
/// let f = Frame::from("hello");
/// assert!(f.is_text());
/// assert_eq!(f.len(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// UTF-8 text.
    Text(Str),
    /// Raw bytes.
    Binary(Bytes),
}

impl Frame {
    /// Whether this is a text frame.
    pub fn is_text(&self) -> bool {
        matches!(self, Frame::Text(_))
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(s) => s.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw bytes of either kind.
    pub fn as_bytes(&self) -> &Bytes {
        match self {
            Frame::Text(s) => s.as_bytes(),
            Frame::Binary(b) => b,
        }
    }
}

impl From<Str> for Frame {
    fn from(s: Str) -> Self {
        Frame::Text(s)
    }
}

impl From<&str> for Frame {
    fn from(s: &str) -> Self {
        Frame::Text(Str::from(s))
    }
}

impl From<String> for Frame {
    fn from(s: String) -> Self {
        Frame::Text(Str::from(s))
    }
}

impl From<Bytes> for Frame {
    fn from(b: Bytes) -> Self {
        Frame::Binary(b)
    }
}
