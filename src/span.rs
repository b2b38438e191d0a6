//! Byte spans into the analysed text: the evidence behind every signal.

use serde::{Deserialize, Serialize};

/// A byte range `[start, end)` of the analysed text, with the text it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Span {
    /// The span `[start, end)` of `source`. Both ends must lie on character boundaries.
    pub fn new(source: &str, start: usize, end: usize) -> Span {
        Span {
            start,
            end,
            text: source.get(start..end).unwrap_or_default().to_string(),
        }
    }
}
