//! A hidden layer beside the signal model's linear first reading: the message's hashed features
//! summed into [`Hidden::units`] ReLU units (an embedding bag, as fastText reads a text), whose
//! activations add to every output's log-odds. A linear model weighs each word alone; the layer
//! can read words together ("not" with "again", a context word with a complaint). On writers the
//! model had not read, 128 units gained 0.004 to 0.0055 of the four families' mean micro-F1 and
//! cost the analyser a quarter of its speed, so the shipped models have none (docs/analysis.md,
//! "A hidden layer in earshot").
//!
//! The layer never reads what a message targets ([`super::model::target_features`]): the linear
//! part and the second reading do, and the sarcasm output must not (see there).

use super::model::{quantise_columns, target_features, u32_at, ModelError, BUCKETS, OUTPUTS};

/// The layer's section of a model file, after the second reading's and before the untargeted
/// sarcasm threshold's: this tag, the units (`u32`), then as `f32` every unit's scale, every
/// unit's bias and the outputs' weights on the units (output-major), then the table (`i8`,
/// feature-major). A build before the layer rejects a file with this section.
pub const MAGIC: &[u8; 4] = b"HID1";

/// The most units a model file may have (a bound on what a damaged file makes us allocate).
const MOST_UNITS: usize = 1024;

/// The hidden layer as it ships: a table of i8 rows, feature-major (`table[feature * units +
/// unit]`), one scale per unit; the units' biases; and each output's weights on the units,
/// output-major (`out[output * units + unit]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Hidden {
    pub(super) units: usize,
    pub(super) table: Vec<i8>,
    pub(super) scales: Vec<f32>,
    pub(super) bias: Vec<f32>,
    pub(super) out: Vec<f32>,
    /// The target features, which the layer does not read.
    blind: [u32; 9],
}

impl Hidden {
    /// Quantises a trained layer: `table` feature-major, `out` output-major.
    pub fn quantised(units: usize, table: &[f32], bias: &[f32], out: &[f32]) -> Hidden {
        let (table, scales) = quantise_columns(table, units);
        Hidden {
            units,
            table,
            scales,
            bias: bias.to_vec(),
            out: out.to_vec(),
            blind: target_features(),
        }
    }

    /// Appends the layer's section ([`MAGIC`]) to `b`.
    pub fn write(&self, b: &mut Vec<u8>) {
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(self.units as u32).to_le_bytes());
        for x in self.scales.iter().chain(&self.bias).chain(&self.out) {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b.extend(self.table.iter().map(|w| *w as u8));
    }

    /// The layer's section at the start of `b`, and what follows it.
    pub fn from_bytes(b: &[u8]) -> Result<(Hidden, &[u8]), ModelError> {
        let bad = |m: &str| ModelError::new(m.to_string());
        let rest = b
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("not a hidden layer"))?;
        let units = u32_at(rest, 0)
            .map(|u| u as usize)
            .filter(|u| (1..=MOST_UNITS).contains(u))
            .ok_or_else(|| bad("a hidden layer of no units or too many"))?;
        let floats = units * (2 + OUTPUTS);
        let size = 4 * floats + BUCKETS * units;
        let body = rest
            .get(4..4 + size)
            .ok_or_else(|| bad("a hidden layer of the wrong size"))?;
        let (f, table) = body.split_at(4 * floats);
        let f: Vec<f32> = f
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if f.iter().any(|x| !x.is_finite()) {
            return Err(bad("a hidden layer with a weight that is not a number"));
        }
        let hidden = Hidden {
            units,
            table: table.iter().map(|x| *x as i8).collect(),
            scales: f[..units].to_vec(),
            bias: f[units..2 * units].to_vec(),
            out: f[2 * units..].to_vec(),
            blind: target_features(),
        };
        Ok((hidden, &rest[4 + size..]))
    }

    /// The units' activations for a message's features.
    pub fn activations(&self, feats: &[u32]) -> Vec<f32> {
        let h = self.units;
        let mut acc = vec![0i32; h];
        let mut part = vec![0i16; h];
        for chunk in feats.chunks(256) {
            part.iter_mut().for_each(|p| *p = 0);
            for &f in chunk {
                if self.blind.contains(&f) {
                    continue;
                }
                let base = f as usize * h;
                if let Some(row) = self.table.get(base..base + h) {
                    for (a, w) in part.iter_mut().zip(row) {
                        *a += i16::from(*w);
                    }
                }
            }
            for (a, p) in acc.iter_mut().zip(&part) {
                *a += i32::from(*p);
            }
        }
        acc.iter()
            .zip(&self.scales)
            .zip(&self.bias)
            .map(|((a, s), b)| (*a as f32 * s + b).max(0.0))
            .collect()
    }

    /// Adds the layer's share of every output's log-odds to `z`.
    pub fn add_logits(&self, feats: &[u32], z: &mut [f32; OUTPUTS]) {
        let a = self.activations(feats);
        for (o, zo) in z.iter_mut().enumerate() {
            let w = &self.out[o * self.units..][..self.units];
            *zo += w.iter().zip(&a).map(|(w, a)| w * a).sum::<f32>();
        }
    }
}

impl Hidden {
    /// Each unit's coefficient for [`Self::weigh`], for the outputs weighed by `c` (how much each
    /// output's log-odds counts), in a message whose features are `feats`: the units it turns on
    /// carry their weights on the outputs; the others carry nothing.
    pub fn through(&self, c: &[f32; OUTPUTS], feats: &[u32]) -> Vec<f32> {
        let a = self.activations(feats);
        (0..self.units)
            .map(|j| {
                if a[j] <= 0.0 {
                    return 0.0;
                }
                let w: f32 = (0..OUTPUTS)
                    .map(|o| c[o] * self.out[o * self.units + j])
                    .sum();
                w * self.scales[j]
            })
            .collect()
    }

    /// What bucket `feature` adds, through the units, to the outputs [`Self::through`] weighed.
    pub fn weigh(&self, u: &[f32], feature: u32) -> f32 {
        if self.blind.contains(&feature) {
            return 0.0;
        }
        let base = feature as usize * self.units;
        self.table.get(base..base + self.units).map_or(0.0, |row| {
            row.iter().zip(u).map(|(w, uj)| f32::from(*w) * uj).sum()
        })
    }
}

/// The layer as it trains: f32 parameters and AdaGrad's sums of squares.
pub(super) struct Trainer {
    pub units: usize,
    pub table: Vec<f32>,
    pub bias: Vec<f32>,
    pub out: Vec<f32>,
    table2: Vec<f32>,
    bias2: Vec<f32>,
    out2: Vec<f32>,
    blind: [u32; 9],
    /// The last forward pass's pre-activations.
    pre: Vec<f32>,
}

impl Trainer {
    /// A layer of `units` with small random weights (from `seed`, not the order's: models trained
    /// in several orders and averaged start from one layer).
    pub fn new(units: usize, seed: u64) -> Trainer {
        let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
        let mut uniform = move |scale: f32| {
            let r = crate::lcg::next(&mut state) as f32 / (1u64 << 31) as f32;
            (2.0 * r - 1.0) * scale
        };
        let table = (0..BUCKETS * units).map(|_| uniform(0.01)).collect();
        let spread = (6.0 / (units + OUTPUTS) as f32).sqrt();
        let out = (0..OUTPUTS * units).map(|_| uniform(spread)).collect();
        Trainer {
            units,
            table,
            bias: vec![0.1; units],
            out,
            table2: vec![1e-6; BUCKETS * units],
            bias2: vec![1e-6; units],
            out2: vec![1e-6; OUTPUTS * units],
            blind: target_features(),
            pre: vec![0.0; units],
        }
    }

    /// Adds the layer's share of the log-odds of `feats` to `z`, keeping what
    /// [`Self::backward`] needs.
    pub fn forward(&mut self, feats: &[u32], z: &mut [f32; OUTPUTS]) {
        let h = self.units;
        self.pre.copy_from_slice(&self.bias);
        for &f in feats {
            if self.blind.contains(&f) {
                continue;
            }
            let row = &self.table[f as usize * h..][..h];
            for (p, w) in self.pre.iter_mut().zip(row) {
                *p += w;
            }
        }
        for (o, zo) in z.iter_mut().enumerate() {
            let w = &self.out[o * h..][..h];
            *zo += w
                .iter()
                .zip(&self.pre)
                .map(|(w, p)| w * p.max(0.0))
                .sum::<f32>();
        }
    }

    /// One AdaGrad step from the gradient `d` of the loss on each output's log-odds.
    pub fn backward(&mut self, feats: &[u32], d: &[f32; OUTPUTS], rate: f32, l2: f32) {
        let h = self.units;
        let mut da = vec![0.0f32; h];
        for (o, dout) in d.iter().enumerate() {
            if *dout == 0.0 {
                continue;
            }
            let w = &mut self.out[o * h..][..h];
            let w2 = &mut self.out2[o * h..][..h];
            for (((w, w2), pre), da) in w.iter_mut().zip(w2).zip(&self.pre).zip(&mut da) {
                if *pre > 0.0 {
                    *da += dout * *w;
                }
                let g = dout * pre.max(0.0) + l2 * *w;
                *w2 += g * g;
                *w -= rate * g / w2.sqrt();
            }
        }
        for ((b, b2), g) in self.bias.iter_mut().zip(&mut self.bias2).zip(&da) {
            *b2 += g * g;
            *b -= rate * g / b2.sqrt();
        }
        if da.iter().all(|g| *g == 0.0) {
            return;
        }
        for &f in feats {
            if self.blind.contains(&f) {
                continue;
            }
            let base = f as usize * h;
            let row = &mut self.table[base..][..h];
            let row2 = &mut self.table2[base..][..h];
            for ((w, w2), da) in row.iter_mut().zip(row2).zip(&da) {
                if *da == 0.0 {
                    continue;
                }
                let g = da + l2 * *w;
                *w2 += g * g;
                *w -= rate * g / w2.sqrt();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trains a layer alone on rows of features whose label is `truth`, and returns it quantised.
    fn trained(rows: &[(Vec<u32>, bool)], units: usize, out: usize) -> Hidden {
        let mut t = Trainer::new(units, 7);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let mut state = 1;
        for _ in 0..400 {
            crate::lcg::shuffle(&mut order, &mut state);
            for &k in &order {
                let (feats, truth) = &rows[k];
                let mut z = [0.0f32; OUTPUTS];
                t.forward(feats, &mut z);
                let mut d = [0.0f32; OUTPUTS];
                d[out] = super::super::model::sigmoid(z[out]) - f32::from(u8::from(*truth));
                t.backward(feats, &d, 0.02, 0.0);
            }
        }
        Hidden::quantised(t.units, &t.table, &t.bias, &t.out)
    }

    fn logit(h: &Hidden, feats: &[u32], out: usize) -> f32 {
        let mut z = [0.0f32; OUTPUTS];
        h.add_logits(feats, &mut z);
        z[out]
    }

    /// Words 11 and 12, each on a row that is the label, together on one that is not; word 13
    /// on every row. No weight per word fits that.
    const A: u32 = 11;
    const ALWAYS: u32 = 13;
    fn two_words() -> Vec<(Vec<u32>, bool)> {
        let b = 12;
        vec![
            (vec![ALWAYS], false),
            (vec![ALWAYS, A], true),
            (vec![ALWAYS, b], true),
            (vec![ALWAYS, A, b], false),
        ]
    }

    #[test]
    fn learns_words_that_count_together_which_a_linear_model_cannot() {
        let rows = two_words();
        let h = trained(&rows, 64, 3);
        for (feats, truth) in &rows {
            let z = logit(&h, feats, 3);
            assert_eq!(z > 0.0, *truth, "{feats:?} read {z}");
        }
        // The other outputs were never taught and stay near their start.
        assert!(logit(&h, &[ALWAYS, A], 4).abs() < 1.0);
    }

    #[test]
    fn a_layer_round_trips_and_a_damaged_one_is_refused() {
        let h = trained(&[(vec![1], true), (vec![2], false)], 3, 0);
        let mut b = Vec::new();
        h.write(&mut b);
        b.extend_from_slice(b"next");
        let (back, rest) = Hidden::from_bytes(&b).unwrap();
        assert_eq!(back, h);
        assert_eq!(rest, b"next");
        assert!(Hidden::from_bytes(&b[..b.len() - 10]).is_err());
        let mut none = b.clone();
        none[4..8].copy_from_slice(&0u32.to_le_bytes());
        assert!(Hidden::from_bytes(&none).is_err());
        let mut nan = b.clone();
        nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Hidden::from_bytes(&nan).is_err());
    }

    #[test]
    fn a_message_s_log_odds_are_its_words_weighed_through_the_units_plus_their_biases() {
        let rows = two_words();
        let h = trained(&rows, 8, 3);
        let mut c = [0.0f32; OUTPUTS];
        c[3] = 1.0;
        for (feats, _) in &rows {
            let u = h.through(&c, feats);
            let act = h.activations(feats);
            let biases: f32 = (0..h.units)
                .filter(|j| act[*j] > 0.0)
                .map(|j| h.out[3 * h.units + j] * h.bias[j])
                .sum();
            let words: f32 = feats.iter().map(|f| h.weigh(&u, *f)).sum();
            let z = logit(&h, feats, 3);
            assert!(
                (words + biases - z).abs() < 1e-3,
                "{feats:?}: {words} + {biases} vs {z}"
            );
        }
        // A word the message does not hold still weighs through the units it turns on; a target
        // feature weighs nothing.
        let u = h.through(&c, &[ALWAYS, A]);
        assert!(u.iter().any(|x| *x != 0.0));
        assert_ne!(h.weigh(&u, 12), 0.0);
        assert_eq!(h.weigh(&u, target_features()[0]), 0.0);
    }

    #[test]
    fn never_learns_what_a_message_targets() {
        let targets = target_features();
        let rows_of = |t: &Trainer| -> Vec<Vec<f32>> {
            targets
                .iter()
                .map(|f| t.table[*f as usize * t.units..][..t.units].to_vec())
                .collect()
        };
        let mut t = Trainer::new(4, 7);
        let before = rows_of(&t);
        let mut feats = vec![21];
        feats.extend(targets);
        for _ in 0..20 {
            let mut z = [0.0f32; OUTPUTS];
            t.forward(&feats, &mut z);
            let mut d = [0.0f32; OUTPUTS];
            d[0] = super::super::model::sigmoid(z[0]) - 1.0;
            t.backward(&feats, &d, 0.05, 0.0);
        }
        assert_eq!(rows_of(&t), before);
        // Feature 21's row learnt.
        assert_ne!(t.table[21 * 4], Trainer::new(4, 7).table[21 * 4]);
    }

    #[test]
    fn never_reads_what_a_message_targets() {
        let rows = vec![(vec![21], true), (vec![22], false)];
        let h = trained(&rows, 4, 0);
        let mut with = vec![21];
        with.extend(target_features());
        assert_eq!(h.activations(&[21]), h.activations(&with));
        // The layer's table is a row per bucket: a bucket beyond it reads nothing.
        assert_eq!(h.activations(&[]), h.activations(&[BUCKETS as u32 + 5]));
    }
}
