//! Byte spans into the analysed text: the evidence behind every signal.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// A byte range `[start, end)` of the analysed text, with the text it covers. The text is a
/// [`CompactString`]: evidence is mostly single words, which it holds inline (up to 24 bytes)
/// without an allocation of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub text: CompactString,
}

impl Span {
    /// The span `[start, end)` of `source`. Both ends must lie on character boundaries.
    pub fn new(source: &str, start: usize, end: usize) -> Span {
        Span {
            start,
            end,
            text: CompactString::new(source.get(start..end).unwrap_or_default()),
        }
    }
}
