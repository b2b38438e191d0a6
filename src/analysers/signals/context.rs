//! Emotional context: the life behind a message (work, family, health, money, time pressure,
//! travel, a life event), from the context cues.

use super::cues::{CueKind, Hits};
use super::{push, Signal};

/// One signal per context label found, with every cue of it as evidence.
pub(super) fn context(hits: &Hits) -> Vec<Signal> {
    let mut context: Vec<Signal> = Vec::new();
    for h in hits.of(CueKind::Context) {
        push(&mut context, h.cue.label, h.span.clone());
    }
    context
}
