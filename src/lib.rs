//! earshot: a social listening stream processor.
//!
//! The crate is split the way the daemon runs:
//!
//! * a pure core — [`decode`] turns bytes into an [`interaction::Interaction`], [`analyze`] turns an
//!   interaction into an [`analyze::Analysis`], [`insight`] wraps both into the output event — with no
//!   I/O, no clocks, no globals and no async, so it is fast to test and to benchmark;
//! * an imperative [`shell`] around it: Kafka source and sink, JSONL files, metrics, HTTP, signals.

pub mod analyze;
pub mod catalog;
pub mod config;
pub mod decode;
pub mod emotion;
pub mod insight;
pub mod interaction;
pub mod mentions;
pub mod process;
pub mod sentiment;
pub mod sentiment_eval;
pub mod shell;
pub mod signals;
pub mod signals_eval;
pub mod span;
pub mod summary;
