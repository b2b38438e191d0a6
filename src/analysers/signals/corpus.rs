//! The earshot corpus (`data/earshot/corpus/`, annotation guide in its `GUIDE.md`): labelled posts
//! and tickets about 44 invented brands, one JSON object a line. Each row becomes a real input
//! message of its contract ([`Row::input`]), so that training and evaluation read it through the
//! same decode and analysis as the daemon; its labels come in the families of
//! [`super::eval::labels_of`].
//!
//! Splits are fixed: the batches `t01`, `t02` and `t03` are the frozen test splits; of the other batches, a row whose id
//! hashes to 0 modulo 5 is dev (thresholds are tuned there), the rest is train.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::decode::{decode, DecodeError, KindHint, Limits};
use crate::interaction::Interaction;
use crate::types::Label;

/// One labelled row of the corpus.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Row {
    pub id: String,
    pub kind: String,
    pub platform: String,
    pub text: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub messages: Vec<Message>,
    /// The brand a ticket was sent to.
    #[serde(default)]
    pub to_brand: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    /// The brand account a post addresses.
    #[serde(default)]
    pub addressed: Option<String>,
    /// The handle (without `@`) of the account whose post this post replies to, given beside
    /// the text (a post's `in_reply_to_handle`).
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    pub sentiment: String,
    pub context: Vec<String>,
    /// A `life_event`'s moment: `hard` or `happy`. The training batches label it on every life
    /// event; the frozen test splits predate it and carry none.
    #[serde(default)]
    pub moment: Option<String>,
    pub effort: Option<i8>,
    pub intents: Vec<String>,
    pub phase: Option<String>,
    pub sarcasm: u8,
    pub mentions: Vec<MentionLabels>,
}

/// A ticket's follow-up message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Message {
    pub from: String,
    pub text: String,
}

/// What a row says of one brand it is about.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MentionLabels {
    pub brand: String,
    #[serde(default)]
    pub product: Option<String>,
    pub sentiment: String,
    pub intents: Vec<String>,
    pub phase: Option<String>,
}

impl MentionLabels {
    /// The brand's sentiment label (neutral for a word the guide does not define).
    pub fn sentiment_label(&self) -> Label {
        Label::parse(&self.sentiment).unwrap_or(Label::Neutral)
    }
}

/// Which part of the corpus a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    /// Thresholds are tuned here.
    Dev,
    /// The frozen test splits (`t01`, `t02`, `t03`: ids starting with `t`): never tuned on.
    Test,
}

impl Split {
    pub fn parse(s: &str) -> Option<Split> {
        match s {
            "train" => Some(Split::Train),
            "dev" => Some(Split::Dev),
            "test" => Some(Split::Test),
            _ => None,
        }
    }
}

/// A row that can't be read, with its line.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

/// Parses corpus JSON lines; blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Row>, RowError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| RowError {
                line: n + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// FNV-1a of the id: a split that does not move when rows are added or reordered.
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Row {
    pub fn split(&self) -> Split {
        Self::split_of_id(&self.id)
    }

    /// The split of a row with id `id`.
    pub fn split_of_id(id: &str) -> Split {
        if id.starts_with('t') {
            Split::Test
        } else if id_hash(id).is_multiple_of(5) {
            Split::Dev
        } else {
            Split::Train
        }
    }

    /// Whether the row says what moment a life event is: the training batches do, on every life
    /// event (`scripts/corpus_check.py` checks it); the frozen test splits predate the label.
    pub fn rates_moment(&self) -> bool {
        self.split() != Split::Test
    }

    pub fn is_ticket(&self) -> bool {
        self.kind == "ticket"
    }

    /// The row as the input message a source would send: a `social_post` or a `support_ticket`
    /// (agent replies included: decoding leaves them out of the customer's words, as it does for
    /// every ticket).
    pub fn input(&self) -> Value {
        let at = "2026-11-01T09:00:00Z";
        if self.is_ticket() {
            let channel = match self.platform.as_str() {
                "phone_transcript" => "phone",
                other => other,
            };
            let messages: Vec<Value> = self
                .messages
                .iter()
                .map(|m| json!({"from": m.from, "text": m.text, "at": at}))
                .collect();
            let mut t = json!({"id": self.id, "customer": {"id": format!("c-{}", self.id)},
                "channel": channel, "body": self.text, "messages": messages, "created_at": at});
            if let Some(s) = &self.subject {
                t["subject"] = json!(s);
            }
            if let Some(p) = &self.product {
                t["product"] = json!(p);
            }
            if let Some(b) = &self.to_brand {
                t["brand"] = json!(b);
            }
            t
        } else {
            let mut p = json!({"platform": self.platform, "id": self.id,
                "author": {"id": format!("a-{}", self.id), "handle": format!("user_{}", self.id)},
                "text": self.text, "created_at": at});
            if let Some(l) = &self.language {
                p["language"] = json!(l);
            }
            if let Some(h) = &self.reply_to {
                p["in_reply_to_handle"] = json!(h);
            }
            p
        }
    }

    /// The row as the analyser reads it: its [`Row::input`] decoded through the daemon's contract
    /// (a ticket's subject, body and customer messages).
    pub fn interaction(&self) -> Result<Interaction, DecodeError> {
        let bytes = self.input().to_string();
        decode(Some(bytes.as_bytes()), KindHint::Auto, Limits::default())
    }

    /// The message's sentiment label (neutral for a word the guide does not define).
    pub fn sentiment_label(&self) -> Label {
        Label::parse(&self.sentiment).unwrap_or(Label::Neutral)
    }

    /// The row's message-level labels, in the families of [`super::eval::labels_of`]:
    /// `context:…`, `moment:hard|happy`, `effort:hard|easy`, `intent:…`, `phase:…`, `sarcasm`.
    pub fn labels(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        out.extend(self.context.iter().map(|c| format!("context:{c}")));
        out.extend(self.moment.iter().map(|m| format!("moment:{m}")));
        match self.effort {
            Some(e) if e < 0 => {
                out.insert("effort:hard".to_string());
            }
            Some(e) if e > 0 => {
                out.insert("effort:easy".to_string());
            }
            _ => {}
        }
        out.extend(self.intents.iter().map(|i| format!("intent:{i}")));
        if let Some(p) = &self.phase {
            out.insert(format!("phase:{p}"));
        }
        if self.sarcasm == 1 {
            out.insert("sarcasm".to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: &str = r#"{"id":"b01-0007","kind":"post","platform":"twitter","text":"Corvid again. Done, moving to Larkspur","sentiment":"negative","context":[],"effort":-3,"intents":["churn_risk","switching","prospect"],"phase":"churn","sarcasm":0,"mentions":[{"brand":"corvid","product":null,"sentiment":"negative","intents":["churn_risk","switching"],"phase":"churn"}]}"#;
    const TICKET: &str = r#"{"id":"t01-0002","kind":"ticket","platform":"phone_transcript","subject":"bill","text":"Charged twice.","messages":[{"from":"agent","text":"Refunded."},{"from":"customer","text":"Thanks!"}],"to_brand":"fernbank","product":"fernbank-app","sentiment":"negative","context":["money"],"effort":null,"intents":["support_request"],"phase":"support","sarcasm":1,"mentions":[]}"#;

    #[test]
    fn rows_become_input_messages_and_labels() {
        let rows = parse(&format!("{POST}\n\n{TICKET}\n")).unwrap();
        assert_eq!(rows.len(), 2);
        let post = rows[0].input();
        assert_eq!(post["platform"], "twitter");
        assert_eq!(post["text"], rows[0].text);
        let labels = rows[0].labels();
        for l in [
            "effort:hard",
            "intent:churn_risk",
            "intent:prospect",
            "phase:churn",
        ] {
            assert!(labels.contains(l), "{l}: {labels:?}");
        }
        let ticket = rows[1].input();
        assert_eq!(ticket["channel"], "phone");
        assert_eq!(ticket["messages"][0]["from"], "agent");
        assert_eq!(ticket["product"], "fernbank-app");
        assert!(rows[1].labels().contains("sarcasm"));
        assert!(rows[1].labels().contains("context:money"));
        assert_eq!(rows[1].split(), Split::Test);
        assert!(parse("{\"id\": 3}")
            .unwrap_err()
            .to_string()
            .starts_with("line 1"));
    }

    #[test]
    fn the_split_is_fixed_by_the_id() {
        let row = |id: &str| Row {
            id: id.into(),
            ..parse(POST).unwrap().remove(0)
        };
        let dev = (1..=1000)
            .filter(|n| row(&format!("b02-{n:04}")).split() == Split::Dev)
            .count();
        assert!((150..250).contains(&dev), "about a fifth is dev: {dev}");
        assert_eq!(row("b02-0001").split(), row("b02-0001").split());
    }
}
