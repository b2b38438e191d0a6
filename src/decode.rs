//! Turning raw message bytes into an [`Interaction`], or into the reason it can't be one.
//!
//! Every failure maps to a [`Reason`] with a stable machine-readable name (used in dead letters and in
//! the `reason` label of `earshot_dead_letters_total`) and a human message that points at the problem.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::interaction::{Interaction, Kind, SocialPost, SupportTicket};

/// Which contract to expect on an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindHint {
    /// Decide per message: a `kind` field if present, else `platform` means a post and `customer` a ticket.
    Auto,
    SocialPost,
    SupportTicket,
}

/// Why a message became a dead letter. The set is closed, so the metric label stays bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The record has a value of zero bytes (or only whitespace).
    Empty,
    /// The record has no value at all (a tombstone).
    NullValue,
    /// The value is larger than the configured limit.
    TooLarge,
    /// The value is not valid UTF-8.
    NotUtf8,
    /// The value is not well-formed JSON, or not a JSON object.
    InvalidJson,
    /// Well-formed JSON that breaks the contract: a missing field, a wrong type, a bad value.
    SchemaViolation,
    /// JSON whose contract can't be told (no `kind`, no `platform`, no `customer`), or an unknown `kind`.
    UnknownKind,
    /// Read and analysed, but its insight event is larger than the producer may send (its
    /// `message.max.bytes`): a text close to the input limit, plus the analysis.
    InsightTooLarge,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::Empty,
        Reason::NullValue,
        Reason::TooLarge,
        Reason::NotUtf8,
        Reason::InvalidJson,
        Reason::SchemaViolation,
        Reason::UnknownKind,
        Reason::InsightTooLarge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Empty => "empty",
            Reason::NullValue => "null_value",
            Reason::TooLarge => "too_large",
            Reason::NotUtf8 => "not_utf8",
            Reason::InvalidJson => "invalid_json",
            Reason::SchemaViolation => "schema_violation",
            Reason::UnknownKind => "unknown_kind",
            Reason::InsightTooLarge => "insight_too_large",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message that could not be decoded: why, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct DecodeError {
    pub reason: Reason,
    pub message: String,
}

impl DecodeError {
    fn new(reason: Reason, message: impl Into<String>) -> Self {
        DecodeError {
            reason,
            message: message.into(),
        }
    }
}

/// Limits applied before parsing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1024 * 1024,
        }
    }
}

/// Decodes one message value. `None` is a record without a value (a tombstone).
pub fn decode(
    value: Option<&[u8]>,
    hint: KindHint,
    limits: Limits,
) -> Result<Interaction, DecodeError> {
    let bytes = value.ok_or_else(|| {
        DecodeError::new(
            Reason::NullValue,
            "record has no value (tombstone); expected a JSON object",
        )
    })?;
    if bytes.len() > limits.max_bytes {
        return Err(DecodeError::new(
            Reason::TooLarge,
            format!(
                "value is {} bytes, over the limit of {} bytes (pipeline.max_message_bytes)",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        DecodeError::new(
            Reason::NotUtf8,
            format!(
                "value is not valid UTF-8: invalid byte sequence at byte {}",
                e.valid_up_to()
            ),
        )
    })?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(DecodeError::new(
            Reason::Empty,
            "value is empty; expected a JSON object",
        ));
    }
    if !trimmed.starts_with('{') {
        // Serde would read a struct from an array too; a message is an object, nothing else.
        return Err(DecodeError::new(
            Reason::InvalidJson,
            "expected a JSON object starting with '{'",
        ));
    }
    let kind = match hint {
        KindHint::SocialPost => Kind::SocialPost,
        KindHint::SupportTicket => Kind::SupportTicket,
        KindHint::Auto => {
            if let Some(interaction) = parse_obvious(text) {
                return Ok(interaction);
            }
            detect(text)?
        }
    };
    parse_as(text, kind)
}

fn parse_as(text: &str, kind: Kind) -> Result<Interaction, DecodeError> {
    match kind {
        Kind::SocialPost => parse::<SocialPost>(text, kind).map(Interaction::from),
        Kind::SupportTicket => parse::<SupportTicket>(text, kind).map(Interaction::from),
    }
}

/// The common case of [`KindHint::Auto`] in one parse instead of two: a message that can only be
/// one contract, parsed as that. `None` sends it down the full path ([`detect`], then the parse),
/// which then gives the same result, or the same error, as it always would.
///
/// Exact, not a guess: without `\u` escapes a key named `kind`, `platform` or `customer` must
/// appear literally, quotes and all. A message with no `"kind"` and no `"customer"` anywhere is a
/// post if it has a top-level `platform` and an unknown kind otherwise; a post's `platform` is
/// required, so a successful parse as a post proves it is there. Likewise for tickets.
fn parse_obvious(text: &str) -> Option<Interaction> {
    if text.contains("\\u") || text.contains("\"kind\"") {
        return None;
    }
    let platform = text.contains("\"platform\"");
    let customer = text.contains("\"customer\"");
    match (platform, customer) {
        (true, false) => serde_json::from_str::<SocialPost>(text)
            .ok()
            .map(Interaction::from),
        (false, true) => serde_json::from_str::<SupportTicket>(text)
            .ok()
            .map(Interaction::from),
        _ => None,
    }
}

/// Just enough of a message to tell its contract; every other field is skipped unparsed.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(default, borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    platform: Option<IgnoredAny>,
    #[serde(default)]
    customer: Option<IgnoredAny>,
}

fn detect(text: &str) -> Result<Kind, DecodeError> {
    let probe: Probe = serde_json::from_str(text).map_err(|e| json_error(e, None))?;
    match probe.kind.as_deref() {
        Some("social_post") => Ok(Kind::SocialPost),
        Some("support_ticket") => Ok(Kind::SupportTicket),
        Some(other) => Err(DecodeError::new(
            Reason::UnknownKind,
            format!("unknown kind {other:?}; expected \"social_post\" or \"support_ticket\""),
        )),
        None => match (probe.platform.is_some(), probe.customer.is_some()) {
            (true, false) => Ok(Kind::SocialPost),
            (false, true) => Ok(Kind::SupportTicket),
            _ => Err(DecodeError::new(
                Reason::UnknownKind,
                "can't tell the contract: set \"kind\", or give \"platform\" (social_post) or \"customer\" (support_ticket)",
            )),
        },
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, kind: Kind) -> Result<T, DecodeError> {
    // The fast path parses plainly; only a failure is parsed again, tracking the path to the field
    // that broke, for the human message.
    serde_json::from_str(text).map_err(|e| {
        let mut de = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(pe) => {
                let path = pe.path().to_string();
                json_error(pe.into_inner(), Some((kind, path)))
            }
            // Trailing characters after a valid object.
            Ok(_) => json_error(e, None),
        }
    })
}

fn json_error(e: serde_json::Error, at: Option<(Kind, String)>) -> DecodeError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            let message = match at {
                Some((kind, path)) if path != "." => format!("{}: at {path}: {e}", kind.as_str()),
                Some((kind, _)) => format!("{}: {e}", kind.as_str()),
                None => format!("expected a JSON object: {e}"),
            };
            DecodeError::new(Reason::SchemaViolation, message)
        }
        Category::Syntax | Category::Eof | Category::Io => {
            DecodeError::new(Reason::InvalidJson, format!("malformed JSON: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: &str = r#"{"platform":"twitter","id":"1","author":{"id":"a1","handle":"jo"},
        "text":"hello","created_at":"2026-01-02T03:04:05Z","extra":{"ignored":true}}"#;
    const TICKET: &str = r#"{"id":"T1","customer":{"id":"c1","segment":"business"},"channel":"chat",
        "subject":"Help","body":"It broke","messages":[{"from":"agent","text":"Sorry","at":"2026-01-02T03:04:05Z"},
        {"from":"customer","text":"Still broken","at":"2026-01-02T03:05:05Z"}],"created_at":"2026-01-02T03:04:05Z"}"#;

    fn reason(v: Option<&[u8]>) -> Reason {
        decode(v, KindHint::Auto, Limits::default())
            .unwrap_err()
            .reason
    }

    /// The single-parse path gives exactly what detecting, then parsing, gives.
    #[test]
    fn the_one_parse_path_agrees_with_detect_then_parse() {
        let slow = |text: &str| detect(text).and_then(|k| parse_as(text, k));
        let sample = include_str!("../samples/stream.jsonl");
        let mut cases: Vec<String> = sample.lines().map(str::to_string).collect();
        cases.extend([
            POST.to_string(),
            TICKET.to_string(),
            // An explicit kind wins over the fields.
            POST.replacen('{', r#"{"kind":"support_ticket","#, 1),
            TICKET.replacen('{', r#"{"kind":"social_post","#, 1),
            // The key written with an escape is still the key.
            POST.replacen('{', r#"{"\u006bind":"support_ticket","#, 1),
            // Both, neither, or only nested.
            POST.replacen('{', r#"{"customer":{"id":"c"},"#, 1),
            r#"{"id":"x","text":"hi"}"#.to_string(),
            r#"{"id":"x","text":"my \"platform\" is down","meta":{"platform":"x"}}"#.to_string(),
            r#"{"id":"x","meta":{"customer":{"id":"c"}}}"#.to_string(),
            POST.replace(r#""platform":"twitter""#, r#""platform":null"#),
            POST.replace(r#""platform":"twitter""#, r#""platform":7"#),
            TICKET.replace(r#""channel":"chat""#, r#""channel":"fax""#),
        ]);
        // (What is not an object never reaches either path.)
        cases.retain(|c| c.trim_start().starts_with('{'));
        let mut fast = 0;
        for c in &cases {
            assert_eq!(
                decode(Some(c.as_bytes()), KindHint::Auto, Limits::default()),
                slow(c),
                "{c}"
            );
            fast += usize::from(parse_obvious(c).is_some());
        }
        // Most of the sample takes the one-parse path.
        assert!(fast * 10 > cases.len() * 8, "{fast} of {}", cases.len());
    }

    #[test]
    fn decodes_both_contracts_and_tolerates_unknown_fields() {
        let p = decode(Some(POST.as_bytes()), KindHint::Auto, Limits::default()).unwrap();
        assert_eq!(p.kind, Kind::SocialPost);
        assert_eq!(p.party.handle.as_deref(), Some("jo"));
        let t = decode(Some(TICKET.as_bytes()), KindHint::Auto, Limits::default()).unwrap();
        assert_eq!(t.kind, Kind::SupportTicket);
        assert_eq!(t.channel, "chat");
        // Agent words are not the customer's voice.
        assert_eq!(t.text, "Help\n\nIt broke\n\nStill broken");
    }

    #[test]
    fn the_character_references_sources_write_are_decoded() {
        let post = POST.replace(
            r#""text":"hello""#,
            r#""text":"Sam &amp; Cat &lt;3 AT&T, don’t “quote”""#,
        );
        let p = decode(Some(post.as_bytes()), KindHint::Auto, Limits::default()).unwrap();
        assert_eq!(p.text, "Sam & Cat <3 AT&T, don't “quote”");
        // Each part of a ticket, and a part that is only a space once decoded is left out.
        let ticket = TICKET
            .replace(r#""subject":"Help""#, r#""subject":"&nbsp;&#x200B;""#)
            .replace("It broke", "I&#39;m &gt;:[ and it won’t");
        let t = decode(Some(ticket.as_bytes()), KindHint::Auto, Limits::default()).unwrap();
        assert_eq!(t.text, "I'm >:[ and it won't\n\nStill broken");
    }

    #[test]
    fn every_bad_input_has_its_reason() {
        assert_eq!(reason(None), Reason::NullValue);
        assert_eq!(reason(Some(b"")), Reason::Empty);
        assert_eq!(reason(Some(b"  \n")), Reason::Empty);
        assert_eq!(reason(Some(b"{\"platform\": ")), Reason::InvalidJson);
        assert_eq!(reason(Some(b"[1,2]")), Reason::InvalidJson);
        assert_eq!(reason(Some(b"\"text\"")), Reason::InvalidJson);
        assert_eq!(reason(Some(b"{\"a\":1}")), Reason::UnknownKind);
        assert_eq!(reason(Some(b"{\"kind\":\"tweet\"}")), Reason::UnknownKind);
        assert_eq!(reason(Some(&[b'{', 0xff, b'}'])), Reason::NotUtf8);
        let missing = POST.replace("\"text\":\"hello\",", "");
        assert_eq!(reason(Some(missing.as_bytes())), Reason::SchemaViolation);
        let e = decode(
            Some(POST.replace("\"jo\"", "42").as_bytes()),
            KindHint::Auto,
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.reason, Reason::SchemaViolation);
        assert!(e.message.contains("author.handle"), "{}", e.message);
        let bad_date = POST.replace("2026-01-02T03:04:05Z", "yesterday");
        assert_eq!(reason(Some(bad_date.as_bytes())), Reason::SchemaViolation);
        let trailing = format!("{POST} x");
        assert_eq!(reason(Some(trailing.as_bytes())), Reason::InvalidJson);
    }

    #[test]
    fn size_limit_applies_before_parsing() {
        let e = decode(
            Some(POST.as_bytes()),
            KindHint::Auto,
            Limits { max_bytes: 10 },
        )
        .unwrap_err();
        assert_eq!(e.reason, Reason::TooLarge);
    }

    #[test]
    fn a_hint_skips_detection_and_enforces_its_contract() {
        let e = decode(
            Some(TICKET.as_bytes()),
            KindHint::SocialPost,
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.reason, Reason::SchemaViolation);
    }
}
