//! earshot: a social listening stream processor.
//!
//! The crate is split the way the daemon runs (see `docs/architecture.md`):
//!
//! * a pure core — [`decode`] turns bytes into an [`interaction::Interaction`]; [`analyze`] runs the
//!   [`analysers`] (mentions, sentiment, emotion, signals) over it into an [`analyze::Analysis`];
//!   [`privacy`] pseudonymises who said it and can redact personal data first;
//!   [`insight`] wraps both into the output event; [`process`] is those steps for one message —
//!   with no I/O, no clocks, no globals and no async, so it is fast to test and to benchmark;
//! * an imperative [`shell`] around it: Kafka source and sink, JSONL files, metrics, HTTP, signals.
//!
//! [`types`] holds what every stage shares (spans, mentions, the sentiment label) and imports no
//! other module, so no two modules import each other.

pub mod allocator;
pub mod analysers;
pub mod analyze;
pub mod bootstrap;
pub mod catalog;
pub mod config;
pub mod decode;
pub mod insight;
pub mod interaction;
pub mod lcg;
pub mod market;
pub mod memory;
pub mod normalize;
pub mod privacy;
pub mod process;
pub mod report;
pub mod shell;
pub mod summary;
pub mod types;

// The analysers under their short names, as the commands, benches and tests call them.
pub use analysers::{emotion, language, mentions, polarity, sentiment, signals};
