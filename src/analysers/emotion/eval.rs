//! Loading GoEmotions and measuring the model on it: macro-F1 over the 28 labels and the Ekman
//! groups, thresholds tuned on one half and scored on the other, and how often the dominant
//! emotion agrees with the gold labels (`earshot eval-emotions`).

use super::*;

/// One labelled example: text and label ids (indices into [`LABELS`]).
pub type Example = (String, Vec<usize>);

/// Parses GoEmotions TSV (`text<TAB>ids<TAB>comment id`), each text normalised as the daemon
/// reads a post ([`crate::normalize`]: Reddit writes `&#x200B;`, phones `’`).
pub fn parse_goemotions(text: &str) -> Result<Vec<Example>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let mut cols = l.split('\t');
            let (t, ids) = (cols.next(), cols.next());
            let ids: Result<Vec<usize>, _> = ids
                .ok_or_else(|| format!("line {}: no labels", n + 1))?
                .split(',')
                .map(|x| x.trim().parse::<usize>())
                .collect();
            let ids = ids.map_err(|e| format!("line {}: {e}", n + 1))?;
            if ids.iter().any(|&i| i >= LABELS.len()) {
                return Err(format!("line {}: label id out of range", n + 1));
            }
            Ok((
                crate::normalize::normalize(t.unwrap_or_default()).into_owned(),
                ids,
            ))
        })
        .collect()
}

/// Macro-F1 over the 28 labels and over the 7 Ekman groups, with the model's thresholds.
pub fn evaluate(model: &EmotionModel, examples: &[Example]) -> (f64, f64) {
    let scored = model.predictions(examples);
    let f1 = |c: usize| {
        f1_of(
            scored
                .iter()
                .map(|(p, truth)| (p[c] >= model.thresholds[c], truth[c])),
        )
    };
    let mean = |cols: std::ops::Range<usize>| {
        let n = cols.len() as f64;
        cols.map(f1).sum::<f64>() / n
    };
    (mean(0..LABELS.len()), mean(LABELS.len()..OUTPUTS))
}

/// How often the dominant emotion agrees with the gold labels: the share of examples whose
/// dominant label is one of theirs, whose dominant Ekman group is one of theirs, and of the
/// examples labelled only neutral that read neutral.
pub fn dominant_agreement(model: &EmotionModel, examples: &[Example]) -> (f64, f64, f64) {
    let scorer = SentimentScorer::new();
    let (mut label, mut group, mut neutral, mut neutral_ok) = (0usize, 0usize, 0usize, 0usize);
    for (text, ids) in examples {
        let e = model.score(text, &scorer.score(text));
        if ids.iter().any(|&i| LABELS.get(i) == Some(&&*e.dominant)) {
            label += 1;
        }
        if ids
            .iter()
            .any(|&i| EKMAN_OF.get(i).map(|&g| EKMAN[g]) == Some(&*e.dominant_ekman))
        {
            group += 1;
        }
        if ids == &[27] {
            neutral += 1;
            neutral_ok += usize::from(e.dominant == "neutral");
        }
    }
    let share = |a: usize, n: usize| a as f64 / n.max(1) as f64;
    (
        share(label, examples.len()),
        share(group, examples.len()),
        share(neutral_ok, neutral),
    )
}

/// [`dominant_agreement`] with thresholds tuned on one half of `examples` and scored on the
/// other, both ways round, averaged (halves as [`evaluate_cross_tuned`]'s): what unseen data
/// will read.
pub fn dominant_agreement_cross_tuned(
    model: &EmotionModel,
    examples: &[Example],
) -> (f64, f64, f64) {
    let half = |k: usize| -> Vec<Example> { examples.iter().skip(k).step_by(2).cloned().collect() };
    let (a, b) = (half(0), half(1));
    let x = dominant_agreement(&model.tuned_on(&a), &b);
    let y = dominant_agreement(&model.tuned_on(&b), &a);
    ((x.0 + y.0) / 2.0, (x.1 + y.1) / 2.0, (x.2 + y.2) / 2.0)
}

/// Macro-F1 with thresholds tuned on one half of `examples` and scored on the other, both ways
/// round, averaged: an estimate for data the thresholds were not tuned on (the tuned-on-itself
/// figure of [`evaluate`] is optimistic). Halves are alternate examples.
pub fn evaluate_cross_tuned(model: &EmotionModel, examples: &[Example]) -> (f64, f64) {
    let half = |k: usize| -> Vec<Example> { examples.iter().skip(k).step_by(2).cloned().collect() };
    let (a, b) = (half(0), half(1));
    let (l1, e1) = evaluate(&model.tuned_on(&a), &b);
    let (l2, e2) = evaluate(&model.tuned_on(&b), &a);
    ((l1 + l2) / 2.0, (e1 + e2) / 2.0)
}
