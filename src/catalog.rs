//! The catalog of brands and products to listen for (TOML), as analysts write it.

use serde::{Deserialize, Serialize};

/// The sample catalog (`config/catalog.toml`: Larkspur, a fictional connectivity company, and its
/// competitors), built into the binary: what `earshot file` and `earshot run` match against when no
/// catalog is configured, so that an installed binary works from any directory.
pub const SAMPLE: &str = include_str!("../config/catalog.toml");

/// Product line a product belongs to, e.g. `business` or `home`. Free text: companies name their own.
pub type Line = String;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Brand {
    pub id: String,
    pub name: String,
    /// `true` for a competitor's brand (share of voice), `false` for an own brand.
    #[serde(default)]
    pub competitor: bool,
    pub query: String,
    #[serde(default, rename = "product")]
    pub products: Vec<Product>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub line: Option<Line>,
    pub query: String,
    /// Jobs the product does for a customer, as words or short phrases ("backup", "call
    /// routing"): the customer memory matches needs against them to find a need another of our
    /// lines answers. Optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<String>,
}

/// A parsed catalog file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catalog {
    pub brands: Vec<Brand>,
    /// A short content hash of the catalog source, recorded in every insight.
    pub version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default, rename = "brand")]
    brands: Vec<Brand>,
}

/// A catalog that can't be used, with where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid TOML: {0}")]
    Toml(String),
    #[error("catalog: duplicate id {id:?} (brand or product ids must be unique)")]
    DuplicateId { id: String },
}

impl Catalog {
    /// Parses catalog TOML. Query syntax is checked when the catalog is compiled into a matcher.
    pub fn parse(source: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile =
            toml::from_str(source).map_err(|e| CatalogError::Toml(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for id in file
            .brands
            .iter()
            .flat_map(|b| std::iter::once(&b.id).chain(b.products.iter().map(|p| &p.id)))
        {
            if !seen.insert(id.as_str()) {
                return Err(CatalogError::DuplicateId { id: id.clone() });
            }
        }
        let digest = uuid::Uuid::new_v5(&uuid::Uuid::nil(), source.as_bytes());
        // Names, queries and jobs spelt as the texts they are read against
        // ([`crate::normalize`]): a query typed `McDonald’s` still matches.
        let plain = |s: &mut String| *s = crate::normalize::apostrophes(s).into_owned();
        let mut brands = file.brands;
        for b in &mut brands {
            plain(&mut b.name);
            plain(&mut b.query);
            for p in &mut b.products {
                plain(&mut p.name);
                plain(&mut p.query);
                p.jobs.iter_mut().for_each(plain);
            }
        }
        Ok(Catalog {
            brands,
            version: digest.simple().to_string()[..12].to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_typed_with_a_curly_apostrophe_matches_the_normalised_text() {
        let src = "[[brand]]\nid = \"m\"\nname = \"McDonald’s\"\nquery = '\"McDonald’s app\" OR raw:\"McDonald’s\"'\n[[brand.product]]\nid = \"p\"\nname = \"Kellogg’s\"\nquery = 'kellogg’s'\njobs = [\"kids’ breakfast\"]\n";
        let c = Catalog::parse(src).unwrap();
        assert_eq!(c.brands[0].name, "McDonald's");
        assert_eq!(
            c.brands[0].query,
            "\"McDonald's app\" OR raw:\"McDonald's\""
        );
        assert_eq!(c.brands[0].products[0].query, "kellogg's");
        assert_eq!(c.brands[0].products[0].jobs, ["kids' breakfast"]);
        // Both spellings of the text reach the matcher as one.
        let m = crate::mentions::Matcher::compile(&c).unwrap();
        for text in ["the McDonald’s app froze", "Kellogg’s cereal", "McDonald's"] {
            let post = serde_json::json!({"platform": "x", "id": "1",
                "author": {"id": "a", "handle": "h"}, "created_at": "2026-01-01T00:00:00Z",
                "text": text})
            .to_string();
            let i = crate::decode::decode(
                Some(post.as_bytes()),
                crate::decode::KindHint::Auto,
                Default::default(),
            )
            .unwrap();
            assert!(!m.find(&i).is_empty(), "{text}");
        }
    }

    #[test]
    fn parses_brands_products_and_versions_by_content() {
        let src = r#"
[[brand]]
id = "b"
name = "B"
query = "b"
[[brand.product]]
id = "p"
name = "P"
line = "home"
query = "p"
"#;
        let c = Catalog::parse(src).unwrap();
        assert_eq!(c.brands[0].products[0].line.as_deref(), Some("home"));
        assert_eq!(c.version, Catalog::parse(src).unwrap().version);
        assert_ne!(
            c.version,
            Catalog::parse(&src.replace("\"b\"", "\"c\""))
                .unwrap()
                .version
        );
        let dup = src.replace("id = \"p\"", "id = \"b\"");
        assert!(matches!(
            Catalog::parse(&dup),
            Err(CatalogError::DuplicateId { .. })
        ));
        assert!(matches!(
            Catalog::parse("[[brand]]\nid = 1"),
            Err(CatalogError::Toml(_))
        ));
    }
}
