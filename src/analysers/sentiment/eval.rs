//! Measuring the sentiment scorer on human-rated ground truth (VADER's `*_GroundTruth.txt`:
//! `id<TAB>mean rating -4..4<TAB>text`, or a label word — `positive`, `neutral`, `negative` — in
//! place of the rating, as labelled sets such as TweetEval's are written; or the flagged batches'
//! (irony, complaints) labelled sentiment, [`parse_labelled`]): Pearson r with the
//! rating, and 3-class macro-F1 and macro-recall with gold positive at mean >= 0.5, negative at
//! <= -0.5, neutral otherwise; predicted positive at compound >= 0.05, negative at <= -0.05.

use crate::types::Label;

/// Figures for one ground-truth set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SentimentReport {
    pub n: usize,
    pub pearson: f64,
    pub macro_f1: f64,
    pub macro_recall: f64,
}

/// One row of ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Rated {
    pub id: String,
    /// The mean rating, or -1, 0, 1 for a label word.
    pub rating: f64,
    pub text: String,
}

fn rating(s: &str) -> Option<f64> {
    Label::parse(s)
        .map(Label::sign)
        .or_else(|| s.trim().parse::<f64>().ok().filter(|r| r.is_finite()))
}

/// Parses ground truth with its ids (CRLF or LF, with or without a final newline), each text
/// normalised as the daemon reads a post ([`crate::normalize`]: character references decoded,
/// typographic apostrophes plain).
/// Malformed rows are errors with their line number.
pub fn parse_rated(text: &str) -> Result<Vec<Rated>, String> {
    let mut rows = parse_rated_as_written(text)?;
    for r in &mut rows {
        r.text = crate::normalize::normalize_owned(std::mem::take(&mut r.text));
    }
    Ok(rows)
}

/// [`parse_rated`] with each text as the file has it, for a reader that sends the texts through
/// the daemon's decoding ([`crate::decode`]), which decodes their character references once.
pub fn parse_rated_as_written(text: &str) -> Result<Vec<Rated>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let mut cols = line.trim_end_matches('\r').splitn(3, '\t');
            let (id, r, text) = (cols.next(), cols.next(), cols.next());
            match (id, r.and_then(rating), text) {
                (Some(id), Some(rating), Some(t)) => Ok(Rated {
                    id: id.to_string(),
                    rating,
                    text: t.to_string(),
                }),
                _ => Err(format!(
                    "line {}: expected id<TAB>rating or label<TAB>text",
                    n + 1
                )),
            }
        })
        .collect()
}

/// Parses a labelled file of either format: rated rows ([`parse_rated`]), or the flagged batches'
/// (irony, complaints) `id<TAB>flag<TAB>sentiment<TAB>text`
/// ([`crate::signals::train::parse_flagged`]), read for their sentiment label. The flagged format
/// is told by its first line: a second column of `0` or `1` and four columns (read as rated, it
/// would pass for a rating of 0 or 1 and a text that starts with the label). The shape alone
/// decides, so a flagged file with a bad label on its first line is an error that names the line,
/// not a rated file with every label wrong.
pub fn parse_labelled(text: &str) -> Result<Vec<Rated>, String> {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let cols: Vec<&str> = first.splitn(4, '\t').collect();
    let flagged = matches!(cols[..], [_, "0" | "1", _, _]);
    if !flagged {
        return parse_rated(text);
    }
    Ok(crate::signals::train::parse_flagged(text)?
        .into_iter()
        .map(|r| Rated {
            id: r.id,
            rating: r.sentiment.sign(),
            text: crate::normalize::normalize_owned(r.text),
        })
        .collect())
}

/// Parses ground-truth text (CRLF or LF, with or without a final newline). Malformed rows are
/// returned as errors with their line number.
pub fn parse_ground_truth(text: &str) -> Result<Vec<(f64, String)>, String> {
    Ok(parse_rated(text)?
        .into_iter()
        .map(|r| (r.rating, r.text))
        .collect())
}

/// The class of a mean human rating (−4..4, or −1/0/1 for a label word).
pub fn rating_label(r: f64) -> Label {
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
    report(&human, &pred)
}

/// The figures of compound scores `pred` against the human ratings `human`, row by row (the
/// same rows, so the same length).
pub fn report(human: &[f64], pred: &[f64]) -> SentimentReport {
    debug_assert_eq!(human.len(), pred.len(), "a score for every rating");
    let f = Figures::of(
        pred.iter()
            .zip(human)
            .map(|(p, h)| (Label::from_compound(*p as f32), rating_label(*h))),
    );
    SentimentReport {
        n: human.len().min(pred.len()),
        pearson: pearson(pred, human),
        macro_f1: f.macro_f1,
        macro_recall: f.macro_recall,
    }
}

/// A difference between two readings of the same rows, and its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    /// The difference on the rows as they are.
    pub value: f64,
    /// The 2.5th percentile of the difference over the bootstrap's draws.
    pub low: f64,
    /// The 97.5th percentile.
    pub high: f64,
}

impl Difference {
    /// Whether the interval leaves out zero: the two readings differ by more than the rows'
    /// sampling explains.
    pub fn clear(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// How far reading `a` stands from reading `b` (compound scores of the rows of `human`, in the
/// same order) in Pearson r and in macro-F1, `a − b`, each with a 95% interval from a paired
/// bootstrap: `draws` resamples of the rows with replacement, both readings scored on each.
/// Whether a set says one reading is better than the other, or only that it came out higher this
/// time. Rows are drawn one by one: where they come in clusters (a writer's batch), the interval
/// is narrower than the truth. The draws are seeded, so the interval is the same at every run.
pub fn paired(human: &[f64], a: &[f64], b: &[f64], draws: usize) -> (Difference, Difference) {
    debug_assert!(
        human.len() == a.len() && a.len() == b.len(),
        "two readings of every row"
    );
    let n = human.len().min(a.len()).min(b.len());
    let whole = (report(&human[..n], &a[..n]), report(&human[..n], &b[..n]));
    let mut r = Vec::with_capacity(draws);
    let mut f1 = Vec::with_capacity(draws);
    let (mut h, mut x, mut y) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    crate::bootstrap::resample(n, draws, |rows| {
        for (k, &i) in rows.iter().enumerate() {
            (h[k], x[k], y[k]) = (human[i], a[i], b[i]);
        }
        let (ra, rb) = (report(&h, &x), report(&h, &y));
        r.push(ra.pearson - rb.pearson);
        f1.push(ra.macro_f1 - rb.macro_f1);
    });
    let difference = |d: Vec<f64>, value: f64| {
        let (low, high) = crate::bootstrap::interval(d).unwrap_or((value, value));
        Difference { value, low, high }
    };
    (
        difference(r, whole.0.pearson - whole.1.pearson),
        difference(f1, whole.0.macro_f1 - whole.1.macro_f1),
    )
}

fn index(l: Label) -> usize {
    match l {
        Label::Negative => 0,
        Label::Neutral => 1,
        Label::Positive => 2,
    }
}

/// Macro-recall and macro-F1 of 3-class (predicted, gold) pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub accuracy: f64,
}

impl Figures {
    pub fn of(pairs: impl Iterator<Item = (Label, Label)>) -> Figures {
        let mut m = [[0usize; 3]; 3];
        let mut n = 0usize;
        for (p, g) in pairs {
            m[index(g)][index(p)] += 1;
            n += 1;
        }
        let (mut rec, mut f1, mut right) = (0.0, 0.0, 0usize);
        for (c, row) in m.iter().enumerate() {
            let tp = row[c] as f64;
            right += row[c];
            let gold: usize = row.iter().sum();
            let pred: usize = m.iter().map(|g| g[c]).sum();
            let r = if gold > 0 { tp / gold as f64 } else { 0.0 };
            let p = if pred > 0 { tp / pred as f64 } else { 0.0 };
            rec += r;
            f1 += if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            };
        }
        Figures {
            macro_recall: rec / 3.0,
            macro_f1: f1 / 3.0,
            accuracy: right as f64 / n.max(1) as f64,
        }
    }
}

/// Pearson's r of two series (0 when either is constant or empty).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paired_difference_is_clear_only_when_one_reading_is_better_throughout() {
        // 300 rows rated −3, 0 or 3 in turn; `good` reads each rating's sign, `bad` reads every
        // row neutral, and `near` is `good` wrong on one row.
        let human: Vec<f64> = (0..300).map(|k| [-3.0, 0.0, 3.0][k % 3]).collect();
        let good: Vec<f64> = human.iter().map(|h| h / 3.0).collect();
        let bad = vec![0.0; 300];
        let mut near = good.clone();
        near[0] = 1.5;
        let (r, f1) = paired(&human, &good, &bad, 200);
        assert!((f1.value - (1.0 - 1.0 / 6.0)).abs() < 1e-9, "{f1:?}");
        assert!(f1.clear() && f1.low > 0.5 && f1.low <= f1.value && f1.value <= f1.high);
        assert!(r.value > 0.9 && r.clear(), "{r:?}");
        let (r, f1) = paired(&human, &near, &good, 200);
        assert!(
            f1.value < 0.0 && !f1.clear(),
            "one row in 300 is within noise: {f1:?}"
        );
        assert!(
            r.value < 0.0 && r.low <= r.value && r.value <= r.high,
            "{r:?}"
        );
        // Seeded: the same interval at every run; no rows, no difference.
        assert_eq!(paired(&human, &near, &good, 200), (r, f1));
        let (r, f1) = paired(&[], &[], &[], 50);
        assert_eq!((r.value, f1.value, r.low, f1.high), (0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn the_bootstrap_pairs_the_readings_row_by_row() {
        // `a` reads each rating with a large error (r near 0.60); `b` is `a` with a little more
        // error on every row (r near 0.58). Scored on the same rows in each draw, `a` comes out
        // ahead throughout, though a draw moves either r by more than the gap between them.
        let human: Vec<f64> = (0..400).map(|k| (k % 9) as f64 - 4.0).collect();
        let n1 = |k: u64| (k * 2_654_435_761 % 1000) as f64 / 1000.0 - 0.5;
        let n2 = |k: u64| ((k * 40_503 + 17) % 997) as f64 / 997.0 - 0.5;
        let a: Vec<f64> = (0..400u64)
            .map(|k| human[k as usize] / 4.0 + 3.0 * n1(k))
            .collect();
        let b: Vec<f64> = (0..400u64).map(|k| a[k as usize] + n2(k)).collect();
        let (r, _) = paired(&human, &a, &b, 300);
        assert!(r.value > 0.0 && r.clear(), "{r:?}");
        // How far a draw moves `a`'s r alone (against a reading with none): wider than the gap.
        let (ra, _) = paired(&human, &a, &vec![0.0; 400], 300);
        assert!(ra.high - ra.low > 2.0 * r.value, "{ra:?} against {r:?}");
    }

    #[test]
    fn texts_are_read_as_their_writers_typed_them() {
        // VADER's tweets carry Twitter's escapes: the heart is a heart.
        let rated = parse_labelled("217\t1.9\tSo cute! Lol &lt;3\n").unwrap();
        assert_eq!(rated[0].text, "So cute! Lol <3");
        let flagged = parse_labelled("a\t1\tnegative\tLove it &amp; all\n").unwrap();
        assert_eq!(flagged[0].text, "Love it & all");
        let (_, text) = &parse_ground_truth("1\t-1.7\tugh &gt;:[\n").unwrap()[0];
        assert_eq!(text, "ugh >:[");
        let go =
            crate::emotion::parse_goemotions("Let me DREAM &#x200B; ok, don’t\t27\tc1\n").unwrap();
        assert_eq!(go[0].0, "Let me DREAM \u{200b} ok, don't");
        // Read as written, for the daemon's own decoding to do once.
        let raw = parse_rated_as_written("217\t1.9\tLol &lt;3 don’t\n").unwrap();
        assert_eq!(raw[0].text, "Lol &lt;3 don’t");
    }

    #[test]
    fn labelled_files_of_either_format_read_their_sentiment() {
        // VADER's rated rows, and label words in place of a rating.
        let rated = parse_labelled("1\t1.8\tso good\n2\tnegative\tawful\n").unwrap();
        assert_eq!((rated[0].rating, rated[1].rating), (1.8, -1.0));
        assert_eq!(rated[1].text, "awful");
        // The irony batches: the sentiment column is the label, not the irony column.
        let irony = parse_labelled(
            "i01-0001\t1\tnegative\tlove a 6am fire alarm\ni01-0002\t0\tneutral\tbus at 9\n",
        )
        .unwrap();
        assert_eq!(irony.len(), 2);
        assert_eq!((irony[0].rating, irony[1].rating), (-1.0, 0.0));
        assert_eq!(irony[0].text, "love a 6am fire alarm");
        // A rated row whose text starts with a label word is still a rated row.
        let tricky = parse_labelled("7\t1\tpositive vibes\n").unwrap();
        assert_eq!(
            (tricky[0].rating, tricky[0].text.as_str()),
            (1.0, "positive vibes")
        );
        // An irony file with a bad line says which, the first line included: a misspelt label
        // there must not turn the file into rated rows with the irony column as the rating.
        assert!(parse_labelled("a\t1\tnegative\tx\nb\t1\tnope\ty\n")
            .unwrap_err()
            .contains("line 2"));
        assert!(parse_labelled("a\t1\tnegatve\tx\nb\t0\tpositive\ty\n")
            .unwrap_err()
            .contains("line 1"));
    }
}
