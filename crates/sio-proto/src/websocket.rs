//! WebSocket framing (RFC 6455, section 5), sans-IO: frame headers read and
//! written, payload masking. No extensions (Engine.IO servers run without
//! permessage-deflate by default), so the RSV bits must be zero.
//!
//! The transports own the bytes; this module only says where a frame starts
//! and ends, so a server can parse frames straight out of whatever buffer
//! it read into, without one of its own per connection.
//!
//! ```
//! use sio_proto::websocket::{apply_mask, write_head, FrameHead, Opcode};
//!
//! // A masked client frame carrying "hi".
//! let mut frame = [0u8; 16];
//! let n = write_head(&mut frame, true, Opcode::Text, 2, Some([1, 2, 3, 4]));
//! frame[n..n + 2].copy_from_slice(b"hi");
//! apply_mask(&mut frame[n..n + 2], [1, 2, 3, 4], 0);
//!
//! let head = FrameHead::parse(&frame[..n + 2]).unwrap().unwrap();
//! assert_eq!((head.opcode, head.fin, head.len), (Opcode::Text, true, 2));
//! let mut payload = frame[head.header_len..head.header_len + 2].to_vec();
//! apply_mask(&mut payload, head.mask.unwrap(), 0);
//! assert_eq!(payload, b"hi");
//! ```

/// The largest frame header: 2 bytes, 8 of extended length, 4 of mask.
pub const MAX_HEAD: usize = 14;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// The next fragment of a message.
    Continuation,
    /// A UTF-8 text message (or its first fragment).
    Text,
    /// A binary message (or its first fragment).
    Binary,
    /// The closing handshake.
    Close,
    /// A ping: answer with a pong carrying the same data.
    Ping,
    /// A pong.
    Pong,
}

impl Opcode {
    fn from_bits(b: u8) -> Option<Opcode> {
        Some(match b {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Whether this is a control frame (close, ping, pong).
    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A frame the peer had no right to send; the connection must close with
/// [`FrameError::close_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// An RSV bit is set but no extension was negotiated.
    #[error("reserved bits set")]
    ReservedBits,
    /// An opcode RFC 6455 does not define.
    #[error("unknown opcode {0:#x}")]
    UnknownOpcode(u8),
    /// A control frame longer than 125 bytes, or fragmented.
    #[error("invalid control frame")]
    BadControl,
    /// A 64-bit length with the top bit set.
    #[error("invalid frame length")]
    BadLength,
}

impl FrameError {
    /// The close code to send: 1002 (protocol error).
    pub fn close_code(self) -> u16 {
        1002
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    /// The last fragment of its message.
    pub fin: bool,
    /// What the frame carries.
    pub opcode: Opcode,
    /// The masking key (every client frame has one, no server frame has).
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub len: u64,
    /// The header length: the payload starts here.
    pub header_len: usize,
}

impl FrameHead {
    /// Parses the header at the start of `buf`: `Ok(None)` when `buf` does
    /// not hold all of it yet.
    pub fn parse(buf: &[u8]) -> Result<Option<FrameHead>, FrameError> {
        let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(FrameError::ReservedBits);
        }
        let fin = b0 & 0x80 != 0;
        let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(FrameError::UnknownOpcode(b0 & 0x0F))?;
        let masked = b1 & 0x80 != 0;
        let (len, mut at) = match b1 & 0x7F {
            126 => match buf.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(b) => (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10),
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        if len >> 63 != 0 {
            return Err(FrameError::BadLength);
        }
        if opcode.is_control() && (len > 125 || !fin) {
            return Err(FrameError::BadControl);
        }
        let mask = if masked {
            let Some(m) = buf.get(at..at + 4) else {
                return Ok(None);
            };
            at += 4;
            Some([m[0], m[1], m[2], m[3]])
        } else {
            None
        };
        Ok(Some(FrameHead {
            fin,
            opcode,
            mask,
            len,
            header_len: at,
        }))
    }
}

/// Writes a frame header into `out` (at least [`MAX_HEAD`] bytes) and
/// returns its length. Servers send no mask; clients must.
pub fn write_head(
    out: &mut [u8],
    fin: bool,
    opcode: Opcode,
    len: u64,
    mask: Option<[u8; 4]>,
) -> usize {
    out[0] = (u8::from(fin) << 7) | opcode.bits();
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut at = match len {
        0..=125 => {
            out[1] = mask_bit | len as u8;
            2
        }
        126..=0xFFFF => {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&len.to_be_bytes());
            10
        }
    };
    if let Some(m) = mask {
        out[at..at + 4].copy_from_slice(&m);
        at += 4;
    }
    at
}

/// XORs `data` with the masking key, `offset` bytes into the payload (so a
/// payload can be unmasked in pieces). Masking twice restores the data.
pub fn apply_mask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut key = [0u8; 8];
    for (i, k) in key.iter_mut().enumerate() {
        *k = mask[(offset + i) % 4];
    }
    let wide = u64::from_ne_bytes(key);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let v = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes")) ^ wide;
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_at_every_length_class() {
        for len in [0u64, 1, 125, 126, 65_535, 65_536, 1 << 40] {
            for mask in [None, Some([9, 8, 7, 6])] {
                for opcode in [Opcode::Text, Opcode::Binary, Opcode::Continuation] {
                    let mut buf = [0u8; MAX_HEAD];
                    let n = write_head(&mut buf, len % 2 == 0, opcode, len, mask);
                    let head = FrameHead::parse(&buf[..n]).unwrap().unwrap();
                    assert_eq!(head.len, len);
                    assert_eq!(head.mask, mask);
                    assert_eq!(head.opcode, opcode);
                    assert_eq!(head.fin, len % 2 == 0);
                    assert_eq!(head.header_len, n);
                    // Every shorter prefix is incomplete, not an error.
                    for cut in 0..n {
                        assert_eq!(FrameHead::parse(&buf[..cut]), Ok(None));
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_what_the_rfc_forbids() {
        assert_eq!(
            FrameHead::parse(&[0xC1, 0x80]),
            Err(FrameError::ReservedBits)
        );
        assert_eq!(
            FrameHead::parse(&[0x83, 0x80]),
            Err(FrameError::UnknownOpcode(3))
        );
        assert_eq!(
            FrameHead::parse(&[0x89, 0xFE, 0, 126]),
            Err(FrameError::BadControl)
        );
        assert_eq!(FrameHead::parse(&[0x09, 0x80]), Err(FrameError::BadControl));
        let mut huge = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(FrameHead::parse(&huge), Err(FrameError::BadLength));
        huge[2] = 0;
        assert!(FrameHead::parse(&huge).unwrap().is_none(), "mask missing");
        assert_eq!(FrameError::BadControl.close_code(), 1002);
    }

    #[test]
    fn masking_in_pieces_equals_masking_at_once() {
        let data: Vec<u8> = (0..100u8).collect();
        let mask = [0xA1, 0xB2, 0xC3, 0xD4];
        let mut whole = data.clone();
        apply_mask(&mut whole, mask, 0);
        for (i, b) in whole.iter().enumerate() {
            assert_eq!(*b, data[i] ^ mask[i % 4]);
        }
        let mut pieces = data.clone();
        let (a, b) = pieces.split_at_mut(13);
        apply_mask(a, mask, 0);
        apply_mask(b, mask, 13);
        assert_eq!(pieces, whole);
        apply_mask(&mut pieces, mask, 0);
        assert_eq!(pieces, data);
    }
}
