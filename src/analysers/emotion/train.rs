//! Training the model (`earshot train-emotions`): one-vs-rest logistic regression per head with
//! AdaGrad over the same [`features`] the runtime computes, deterministic, so the same data gives
//! the same model file byte for byte.

use super::*;

use crate::lcg::shuffle;

/// Trains one head with AdaGrad on (features, targets) pairs.
fn train_head(
    data: &[(Vec<u32>, Vec<bool>)],
    rows: usize,
    epochs: usize,
    lr: f32,
    l2: f32,
    seed: u64,
) -> Linear {
    let mut m = Linear::new(rows);
    let mut g2 = vec![1e-6f32; rows * BUCKETS];
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut state = seed;
    for _ in 0..epochs {
        shuffle(&mut order, &mut state);
        for &k in &order {
            let (f, y) = &data[k];
            let p = m.predict(f);
            for &i in f {
                let base = i as usize * rows;
                for r in 0..rows {
                    let g = p[r] - if y[r] { 1.0 } else { 0.0 };
                    let grad = g + l2 * m.weights[base + r];
                    g2[base + r] += grad * grad;
                    m.weights[base + r] -= lr * grad / g2[base + r].sqrt();
                }
            }
        }
    }
    m
}

/// Features and targets of each example.
type Encoded = Vec<(Vec<u32>, Vec<bool>)>;

/// Features (with the sentiment the runtime would give each text) and targets of the examples.
fn encode(examples: &[Example]) -> (Encoded, Encoded) {
    let scorer = SentimentScorer::new();
    let mut labels = Vec::with_capacity(examples.len());
    let mut ekman = Vec::with_capacity(examples.len());
    for (text, ids) in examples {
        let f = features(text, &scorer.score(text));
        let mut y = vec![false; LABELS.len()];
        let mut e = vec![false; EKMAN.len()];
        for &i in ids {
            y[i] = true;
            e[EKMAN_OF[i]] = true;
        }
        labels.push((f.clone(), y));
        ekman.push((f, e));
    }
    (labels, ekman)
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 8,
            learning_rate: 0.025,
            l2: 1e-6,
        }
    }
}

/// Trains on `train`, tunes thresholds on `dev`.
pub fn train(train: &[Example], dev: &[Example], o: TrainOptions) -> EmotionModel {
    let (tl, te) = encode(train);
    let labels = train_head(&tl, LABELS.len(), o.epochs, o.learning_rate, o.l2, 1);
    let ekman = train_head(&te, EKMAN.len(), o.epochs, o.learning_rate, o.l2, 2);
    EmotionModel::new(&labels, &ekman).tuned_on(dev)
}
