//! Session ids in the reference's format: 15 bytes (12 random, the low 24
//! bits of a process-wide counter) in URL-safe base64: 20 characters.

use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use sio_proto::Str;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh id: unguessable (96 random bits) and unique in this process.
pub(crate) fn generate() -> Str {
    let mut raw = [0u8; 15];
    rand::fill(&mut raw[..12]);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    raw[12..].copy_from_slice(&n.to_be_bytes()[1..]);
    Str::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

#[cfg(test)]
mod tests {
    #[test]
    fn twenty_url_safe_chars_and_unique() {
        let a = super::generate();
        let b = super::generate();
        assert_eq!(a.len(), 20);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }
}
