//! Measuring the sentiment scorer on human-rated ground truth (VADER's `*_GroundTruth.txt`:
//! `id<TAB>mean rating -4..4<TAB>text`): Pearson r with the mean rating, and 3-class macro-F1 with gold
//! positive at mean >= 0.5, negative at <= -0.5, neutral otherwise; predicted positive at
//! compound >= 0.05, negative at <= -0.05.

use crate::types::Label;

/// Figures for one ground-truth set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SentimentReport {
    pub n: usize,
    pub pearson: f64,
    pub macro_f1: f64,
}

/// Parses ground-truth text (CRLF or LF, with or without a final newline). Malformed rows are
/// returned as errors with their line number.
pub fn parse_ground_truth(text: &str) -> Result<Vec<(f64, String)>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let mut cols = line.trim_end_matches('\r').splitn(3, '\t');
            let (_, rating, text) = (cols.next(), cols.next(), cols.next());
            match (rating.map(str::parse::<f64>), text) {
                (Some(Ok(r)), Some(t)) => Ok((r, t.to_string())),
                _ => Err(format!("line {}: expected id<TAB>rating<TAB>text", n + 1)),
            }
        })
        .collect()
}

fn gold(r: f64) -> Label {
    if r >= 0.5 {
        Label::Positive
    } else if r <= -0.5 {
        Label::Negative
    } else {
        Label::Neutral
    }
}

/// Scores every row with `compound` and compares with the human ratings.
pub fn evaluate(rows: &[(f64, String)], compound: impl Fn(&str) -> f32) -> SentimentReport {
    let pred: Vec<f64> = rows.iter().map(|(_, t)| f64::from(compound(t))).collect();
    let human: Vec<f64> = rows.iter().map(|(r, _)| *r).collect();
    let labels = [Label::Positive, Label::Neutral, Label::Negative];
    let mut f1 = 0.0;
    for l in labels {
        let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
        for (p, h) in pred.iter().zip(&human) {
            let (pl, gl) = (Label::from_compound(*p as f32), gold(*h));
            match (pl == l, gl == l) {
                (true, true) => tp += 1.0,
                (true, false) => fp += 1.0,
                (false, true) => fn_ += 1.0,
                _ => {}
            }
        }
        let p = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        let r = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
        f1 += if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
    }
    SentimentReport {
        n: rows.len(),
        pearson: pearson(&pred, &human),
        macro_f1: f1 / labels.len() as f64,
    }
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx.sqrt() * syy.sqrt())
    }
}
