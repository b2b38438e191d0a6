//! Precision and recall of the signals (context, effort, intents, journey phase, sarcasm) on a
//! labelled set, read back from the insight events exactly as a downstream consumer sees them.
//!
//! The set is a TSV file (`tests/signals/labelled.tsv`): `kind context effort intents phase sarcasm
//! text`, with `p`/`t` for a social post or a support ticket, comma-separated labels and `-` for none.
//! Each row becomes a real input message; the caller runs it through the pipeline
//! ([`crate::process::process`], as `earshot eval-signals` does) and hands back the insight event as
//! JSON, and the labels are taken from that JSON. So this module reads events the way a downstream
//! consumer does, and depends on nothing above the analysers.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

/// One labelled message.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub line: usize,
    pub ticket: bool,
    pub text: String,
    /// Expected labels, each prefixed with its family: `context:family`, `effort:hard`,
    /// `intent:need`, `phase:usage`, `sarcasm`.
    pub labels: BTreeSet<String>,
}

/// A row that can't be read, with its line number.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// The labels of `family` that the model reads, without the family's prefix: the TSV format names
/// them as the insight does, and accepts every one the model can emit.
fn labels_of_family(family: &str) -> Vec<&'static str> {
    super::model::LABELS[super::model::family(family)]
        .iter()
        .map(|l| l.split_once(':').map_or(*l, |(_, n)| n))
        .collect()
}

fn list(
    field: &str,
    allowed: &[&str],
    family: &str,
    line: usize,
) -> Result<Vec<String>, ParseError> {
    if field == "-" {
        return Ok(Vec::new());
    }
    field
        .split(',')
        .map(|l| {
            let l = l.trim();
            if allowed.contains(&l) {
                Ok(format!("{family}:{l}"))
            } else {
                Err(ParseError {
                    line,
                    message: format!("unknown {family} label {l:?}; expected one of {allowed:?}"),
                })
            }
        })
        .collect()
}

/// Reads the labelled set; every problem names its line.
pub fn parse(text: &str) -> Result<Vec<Example>, ParseError> {
    let mut out = Vec::new();
    // The four label columns and what each accepts: found once, not per row.
    let families = ["context", "effort", "intent", "phase"].map(|f| (f, labels_of_family(f)));
    for (n, row) in text.lines().enumerate() {
        let line = n + 1;
        if row.starts_with('#') || row.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = row.split('\t').collect();
        let [kind, context, effort, intents, phase, sarcasm, text] = cols[..] else {
            return Err(ParseError {
                line,
                message: format!("expected 7 tab-separated columns, found {}", cols.len()),
            });
        };
        let ticket = match kind {
            "p" => false,
            "t" => true,
            other => {
                return Err(ParseError {
                    line,
                    message: format!("kind {other:?} is not p (post) or t (ticket)"),
                })
            }
        };
        let mut labels: BTreeSet<String> = BTreeSet::new();
        for (field, (family, allowed)) in [context, effort, intents, phase].iter().zip(&families) {
            labels.extend(list(field, allowed, family, line)?);
        }
        match sarcasm {
            "1" => {
                labels.insert("sarcasm".into());
            }
            "0" => {}
            other => {
                return Err(ParseError {
                    line,
                    message: format!("sarcasm {other:?} is not 1 or 0"),
                })
            }
        }
        out.push(Example {
            line,
            ticket,
            text: text.to_string(),
            labels,
        });
    }
    Ok(out)
}

/// The input message of an example: a tweet-like post or an e-mail ticket from a consumer.
pub fn input(e: &Example) -> Value {
    let id = format!("signals-{}", e.line);
    if e.ticket {
        json!({"id": id, "customer": {"id": format!("c-{}", e.line), "segment": "consumer"},
               "channel": "email", "body": e.text, "created_at": "2026-11-01T09:00:00Z"})
    } else {
        json!({"platform": "twitter", "id": id,
               "author": {"id": format!("a-{}", e.line), "handle": format!("user{}", e.line)},
               "text": e.text, "created_at": "2026-11-01T09:00:00Z"})
    }
}

/// The labels of an insight event, in the same families as [`Example::labels`].
pub fn labels_of(event: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let names = |key: &str| -> Vec<String> {
        event[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["label"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    out.extend(names("context").into_iter().map(|l| format!("context:{l}")));
    for c in event["context"].as_array().into_iter().flatten() {
        if let Some(m) = c["moment"].as_str() {
            out.insert(format!("moment:{m}"));
        }
    }
    out.extend(names("intents").into_iter().map(|l| format!("intent:{l}")));
    match event["effort"]["score"].as_i64() {
        Some(s) if s < 0 => {
            out.insert("effort:hard".into());
        }
        Some(s) if s > 0 => {
            out.insert("effort:easy".into());
        }
        _ => {}
    }
    if let Some(p) = event["journey_phase"].as_str() {
        out.insert(format!("phase:{p}"));
    }
    if event["sarcasm"]["likely"].as_bool() == Some(true) {
        out.insert("sarcasm".into());
    }
    out
}

/// Counts for one label.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
    /// The counts of two sets of comparisons together.
    pub fn plus(self, other: Counts) -> Counts {
        Counts {
            tp: self.tp + other.tp,
            fp: self.fp + other.fp,
            fn_: self.fn_ + other.fn_,
        }
    }
}

/// A yes/no reading counted for both classes, as the complaint literature reports it: each
/// class's F1 and their mean, the macro-F1 (a reader that says "no" to everything gets half of
/// it, not the share of "no" in the set).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Binary {
    /// The "yes" class: true positives, false positives, misses.
    pub yes: Counts,
    /// The "no" class, counted the same way.
    pub no: Counts,
}

impl Binary {
    /// Counts one reading against its gold label.
    pub fn add(&mut self, predicted: bool, gold: bool) {
        match (predicted, gold) {
            (true, true) => self.yes.tp += 1,
            (false, false) => self.no.tp += 1,
            (true, false) => {
                self.yes.fp += 1;
                self.no.fn_ += 1;
            }
            (false, true) => {
                self.yes.fn_ += 1;
                self.no.fp += 1;
            }
        }
    }

    /// Adds another set's counts to these.
    pub fn merge(&mut self, other: Binary) {
        for (a, b) in [(&mut self.yes, other.yes), (&mut self.no, other.no)] {
            a.tp += b.tp;
            a.fp += b.fp;
            a.fn_ += b.fn_;
        }
    }

    pub fn macro_f1(&self) -> f64 {
        (self.yes.f1() + self.no.f1()) / 2.0
    }

    pub fn accuracy(&self) -> f64 {
        let total = self.yes.tp + self.yes.fp + self.yes.fn_ + self.no.tp;
        ratio(self.yes.tp + self.no.tp, total)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub messages: usize,
    pub per_label: BTreeMap<String, Counts>,
    /// Examples whose predicted labels differ: (name, text, missing, extra).
    pub misses: Vec<(String, String, Vec<String>, Vec<String>)>,
    /// How often each expected phase was read as each phase: (expected, read) to count, `-` for
    /// no phase.
    pub phase_confusion: BTreeMap<(String, String), usize>,
    /// Each message's counts per family (for a message about several brands, all its brands'):
    /// what [`family_interval`] draws again.
    pub per_message: Vec<BTreeMap<String, Counts>>,
}

impl Report {
    /// Counts one comparison of `want`ed and `have` labels (of a message, or of one brand in it):
    /// per label, in the phase confusion, and as a miss when they differ.
    fn count(
        &mut self,
        name: String,
        text: &str,
        want: &BTreeSet<String>,
        have: &BTreeSet<String>,
    ) {
        *self
            .phase_confusion
            .entry((phase_of(want), phase_of(have)))
            .or_default() += 1;
        if self.per_message.is_empty() {
            self.per_message.push(BTreeMap::new());
        }
        for l in want.union(have) {
            let one = match (want.contains(l), have.contains(l)) {
                (true, true) => Counts {
                    tp: 1,
                    ..Counts::default()
                },
                (true, false) => Counts {
                    fn_: 1,
                    ..Counts::default()
                },
                (false, true) => Counts {
                    fp: 1,
                    ..Counts::default()
                },
                (false, false) => continue,
            };
            let c = self.per_label.entry(l.clone()).or_default();
            *c = c.plus(one);
            let family = l.split(':').next().unwrap_or(l).to_string();
            if let Some(m) = self.per_message.last_mut() {
                let f = m.entry(family).or_default();
                *f = f.plus(one);
            }
        }
        if want != have {
            self.misses.push((
                name,
                text.to_string(),
                want.difference(have).cloned().collect(),
                have.difference(want).cloned().collect(),
            ));
        }
    }
}

/// One labelled message to evaluate: its name (a line number or a corpus id), its offset for the
/// source reference, the input message and the expected labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    pub offset: usize,
    pub text: String,
    pub input: Value,
    pub labels: BTreeSet<String>,
    /// The labels of each brand the message is about, by brand id (corpus rows only).
    pub mentions: BTreeMap<String, BTreeSet<String>>,
    /// Whether the labels say what moment a life event is (`moment:hard|happy`); when not, the
    /// moment read is not scored.
    pub moments: bool,
}

impl From<&Example> for Case {
    fn from(e: &Example) -> Case {
        Case {
            name: format!("line {}", e.line),
            offset: e.line,
            text: e.text.clone(),
            input: input(e),
            labels: e.labels.clone(),
            mentions: BTreeMap::new(),
            moments: false,
        }
    }
}

impl Case {
    /// A row of the corpus, at position `offset` of its file.
    pub fn of_row(row: &super::corpus::Row, offset: usize) -> Case {
        Case {
            name: row.id.clone(),
            offset,
            text: row.text.clone(),
            input: row.input(),
            labels: row.labels(),
            moments: row.rates_moment(),
            mentions: row
                .mentions
                .iter()
                .map(|m| {
                    let mut l: BTreeSet<String> =
                        m.intents.iter().map(|i| format!("intent:{i}")).collect();
                    l.extend(m.phase.iter().map(|p| format!("phase:{p}")));
                    (m.brand.clone(), l)
                })
                .collect(),
        }
    }
}

/// The phase of a label set, `-` for none.
fn phase_of(labels: &BTreeSet<String>) -> String {
    labels
        .iter()
        .find_map(|l| l.strip_prefix("phase:"))
        .unwrap_or("-")
        .to_string()
}

/// The readings per brand of an insight event: for each brand its mentions name, the union of
/// their intents (`intent:…`) and the first phase (`phase:…`).
pub fn brand_labels_of(event: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in event["mentions"].as_array().into_iter().flatten() {
        let Some(brand) = m["brand"].as_str() else {
            continue;
        };
        let l = out.entry(brand.to_string()).or_default();
        for i in m["intents"].as_array().into_iter().flatten() {
            if let Some(i) = i.as_str() {
                l.insert(format!("intent:{i}"));
            }
        }
        if let Some(p) = m["journey_phase"].as_str() {
            if !l.iter().any(|x| x.starts_with("phase:")) {
                l.insert(format!("phase:{p}"));
            }
        }
    }
    out
}

/// The readings per brand, on the cases about two brands or more: each brand expected or found
/// is compared label by label (a brand expected but not found misses its labels; one found but
/// not expected adds its labels as false).
pub fn evaluate_mentions(examples: &[Case], run: impl Fn(&[u8], usize) -> Option<Value>) -> Report {
    let multi: Vec<&Case> = examples.iter().filter(|e| e.mentions.len() >= 2).collect();
    let mut report = Report {
        messages: multi.len(),
        ..Report::default()
    };
    for e in multi {
        report.per_message.push(BTreeMap::new());
        let bytes = e.input.to_string().into_bytes();
        let got = run(&bytes, e.offset)
            .map(|v| brand_labels_of(&v))
            .unwrap_or_default();
        let brands: BTreeSet<&String> = e.mentions.keys().chain(got.keys()).collect();
        let none = BTreeSet::new();
        for b in brands {
            let (want, have) = (
                e.mentions.get(b).unwrap_or(&none),
                got.get(b).unwrap_or(&none),
            );
            report.count(format!("{} / {b}", e.name), &e.text, want, have);
        }
    }
    report
}

/// The phase confusion of a report as a table: a row per expected phase, a column per phase read,
/// `-` for none.
pub fn confusion_table(report: &Report) -> String {
    use std::fmt::Write;
    let mut phases: BTreeSet<&str> = BTreeSet::new();
    for (e, g) in report.phase_confusion.keys() {
        phases.insert(e);
        phases.insert(g);
    }
    let mut out = String::from("phase confusion (rows: expected, columns: read)\n");
    let _ = write!(out, "{:<14}", "");
    for p in &phases {
        let _ = write!(out, " {:>8}", &p[..p.len().min(8)]);
    }
    out.push('\n');
    for e in &phases {
        let _ = write!(out, "{e:<14}");
        for g in &phases {
            let n = report
                .phase_confusion
                .get(&(e.to_string(), g.to_string()))
                .copied()
                .unwrap_or(0);
            let _ = write!(out, " {n:>8}");
        }
        out.push('\n');
    }
    out
}

/// Runs every example through `run` — the pipeline: an input message's bytes and the example's line
/// number (for the source offset) in, the insight event as JSON out, `None` for a dead letter — and
/// compares the event's labels with the expected ones. An example that does not produce an insight
/// counts all its labels as missed.
pub fn evaluate(examples: &[Case], run: impl Fn(&[u8], usize) -> Option<Value>) -> Report {
    let mut report = Report {
        messages: examples.len(),
        ..Report::default()
    };
    for e in examples {
        report.per_message.push(BTreeMap::new());
        let bytes = e.input.to_string().into_bytes();
        let mut got = run(&bytes, e.offset)
            .map(|v| labels_of(&v))
            .unwrap_or_default();
        if !e.moments {
            got.retain(|l| !l.starts_with("moment:"));
        }
        report.count(e.name.clone(), &e.text, &e.labels, &got);
    }
    report
}

/// Micro-averaged counts over the labels of one family (`context`, `intent`, ...).
pub fn family_total(report: &Report, family: &str) -> Counts {
    report
        .per_label
        .iter()
        .filter(|(l, _)| l.split(':').next() == Some(family))
        .fold(Counts::default(), |a, (_, c)| a.plus(*c))
}

/// The 95% interval of a family's micro-F1 ([`family_total`]) over `draws` samples of as many
/// messages drawn again with replacement ([`crate::bootstrap`]): how differently another set of
/// messages written the same way could read. Messages are drawn one by one, so where a set's
/// messages come in clusters (one writer's), the interval is narrower than the truth. None
/// without messages.
pub fn family_interval(report: &Report, family: &str, draws: usize) -> Option<(f64, f64)> {
    let units: Vec<Counts> = report
        .per_message
        .iter()
        .map(|m| m.get(family).copied().unwrap_or_default())
        .collect();
    let mut f1 = Vec::with_capacity(draws);
    crate::bootstrap::resample(units.len(), draws, |rows| {
        let c = rows
            .iter()
            .fold(Counts::default(), |a, &i| a.plus(units[i]));
        f1.push(c.f1());
    });
    crate::bootstrap::interval(f1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_reading_is_measured_for_both_classes() {
        let mut b = Binary::default();
        // 3 of 4 complaints found, 1 of 6 others flagged.
        for (p, g) in [
            (true, true),
            (true, true),
            (true, true),
            (false, true),
            (true, false),
            (false, false),
            (false, false),
            (false, false),
            (false, false),
            (false, false),
        ] {
            b.add(p, g);
        }
        assert_eq!((b.yes.precision(), b.yes.recall()), (0.75, 0.75));
        assert!((b.no.f1() - 10.0 / 12.0).abs() < 1e-9);
        assert!((b.macro_f1() - (0.75 + 10.0 / 12.0) / 2.0).abs() < 1e-9);
        assert!((b.accuracy() - 0.8).abs() < 1e-9);
        let mut twice = b;
        twice.merge(b);
        assert_eq!(twice.yes.tp, 6);
        assert_eq!(twice.macro_f1(), b.macro_f1());
        // Saying "no" to everything: half the macro-F1 at best.
        let mut none = Binary::default();
        for g in [true, false, false, false] {
            none.add(false, g);
        }
        assert_eq!(none.yes.f1(), 0.0);
        assert!(none.macro_f1() < 0.5);
    }

    #[test]
    fn rows_are_parsed_and_bad_rows_name_their_line() {
        let ok = parse("# c\np\tfamily,health\thard\tcomplaint\tusage\t1\tMy dad\n").unwrap();
        assert_eq!(ok.len(), 1);
        let l: Vec<&str> = ok[0].labels.iter().map(String::as_str).collect();
        assert_eq!(
            l,
            [
                "context:family",
                "context:health",
                "effort:hard",
                "intent:complaint",
                "phase:usage",
                "sarcasm"
            ]
        );
        // Every intent the model emits can be labelled, `prospect` (added with the readings per
        // brand) among them.
        let p = parse("p\t-\teasy\tprospect,question\tconsideration\t0\tx\n").unwrap();
        assert!(p[0].labels.contains("intent:prospect"), "{:?}", p[0].labels);
        assert!(p[0].labels.contains("effort:easy"));
        let e = parse("p\t-\t-\tcomplain\tusage\t0\tx\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("complain"), "{e}");
        assert!(parse("p\t-\t-\n").is_err());
        assert!(parse("x\t-\t-\t-\t-\t0\ttext\n").is_err());
    }

    #[test]
    fn labels_come_back_from_the_event() {
        let v = json!({"context": [{"label": "money", "evidence": []}],
            "effort": {"score": -3, "evidence": []},
            "intents": [{"label": "complaint", "evidence": []}],
            "journey_phase": "support", "sarcasm": {"likely": false, "evidence": []}});
        let l: Vec<String> = labels_of(&v).into_iter().collect();
        assert_eq!(
            l,
            [
                "context:money",
                "effort:hard",
                "intent:complaint",
                "phase:support"
            ]
        );
    }

    #[test]
    fn counts_compare_expected_and_found() {
        let c = Counts {
            tp: 3,
            fp: 1,
            fn_: 2,
        };
        assert!((c.precision() - 0.75).abs() < 1e-9);
        assert!((c.recall() - 0.6).abs() < 1e-9);
        assert_eq!(Counts::default().precision(), 0.0);
    }

    #[test]
    fn a_family_s_interval_draws_messages_and_narrows_with_more_of_them() {
        // Messages about work: three in four read right, one in four read as family instead.
        let set = |n: usize| {
            let mut r = Report::default();
            for k in 0..n {
                r.per_message.push(BTreeMap::new());
                let want: BTreeSet<String> = ["context:work".to_string()].into();
                let have: BTreeSet<String> = if k % 4 == 0 {
                    ["context:family".to_string(), "effort:hard".to_string()].into()
                } else {
                    want.clone()
                };
                r.count(k.to_string(), "", &want, &have);
            }
            r
        };
        let (small, large) = (set(40), set(400));
        // Each message's counts add up to the family's.
        let summed = large
            .per_message
            .iter()
            .filter_map(|m| m.get("context"))
            .fold(Counts::default(), |a, c| a.plus(*c));
        assert_eq!(summed, family_total(&large, "context"));
        let f1 = family_total(&large, "context").f1();
        assert!((f1 - 0.75).abs() < 1e-9, "{f1}");
        let (lo, hi) = family_interval(&large, "context", 500).expect("messages");
        assert!(lo < f1 && f1 < hi && hi - lo < 0.15, "{lo} {hi}");
        let (slo, shi) = family_interval(&small, "context", 500).expect("messages");
        assert!(shi - slo > 2.0 * (hi - lo), "{slo} {shi} against {lo} {hi}");
        // A family a message never touches counts nothing for it; no messages, no interval.
        assert_eq!(family_interval(&large, "phase", 100), Some((0.0, 0.0)));
        assert_eq!(family_interval(&Report::default(), "context", 100), None);
    }

    #[test]
    fn the_labelled_set_stays_above_its_floor() {
        // A regression guard on the shipped set, not a target: the figures are printed by
        // `earshot eval-signals` and recorded in the README.
        let catalog = crate::catalog::Catalog::parse(include_str!("../../../config/catalog.toml"))
            .expect("catalog parses");
        let analyzer = crate::analyze::Analyzer::new(catalog).expect("analyzer builds");
        let examples =
            parse(include_str!("../../../tests/signals/labelled.tsv")).expect("set parses");
        assert!(examples.len() >= 300);
        let cases: Vec<Case> = examples.iter().map(Case::from).collect();
        let report = evaluate(&cases, |bytes, line| {
            let at = crate::insight::SourceRef {
                topic: "signals".into(),
                partition: 0,
                offset: line as i64,
            };
            let now = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
            let auto = crate::decode::KindHint::Auto;
            let limits = crate::decode::Limits::default();
            let insight = crate::process::process(Some(bytes), auto, limits, &analyzer, at, now);
            serde_json::to_value(insight.ok()?).ok()
        });
        for family in ["context", "effort", "intent", "phase"] {
            let c = family_total(&report, family);
            assert!(c.f1() >= 0.7, "{family}: F1 {:.3}", c.f1());
        }
    }
}
