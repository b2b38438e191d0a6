//! Privacy by default: who a message is from travels as a pseudonymous key, and personal data in
//! the text can be redacted before anything reads it.
//!
//! * **Pseudonymous keys.** `party.id` (a ticket's customer id, a post's `platform:author id`)
//!   becomes `c_` and 24 hex digits of a keyed BLAKE3 hash: the same person gets the same key in
//!   every event and every run with the same secret, and nobody without the secret can turn a key
//!   back into an id (an unkeyed hash of an e-mail address could be reversed by hashing a list of
//!   addresses). The customer's name and e-mail address are dropped; a social handle stays (it is
//!   public, and a team needs it to answer).
//! * **Redaction** (`privacy.redact_text`): e-mail addresses, phone numbers and payment card numbers
//!   (13 to 19 digits that pass the Luhn check) in the text become `[email]`, `[phone]` and
//!   `[card]` before the analysis, so every span of the insight points into the redacted text.
//!
//! The secret comes from the environment (`EARSHOT_PRIVACY_KEY`), never from a file; this module
//! takes it as bytes and does no I/O.

use std::borrow::Cow;
use std::sync::Arc;

use regex::Regex;

use crate::interaction::Interaction;

/// How messages are protected before they are analysed.
#[derive(Clone, Default)]
pub struct Privacy {
    /// The hashing key, when ids are pseudonymised.
    key: Option<[u8; 32]>,
    /// The compiled patterns, when text is redacted.
    redactor: Option<Arc<Redactor>>,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Privacy")
            .field("pseudonymise", &self.key.is_some())
            .field("redact_text", &self.redactor.is_some())
            .finish()
    }
}

/// The shortest secret accepted.
pub const MIN_SECRET_BYTES: usize = 16;

/// A secret that is too short to key the hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the privacy secret must be at least {MIN_SECRET_BYTES} bytes (it has {0})")]
pub struct WeakSecret(pub usize);

impl Privacy {
    /// Nothing changed: ids and text as the source gave them (evaluations, and deployments that
    /// opt out).
    pub fn off() -> Privacy {
        Privacy::default()
    }

    /// Pseudonymises ids with a key derived from `secret`, and redacts text when `redact_text`.
    pub fn pseudonymising(secret: &[u8], redact_text: bool) -> Result<Privacy, WeakSecret> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(WeakSecret(secret.len()));
        }
        Ok(Privacy {
            key: Some(blake3::derive_key(
                "earshot 2026 party pseudonym v1",
                secret,
            )),
            ..Privacy::redacting(redact_text)
        })
    }

    /// Redacts text (when `redact_text`) without pseudonymising ids.
    pub fn redacting(redact_text: bool) -> Privacy {
        Privacy {
            key: None,
            redactor: redact_text.then(|| Arc::new(Redactor::new())),
        }
    }

    pub fn pseudonymises(&self) -> bool {
        self.key.is_some()
    }

    pub fn redacts_text(&self) -> bool {
        self.redactor.is_some()
    }

    /// The pseudonymous key of an id (the id itself when ids are kept).
    pub fn key_of(&self, id: &str) -> String {
        match &self.key {
            Some(k) => {
                let h = blake3::keyed_hash(k, id.as_bytes());
                let hex = h.to_hex();
                format!("c_{}", &hex.as_str()[..24])
            }
            None => id.to_string(),
        }
    }

    /// Protects one interaction in place, before it is analysed.
    pub fn protect(&self, i: &mut Interaction) {
        if self.key.is_some() {
            i.party.id = self.key_of(&i.party.id);
            i.party.name = None;
            i.party.email = None;
        }
        if let Some(r) = &self.redactor {
            if let Cow::Owned(t) = r.redact(&i.text) {
                i.text = t;
            }
        }
    }
}

fn digits(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// Whether the digits of `s` pass the Luhn check (payment card numbers do).
fn luhn(s: &str) -> bool {
    let mut sum = 0;
    for (k, d) in s.bytes().rev().filter(u8::is_ascii_digit).enumerate() {
        let mut d = u32::from(d - b'0');
        if k % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// The redaction patterns, compiled once.
pub struct Redactor {
    patterns: [(Regex, &'static str); 3],
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    pub fn new() -> Redactor {
        // Constant patterns: a test compiles them, so this cannot fail at run time.
        let re = |p: &str| Regex::new(p).expect("the redaction patterns compile");
        Redactor {
            patterns: [
                (
                    re(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
                    "[email]",
                ),
                // 13 to 19 digits, in groups separated by single spaces or hyphens.
                (re(r"\b\d(?:[ \-]?\d){12,18}\b"), "[card]"),
                // A leading + or (, then 9 to 15 digits with the separators phone numbers use (8 would
                // take dates: 2026-11-20).
                (
                    re(r"(?:\+|\()?\b\d{1,4}\)?(?:[ .\-]?\(?\d{1,4}\)?){2,6}\b"),
                    "[phone]",
                ),
            ],
        }
    }

    /// The text with e-mail addresses, payment card numbers and phone numbers replaced.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        // Most messages hold neither an @ nor a long run of digits: no regex runs for them.
        if !text.contains('@') && text.bytes().filter(u8::is_ascii_digit).count() < 8 {
            return Cow::Borrowed(text);
        }
        let mut out = Cow::Borrowed(text);
        for (re, tag) in &self.patterns {
            let replaced = re.replace_all(&out, |c: &regex::Captures<'_>| {
                let m = &c[0];
                let keep = match *tag {
                    "[card]" => !luhn(m),
                    "[phone]" => !(9..=15).contains(&digits(m)),
                    _ => false,
                };
                if keep {
                    m.to_string()
                } else {
                    (*tag).to_string()
                }
            });
            if let Cow::Owned(s) = replaced {
                out = Cow::Owned(s);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_keyed_and_hide_the_id() {
        let a = Privacy::pseudonymising(b"a secret of enough bytes", false).unwrap();
        let b = Privacy::pseudonymising(b"another secret, as long", false).unwrap();
        let k = a.key_of("john.mercer@example.com");
        assert_eq!(k, a.key_of("john.mercer@example.com"));
        assert_ne!(k, a.key_of("john.mercer@example.org"));
        assert_ne!(k, b.key_of("john.mercer@example.com"));
        assert!(
            k.starts_with("c_") && k.len() == 26 && !k.contains("john"),
            "{k}"
        );
        assert_eq!(Privacy::off().key_of("x"), "x");
        assert_eq!(
            Privacy::pseudonymising(b"short", false).unwrap_err(),
            WeakSecret(5)
        );
        assert!(!format!("{a:?}").contains("secret"));
    }

    #[test]
    fn personal_data_in_text_is_redacted_and_the_rest_kept() {
        let r = Redactor::new();
        for (text, want) in [
            (
                "Mail me at john.mercer@example.com or call +44 20 7946 0958",
                "Mail me at [email] or call [phone]",
            ),
            (
                "card 4111 1111 1111 1111 was charged twice",
                "card [card] was charged twice",
            ),
            (
                "call me on 07700 900123 please",
                "call me on [phone] please",
            ),
            ("(555) 123-4567 after 6pm", "[phone] after 6pm"),
        ] {
            assert_eq!(r.redact(text), want, "{text}");
        }
        for keep in [
            "Down since 2026-11-20, ticket 12345, 3 times in 24 hours",
            "@larkspurhelp router model AX3000 still broken",
            "order 1234 5678 9012 3456 not arrived",
        ] {
            assert_eq!(r.redact(keep), keep);
        }
    }
}
