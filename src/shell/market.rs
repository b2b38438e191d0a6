//! The market view over files: insight JSONL (as `earshot file` writes it, or as read back from
//! the feedback topic) through a [`Market`], for `earshot trends` and `earshot report`.

use std::io::{self, BufRead};
use std::path::PathBuf;

use crate::insight::Insight;
use crate::market::{Alert, Market, Output, Policy, Trend};
use crate::memory::CustomerInsight;

/// What the market view made of some files.
#[derive(Debug, Default)]
pub struct Heard {
    /// Every trend emission, in order (corrections included).
    pub trends: Vec<Trend>,
    pub alerts: Vec<Alert>,
    /// Customer insights found among the lines (`earshot file --customer-insights` writes them).
    pub customers: Vec<CustomerInsight>,
    pub insights: u64,
    pub too_late: u64,
    /// Lines that are neither, and the first of them with its error.
    pub skipped: u64,
    pub first_skipped: Option<String>,
}

/// Reads insights and customer insights, one JSON object a line, from `files` (stdin when empty),
/// in order, through a market view with `policy`; closes every window at the end.
pub fn read(files: &[PathBuf], policy: &Policy) -> io::Result<Heard> {
    let mut market = Market::new(policy.clone());
    let mut heard = Heard::default();
    let take = |out: Vec<Output>, heard: &mut Heard| {
        for o in out {
            match o {
                Output::Trend(t) => heard.trends.push(*t),
                Output::Alert(a) => heard.alerts.push(*a),
            }
        }
    };
    let inputs: Vec<(String, Box<dyn BufRead>)> = if files.is_empty() {
        vec![("stdin".into(), Box::new(io::BufReader::new(io::stdin())))]
    } else {
        let mut v: Vec<(String, Box<dyn BufRead>)> = Vec::new();
        for f in files {
            let file = std::fs::File::open(f)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", f.display())))?;
            v.push((f.display().to_string(), Box::new(io::BufReader::new(file))));
        }
        v
    };
    for (name, input) in inputs {
        for (n, line) in input.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Insight>(&line) {
                Ok(i) => {
                    heard.insights += 1;
                    take(market.observe(&i), &mut heard);
                }
                Err(e) => match serde_json::from_str::<CustomerInsight>(&line) {
                    Ok(c) => heard.customers.push(c),
                    Err(_) => {
                        heard.skipped += 1;
                        heard
                            .first_skipped
                            .get_or_insert_with(|| format!("{name} line {}: {e}", n + 1));
                    }
                },
            }
        }
    }
    take(market.finish(), &mut heard);
    heard.too_late = market.too_late();
    Ok(heard)
}
