//! Training the model (`earshot train-sentiment`): softmax regression with AdaGrad over the same
//! [`features`] the runtime computes, deterministic (a fixed shuffle, an ordered parallel encode),
//! so the same data gives the same model file byte for byte. The [`Rule`] is then chosen on the
//! quantised model, as it scores at runtime: its two polar biases and the lexicon's pull on the
//! polar logits for the mean of macro-recall and macro-F1 over the dev sets, each set weighing the
//! same; then the lexicon's share in a polar score's depth and the lead scale for the mean Pearson
//! r over the dev sets rated on a scale.

use rayon::prelude::*;

use super::*;
use crate::sentiment::eval::Figures;
use crate::sentiment::SentimentScorer;

/// A labelled text: what it says, its gold label, and how much it weighs in training.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: Label,
    /// The human rating where there is one (VADER's mean, −4..4), else −1, 0 or 1 for the label.
    pub rating: f32,
    pub weight: f32,
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// The largest pull of the lexicon on the polar logits tried, in quarters.
    pub max_lexicon_pull_quarters: u8,
    /// Models trained on as many shuffles of the data, their weights averaged (1: one model).
    pub shuffles: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 6,
            learning_rate: 0.05,
            l2: 1e-6,
            max_lexicon_pull_quarters: 12,
            shuffles: 1,
        }
    }
}

fn class_of(l: Label) -> usize {
    match l {
        Label::Negative => 0,
        Label::Neutral => 1,
        Label::Positive => 2,
    }
}

/// An example as the model sees it: its features, its text's lexicon compound, its label, rating
/// and weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub features: Vec<u32>,
    pub lexicon: f32,
    pub label: Label,
    pub rating: f32,
    pub weight: f32,
}

/// Every example's features, as the analyser computes them for a message.
pub fn encode(examples: &[Example]) -> Vec<Encoded> {
    let scorer = SentimentScorer::new();
    examples
        .par_iter()
        .map(|e| {
            let lexicon = scorer.score(&e.text);
            let tf = super::TextFeatures::of(&e.text, &lexicon);
            let features = features(&lexicon, &tf);
            Encoded {
                features,
                lexicon: lexicon.compound,
                label: e.label,
                rating: e.rating,
                weight: e.weight,
            }
        })
        .collect()
}

/// Trains on `train`; the decision rule and the grading of polar scores are tuned on `dev`'s sets.
pub fn train(train: &[Encoded], dev: &[Vec<Encoded>], o: TrainOptions) -> SentimentModel {
    let n = o.shuffles.max(1);
    // Each shuffle's model in parallel, summed in a fixed order: the same data gives the same
    // average byte for byte.
    let models: Vec<Vec<f32>> = (0..n as u64)
        .into_par_iter()
        .map(|k| weights(train, o, 7 + k))
        .collect();
    let mut w = vec![0.0f32; BUCKETS * ROWS];
    for m in &models {
        for (a, b) in w.iter_mut().zip(m) {
            *a += b / n as f32;
        }
    }
    tune(&w, dev, o)
}

/// One model's weights: AdaGrad over `train` in the shuffles `seed` starts.
fn weights(train: &[Encoded], o: TrainOptions, seed: u64) -> Vec<f32> {
    let mut w = vec![0.0f32; BUCKETS * ROWS];
    let mut g2 = vec![1e-6f32; BUCKETS * ROWS];
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut state = seed;
    for _ in 0..o.epochs {
        crate::lcg::shuffle(&mut order, &mut state);
        for &k in &order {
            let f = &train[k].features;
            let mut z = [0.0f32; ROWS];
            for &i in f {
                let row = &w[i as usize * ROWS..i as usize * ROWS + ROWS];
                for c in 0..ROWS {
                    z[c] += row[c];
                }
            }
            let max = z.iter().fold(f32::MIN, |m, x| m.max(*x));
            let e = z.map(|x| (x - max).exp());
            let sum: f32 = e.iter().sum();
            let y = class_of(train[k].label);
            let g: [f32; ROWS] =
                std::array::from_fn(|c| (e[c] / sum - f32::from(c == y)) * train[k].weight);
            for &i in f {
                let base = i as usize * ROWS;
                for c in 0..ROWS {
                    let grad = g[c] + o.l2 * w[base + c];
                    g2[base + c] += grad * grad;
                    w[base + c] -= o.learning_rate * grad / g2[base + c].sqrt();
                }
            }
        }
    }
    w
}

/// A dev example as the rule reads it: its logits, its lexicon compound, its gold label.
type Scored = ([f32; ROWS], f32, Label);

/// The quantised model of weights `w`, its [`Rule`] tuned on `dev`.
fn tune(w: &[f32], dev: &[Vec<Encoded>], o: TrainOptions) -> SentimentModel {
    let m = SentimentModel::quantised(w);
    // Each dev example's logits and lexicon compound, as the runtime computes them.
    let dev_logits: Vec<Vec<Scored>> = dev
        .iter()
        .map(|set| {
            set.iter()
                .map(|e| (m.logits(&e.features), e.lexicon, e.label))
                .collect()
        })
        .collect();
    // The lexicon's pull on the polar logits, in quarters, and each polar bias in tenths: every
    // rule of the grid scored in parallel, the best taken in the grid's order (ties to the
    // first), so the choice does not depend on the threads.
    let base = Rule::default();
    let biases: Vec<f32> = (-20..=20).map(|i| i as f32 * 0.1).collect();
    let grid: Vec<Rule> = (0..=o.max_lexicon_pull_quarters)
        .flat_map(|q| {
            let biases = &biases;
            biases.iter().flat_map(move |&n| {
                biases.iter().map(move |&p| Rule {
                    pull: f32::from(q) * 0.25,
                    negative_bias: n,
                    positive_bias: p,
                    ..base
                })
            })
        })
        .collect();
    let scores: Vec<f64> = grid
        .par_iter()
        .map(|rule| {
            dev_logits
                .iter()
                .map(|set| {
                    let r = Figures::of(
                        set.iter()
                            .map(|(z, lex, gold)| (rule.label(*z, *lex), *gold)),
                    );
                    (r.macro_recall + r.macro_f1) / 2.0
                })
                .sum::<f64>()
                / dev_logits.len().max(1) as f64
        })
        .collect();
    let mut best = (f64::MIN, base);
    for (s, rule) in scores.iter().zip(&grid) {
        if *s > best.0 {
            best = (*s, *rule);
        }
    }
    // How much of the lexicon grades a polar score, and the logit lead that takes the model's
    // share most of the way: the best mean Pearson r with the ratings of the sets rated on a
    // scale (a label's -1/0/1 says nothing of how strong a text is).
    let rated: Vec<(&Vec<Scored>, Vec<f64>)> = dev_logits
        .iter()
        .zip(dev)
        .filter(|(_, set)| set.iter().any(|e| e.rating.fract() != 0.0))
        .map(|(l, set)| (l, set.iter().map(|e| f64::from(e.rating)).collect()))
        .collect();
    let mut graded = (f64::MIN, best.1);
    for k in 1..=8u8 {
        for share in 0..=10u8 {
            let rule = Rule {
                lexicon_share: f32::from(share) * 0.1,
                lead_scale: f32::from(k),
                ..best.1
            };
            let r = rated
                .iter()
                .map(|(set, y)| {
                    let x: Vec<f64> = set
                        .iter()
                        .map(|(z, lex, _)| f64::from(rule.reading(*z, *lex).compound))
                        .collect();
                    crate::sentiment::eval::pearson(&x, y)
                })
                .sum::<f64>()
                / rated.len().max(1) as f64;
            if r > graded.0 {
                graded = (r, rule);
            }
        }
    }
    m.with_rule(graded.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Example> {
        let mut out = Vec::new();
        for (i, (t, l)) in [
            ("the delivery was superb, thank you", Label::Positive),
            ("superb service from the team", Label::Positive),
            ("the app crashed and lost my order", Label::Negative),
            ("crashed again, lost an hour", Label::Negative),
            ("the store opens at nine", Label::Neutral),
            ("my order number is in the e-mail", Label::Neutral),
        ]
        .into_iter()
        .cycle()
        .take(60)
        .enumerate()
        {
            out.push(Example {
                text: format!("{t} {}", i % 7),
                label: l,
                rating: l.sign() as f32,
                weight: 1.0,
            });
        }
        out
    }

    #[test]
    fn averaged_shuffles_train_the_same_bytes_twice_and_learn_the_words() {
        let train_set = encode(&examples());
        let dev = vec![train_set.clone()];
        let o = TrainOptions {
            shuffles: 3,
            ..TrainOptions::default()
        };
        let a = train(&train_set, &dev, o);
        assert_eq!(a.to_bytes(), train(&train_set, &dev, o).to_bytes());
        // One shuffle is another model than the average of three.
        let one = train(&train_set, &dev, TrainOptions::default());
        assert_ne!(a.to_bytes(), one.to_bytes());
        let read = |t: &str| {
            let e = &encode(&[Example {
                text: t.into(),
                label: Label::Neutral,
                rating: 0.0,
                weight: 1.0,
            }])[0];
            a.read(&e.features, e.lexicon).compound
        };
        let (good, plain, bad) = (
            read("superb delivery"),
            read("the store opens"),
            read("the app crashed"),
        );
        assert!(good > plain && plain > bad, "{good} {plain} {bad}");
    }
}
