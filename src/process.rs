//! The per-message path shared by every runner: decode, analyse, build the insight.

use chrono::{DateTime, Utc};

use crate::analyze::Analyzer;
use crate::decode::{decode, DecodeError, KindHint, Limits};
use crate::insight::{Insight, SourceRef};

/// Turns one message value into its insight, or the reason it is a dead letter. The analyser's
/// privacy settings apply before the analysis: spans point into the redacted text.
pub fn process(
    value: Option<&[u8]>,
    hint: KindHint,
    limits: Limits,
    analyzer: &Analyzer,
    at: SourceRef,
    now: DateTime<Utc>,
) -> Result<Insight, DecodeError> {
    let mut interaction = decode(value, hint, limits)?;
    analyzer.privacy().protect(&mut interaction);
    let analysis = analyzer.analyze(&interaction);
    Ok(Insight::new(at, interaction, analysis, now))
}
