//! [`scan`]: one pass over JSON text that checks it and finds the elements
//! of a top-level array, without building anything.
//!
//! Every event is read twice: the decoder checks that its data is JSON of
//! the right shape, and the handler's view splits the array into its name
//! and arguments. Through serde each read costs as much as the rest of an
//! echo; this scanner does both at a few instructions per byte. It accepts
//! exactly what the serde readers accept ([`from_str_lossy`](super::from_str_lossy)
//! into any type): the JSON grammar, whitespace as serde_json reads it,
//! numbers that fit an `f64`, strings without raw control characters and
//! with valid escapes (a lone UTF-16 surrogate escape included), and
//! nesting up to serde_json's limit. The tests hold it to serde_json.

/// What the top level of the text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Top {
    Array,
    Object,
    String,
    /// A number, `true`, `false` or `null`.
    Other,
}

/// Why text is not JSON the serde readers accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub(crate) struct ScanError {
    what: &'static str,
    at: usize,
}

/// The deepest nesting serde_json reads (its recursion limit is 128, and
/// reaching it is an error).
const MAX_DEPTH: usize = 127;

/// Checks `text` and calls `item` with each element of a top-level array
/// (a slice of `text`, without surrounding whitespace).
pub(crate) fn scan<'a>(text: &'a str, mut item: impl FnMut(&'a str)) -> Result<Top, ScanError> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
        depth: 0,
        what: "",
    };
    scan_top(&mut s, text, &mut item).map_err(|Fail| ScanError {
        what: s.what,
        at: s.i,
    })
}

fn scan_top<'a>(
    s: &mut Scanner<'_>,
    text: &'a str,
    item: &mut impl FnMut(&'a str),
) -> Result<Top, Fail> {
    s.ws();
    let top = match s.peek() {
        Some(b'[') => {
            s.i += 1;
            s.depth = 1;
            s.ws();
            if s.peek() == Some(b']') {
                s.i += 1;
            } else {
                loop {
                    s.ws();
                    let start = s.i;
                    s.value()?;
                    item(&text[start..s.i]);
                    s.ws();
                    match s.next() {
                        Some(b',') => {}
                        Some(b']') => break,
                        _ => return Err(s.fail("expected `,` or `]`")),
                    }
                }
            }
            Top::Array
        }
        Some(b'{') => {
            s.value()?;
            Top::Object
        }
        Some(b'"') => {
            s.value()?;
            Top::String
        }
        _ => {
            s.value()?;
            Top::Other
        }
    };
    s.ws();
    if s.i != s.b.len() {
        return Err(s.fail("trailing characters"));
    }
    Ok(top)
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    /// Why scanning stopped, at `i`.
    what: &'static str,
}

/// Scanning stopped: the reason is in the scanner (a small error keeps the
/// recursive calls cheap).
struct Fail;

impl Scanner<'_> {
    /// Notes why scanning stopped (and where: the current byte).
    fn fail(&mut self, what: &'static str) -> Fail {
        self.what = what;
        Fail
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<(), Fail> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'[') => self.nested(b']', false),
            Some(b'{') => self.nested(b'}', true),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.fail("expected value")),
            None => Err(self.fail("EOF while parsing a value")),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Fail> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.fail("expected value"))
        }
    }

    /// An array or an object (`keys`), from its opening bracket.
    fn nested(&mut self, close: u8, keys: bool) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail("recursion limit exceeded"));
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.ws();
            if keys {
                if self.peek() != Some(b'"') {
                    return Err(self.fail("key must be a string"));
                }
                self.string()?;
                self.ws();
                if self.next() != Some(b':') {
                    return Err(self.fail("expected `:`"));
                }
                self.ws();
            }
            self.value()?;
            self.ws();
            match self.next() {
                Some(b',') => {}
                Some(c) if c == close => break,
                _ => return Err(self.fail("expected `,` or a closing bracket")),
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// A string, from its opening quote.
    fn string(&mut self) -> Result<(), Fail> {
        self.i += 1;
        loop {
            self.skip_plain();
            match self.next() {
                Some(b'"') => return Ok(()),
                Some(b'\\') => match self.next() {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                    Some(b'u') => {
                        // Any four hex digits: lone surrogates are read as
                        // U+FFFD (see `from_str_lossy`).
                        let hex = self.b.get(self.i..self.i + 4);
                        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                            return Err(self.fail("invalid escape"));
                        }
                        self.i += 4;
                    }
                    _ => return Err(self.fail("invalid escape")),
                },
                Some(0..=0x1f) => return Err(self.fail("control character in a string")),
                Some(_) => {}
                None => return Err(self.fail("EOF while parsing a string")),
            }
        }
    }

    /// Skips the characters of a string that need no attention (all but
    /// `"`, `\\` and control characters), eight bytes at a time: a word
    /// has one of those where a byte compares equal (or below 0x20), which
    /// the borrow of a subtraction shows in the byte's high bit; the first
    /// such byte is exact (a false mark only ever follows a true one).
    fn skip_plain(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
        while let Some(Ok(word)) = self.b.get(self.i..self.i + 8).map(<[u8; 8]>::try_from) {
            let x = u64::from_le_bytes(word);
            let marks = (zero_byte(x ^ (ONES * u64::from(b'"')))
                | zero_byte(x ^ (ONES * u64::from(b'\\')))
                | (x.wrapping_sub(ONES * 0x20) & !x))
                & HIGH;
            if marks != 0 {
                self.i += (marks.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
        while let Some(&c) = self.b.get(self.i) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                return;
            }
            self.i += 1;
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), Fail> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let int = self.digits();
        if int == 0 {
            return Err(self.fail("invalid number"));
        }
        if int > 1 && self.b[int_start] == b'0' {
            return Err(self.fail("invalid number"));
        }
        let mut plain = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.fail("invalid number"));
            }
            plain = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.fail("invalid number"));
            }
            plain = false;
        }
        // A number must fit an f64 (serde_json's "number out of range");
        // integers up to 300 digits always do.
        if !plain || int > 300 {
            let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("x");
            if !text.parse::<f64>().is_ok_and(f64::is_finite) {
                self.i = start;
                return Err(self.fail("number out of range"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the serde readers say about `text`.
    fn serde_accepts(text: &str) -> bool {
        super::super::from_str_lossy::<crate::Value>(text).is_ok()
    }

    fn agree(text: &str) {
        let ours = scan(text, |_| {}).is_ok();
        assert_eq!(ours, serde_accepts(text), "{text:?}");
    }

    #[test]
    fn accepts_what_serde_accepts() {
        for text in [
            "[]",
            " [ ] ",
            "[1,2]",
            r#"["a",{"b":[true,false,null]},-0.5e-3,1E+2]"#,
            r#"{"a":1}"#,
            r#""s""#,
            "0",
            "-0",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "1e+",
            "+1",
            "1e400",
            "-1e400",
            "1e-400",
            "0e99999999999999999999",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "18446744073709551616",
            "[1,]",
            "[,1]",
            "{\"a\"}",
            "{\"a\":}",
            "{1:2}",
            "{\"a\":1,}",
            "[\"\\u00e9\\ud800\\udc00\\ud800\"]",
            "[\"\\u12\"]",
            "[\"\\x\"]",
            "[\"a\u{1}\"]",
            "[\"a\u{7f}é\"]",
            "[\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"]",
            "[tru]",
            "[nul]",
            "[true1]",
            "[1 2]",
            "[1]x",
            "[1] \n\t\r",
            "\u{c}[1]",
            "",
            " ",
            "[",
            "[\"a",
            "{\"a\":1",
        ] {
            agree(text);
        }
        let big = format!("[{}]", "9".repeat(400));
        agree(&big);
        // Every position of a special byte in and around a word.
        for len in 0..20 {
            for special in ["\"", "\\n", "\u{1}", "\u{1f}", " ", "é", "\u{7f}"] {
                for at in 0..=len {
                    let mut body = "a".repeat(len);
                    body.insert_str(at, special);
                    agree(&format!("[\"{body}\"]"));
                    agree(&format!("[\"{body}\",1]"));
                }
            }
        }
    }

    #[test]
    fn nesting_limit_as_serde() {
        for depth in [1, 100, 126, 127, 128, 129, 200] {
            for (open, close) in [("[", "]"), ("{\"k\":", "}")] {
                let text = format!("[{}1{}]", open.repeat(depth - 1), close.repeat(depth - 1));
                agree(&text);
            }
        }
    }

    #[test]
    fn mutated_text_agrees_with_serde() {
        // Deterministic mutations of valid text: every variant is judged
        // the same way by both readers.
        let seeds = [
            r#"["ev",{"a":[1,-2.5e3,"x\n\u00e9"],"b":null},true,"s"]"#,
            r#"{"k":[{"_placeholder":true,"num":0}],"n":-0.0}"#,
        ];
        let alphabet = b"[]{}\",:.-+eE0123456789 \\utrfaln\x01";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for seed in seeds {
            for _ in 0..3000 {
                let mut b = seed.as_bytes().to_vec();
                for _ in 0..1 + rand(3) {
                    let at = rand(b.len());
                    match rand(3) {
                        0 => b[at] = alphabet[rand(alphabet.len())],
                        1 => b.insert(at, alphabet[rand(alphabet.len())]),
                        _ => {
                            b.remove(at);
                        }
                    }
                    if b.is_empty() {
                        break;
                    }
                }
                if let Ok(text) = std::str::from_utf8(&b) {
                    agree(text);
                }
            }
        }
    }

    #[test]
    fn items_are_the_elements() {
        let mut items = Vec::new();
        let top = scan(r#" [ "a" , {"b": [1, 2]},3 ] "#, |i| items.push(i)).unwrap();
        assert_eq!(top, Top::Array);
        assert_eq!(items, [r#""a""#, r#"{"b": [1, 2]}"#, "3"]);
        assert_eq!(scan(r#"{"a":[1]}"#, |_| panic!()).unwrap(), Top::Object);
        assert_eq!(scan(r#""x""#, |_| panic!()).unwrap(), Top::String);
        assert_eq!(scan("null", |_| panic!()).unwrap(), Top::Other);
    }
}
