//! The mention engine: boolean brand and product queries (`docs/queries.md`), compiled together and
//! matched on every message.

pub mod eval;
pub mod matcher;
pub mod query;
pub mod synthetic;
pub mod tokenize;

pub use matcher::{CompileErrors, Matcher, QueryError};
