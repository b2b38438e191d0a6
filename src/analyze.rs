//! The analysis engine: a pure function of an interaction. No I/O, no clocks, no globals, no async.

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::interaction::Interaction;
use crate::mentions::{CompileErrors, Matcher};
use crate::sentiment::{Scores, SentimentScorer};
use crate::span::Span;

/// A brand or product found in the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    pub brand: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    pub competitor: bool,
    #[serde(flatten)]
    pub span: Span,
}

/// Everything the analyzers found in one interaction. Sections whose analyzer does not exist yet
/// stay empty (`[]`) or absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Analysis {
    /// Version of the catalog the mentions were matched against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<String>,
    pub mentions: Vec<Mention>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Scores>,
}

/// The analyzer: built once from a catalog, then called for every interaction.
#[derive(Debug)]
pub struct Analyzer {
    catalog: Catalog,
    matcher: Matcher,
    sentiment: SentimentScorer,
}

impl Analyzer {
    /// Compiles the catalog's queries; every query error is reported at once.
    pub fn new(catalog: Catalog) -> Result<Analyzer, CompileErrors> {
        Ok(Analyzer {
            matcher: Matcher::compile(&catalog)?,
            catalog,
            sentiment: SentimentScorer::new(),
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Analyses one interaction.
    pub fn analyze(&self, interaction: &Interaction) -> Analysis {
        Analysis {
            catalog_version: Some(self.catalog.version.clone()),
            mentions: self.matcher.find(interaction),
            sentiment: Some(self.sentiment.score(&interaction.text)),
        }
    }
}
