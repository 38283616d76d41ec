//! A hasher for maps keyed by ids this server generated (socket and
//! session ids): they are random already, so a keyed SipHash (what the
//! standard `HashMap` pays per lookup, once per recipient of a broadcast)
//! buys nothing. Keys chosen by a peer are only ever looked up, never
//! inserted, so they cannot crowd a bucket.

use std::hash::{BuildHasherDefault, Hasher};

/// Mixes 8 bytes at a time (the multiply-rotate of rustc's FxHasher).
#[derive(Default, Clone, Copy)]
pub(crate) struct SidHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl SidHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for SidHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The `BuildHasher` of [`SidHasher`].
pub(crate) type SidHash = BuildHasherDefault<SidHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_map_of_ids_works_and_spreads() {
        let mut m: HashMap<String, usize, SidHash> = HashMap::default();
        for i in 0..1000 {
            m.insert(format!("id-{i:016}"), i);
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m["id-0000000000000999"], 999);
        assert!(!m.contains_key("id-x"));
        let mut a = SidHasher::default();
        a.write(b"abcdefghij");
        let mut b = SidHasher::default();
        b.write(b"abcdefghik");
        assert_ne!(a.finish(), b.finish());
    }
}
