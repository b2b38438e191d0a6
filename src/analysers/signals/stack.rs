//! The second reading of the signal model (stacking): each output's probability read again, by a
//! small logistic regression over the first reading's log-odds of every output and what the
//! message targets.
//!
//! The first reading decides each label on its own words. Labels go together, though: a message
//! the model reads as a churn threat is rarely in the phase `usage`, a complaint in a ticket
//! carries its effort, a context told in a ticket is the writer's more often than one told in a
//! post. The second reading learns those relations from predictions the first one made on rows
//! it had not learnt from ([`super::train::train_across`]: the corpus's batches by batch, the
//! extra rows by writer), which is how it reads a new writer's message: trained on its own
//! training rows' readings, it would learn to trust a first reading that had memorised them.

use super::model::{sigmoid, Target, MOMENT, OUTPUTS};

/// The outputs read again: every one before the moment, which qualifies a life event and keeps its
/// first reading.
pub const STACKED: usize = MOMENT;

/// The inputs of each output read again: the first reading's log-odds of every output read again,
/// the three targets (a mention, a ticket, an addressed account) as 0 or 1, and a bias.
pub const INPUTS: usize = STACKED + 4;
const _: () = assert!(
    INPUTS.is_multiple_of(8),
    "the weights are summed in lanes of eight"
);

/// Log-odds beyond this (a probability under 1e-4 or over 1 − 1e-4) are read as this: a first
/// reading that sure says nothing more, and a bound keeps one output from swamping the rest.
const CLAMP: f32 = 9.21;

/// The L2 penalty on each output's weights (not on its bias), against the sum of the rows' log
/// losses: 1, as in the prototype that measured the gain (docs/analysis.md, "A second reading").
pub const RIDGE: f64 = 1.0;

/// The second reading's weights: [`INPUTS`] for each of the [`STACKED`] outputs, output-major
/// (`at`). (Input-major, summed over the outputs in vector lanes, took more instructions:
/// 2.47M against 1.74M for `examples/profile analyse 2`.)
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub(super) weights: Vec<f32>,
}

/// Where the weight of input `k` for output `o` is in [`Stack`]'s weights.
pub(super) const fn at(k: usize, o: usize) -> usize {
    o * INPUTS + k
}

/// The inputs of the second reading for a message whose first reading's log-odds are `z`.
fn inputs(z: &[f32; OUTPUTS], target: Target) -> [f32; INPUTS] {
    let mut x = [0.0f32; INPUTS];
    for (xi, zi) in x.iter_mut().zip(&z[..STACKED]) {
        *xi = zi.clamp(-CLAMP, CLAMP);
    }
    x[STACKED] = f32::from(u8::from(target.named()));
    x[STACKED + 1] = f32::from(u8::from(target.ticket));
    x[STACKED + 2] = f32::from(u8::from(target.addressed));
    x[STACKED + 3] = 1.0;
    x
}

impl Stack {
    /// The second reading that keeps the first: each output's weight on its own log-odds 1, every
    /// other weight 0 (a log-odds beyond the clamp is read as the clamp).
    pub fn identity() -> Stack {
        let mut weights = vec![0.0; STACKED * INPUTS];
        for o in 0..STACKED {
            weights[at(o, o)] = 1.0;
        }
        Stack { weights }
    }

    /// Every output's probability, from the first reading's log-odds `z`: the outputs read again
    /// through their weights, the moment as the first reading had it.
    pub fn probabilities(&self, z: &[f32; OUTPUTS], target: Target) -> [f32; OUTPUTS] {
        let x = inputs(z, target);
        let mut p = [0.0f32; OUTPUTS];
        let (rows, _) = self.weights.as_chunks::<INPUTS>();
        for (po, w) in p.iter_mut().zip(rows) {
            // Eight lanes summed apart, then together: a sum in one order can't be vectorised.
            let mut lanes = [0.0f32; 8];
            for (wc, xc) in w.chunks_exact(8).zip(x.chunks_exact(8)) {
                for ((l, a), b) in lanes.iter_mut().zip(wc).zip(xc) {
                    *l += a * b;
                }
            }
            *po = sigmoid(lanes.iter().sum());
        }
        for o in STACKED..OUTPUTS {
            p[o] = sigmoid(z[o]);
        }
        p
    }

    /// What carries a feature's first-reading weights into output `o`'s second reading, in a
    /// message whose first reading's log-odds are `z`: a coefficient for each output, so that the
    /// feature's share of `o`'s log-odds is the sum of its weight for each output times that
    /// output's coefficient. The coefficient is the second reading's weight on the output's
    /// log-odds; for an output whose log-odds lie beyond the clamp, that weight times the share
    /// of the log-odds the clamp keeps (`CLAMP / |z|`), so that the clamped input is shared out
    /// over the words that built it (the derivative there is 0, which would explain the surest
    /// labels by other labels' words alone). An output the second reading does not read again
    /// (the moment) carries the feature's own weight alone.
    pub fn through(&self, o: usize, z: &[f32; OUTPUTS]) -> [f32; OUTPUTS] {
        let mut c = [0.0f32; OUTPUTS];
        if o >= STACKED {
            c[o] = 1.0;
            return c;
        }
        for (k, ck) in c.iter_mut().enumerate().take(STACKED) {
            let kept = if z[k].abs() > CLAMP {
                CLAMP / z[k].abs()
            } else {
                1.0
            };
            *ck = self.weights[at(k, o)] * kept;
        }
        c
    }

    /// Learns the second reading from first readings (`z[k]`, the log-odds of row `k`, read by a
    /// model that did not learn from the row) and what the rows target. `label(k, o)` is the truth
    /// of output `o` for row `k`, or `None` where the row is not labelled for it. Each output is a
    /// logistic regression with an L2 penalty of [`RIDGE`], fitted by Newton's method in `f64`, in
    /// the rows' order: the same rows give the same weights, bit for bit. An output whose labelled
    /// rows are all one class, or whose fit does not settle, keeps its first reading.
    pub fn fit(
        z: &[[f32; OUTPUTS]],
        targets: &[Target],
        label: impl Fn(usize, usize) -> Option<bool>,
    ) -> Stack {
        let xs: Vec<[f64; INPUTS]> = z
            .iter()
            .zip(targets)
            .map(|(z, t)| inputs(z, *t).map(f64::from))
            .collect();
        // The sarcasm output reads the first readings and its bias, not the target inputs:
        // irony is a way of speaking, not a fact about the brand (`model::target_features`).
        // With those inputs zero its weights on them stay zero, so the stack needs no special
        // case at run time.
        let sarcasm = super::model::SARCASM;
        let untargeted: Vec<[f64; INPUTS]> = xs
            .iter()
            .map(|x| {
                let mut x = *x;
                x[STACKED..STACKED + 3].fill(0.0);
                x
            })
            .collect();
        let mut weights = Stack::identity().weights;
        for o in 0..STACKED {
            let read = if o == sarcasm { &untargeted } else { &xs };
            let rows: Vec<(&[f64; INPUTS], bool)> = read
                .iter()
                .enumerate()
                .filter_map(|(k, x)| label(k, o).map(|y| (x, y)))
                .collect();
            let positives = rows.iter().filter(|(_, y)| *y).count();
            if positives == 0 || positives == rows.len() {
                continue;
            }
            // A fit that did not settle, or whose weights don't fit an f32, keeps the first
            // reading: the model file would not load with a weight that is not a number.
            let Some(w) = newton(&rows).filter(|w| w.iter().all(|x| (*x as f32).is_finite()))
            else {
                continue;
            };
            for (k, from) in w.into_iter().enumerate() {
                weights[at(k, o)] = from as f32;
            }
        }
        Stack { weights }
    }
}

/// A penalised logistic regression by Newton's method: at most 50 steps, until no weight moves by
/// more than 1e-9; `None` if it does not get there (a step that can't be solved, a weight that is
/// not a number, or 50 steps).
fn newton(rows: &[(&[f64; INPUTS], bool)]) -> Option<[f64; INPUTS]> {
    let bias = INPUTS - 1;
    let mut w = [0.0f64; INPUTS];
    for _ in 0..50 {
        let mut g = [0.0f64; INPUTS];
        let mut h = [[0.0f64; INPUTS]; INPUTS];
        for k in 0..INPUTS {
            if k != bias {
                g[k] = RIDGE * w[k];
                h[k][k] = RIDGE;
            }
        }
        // The bias's own curvature can vanish when every row is read surely: keep it invertible.
        h[bias][bias] = 1e-9;
        for (x, y) in rows {
            let s: f64 = w.iter().zip(x.iter()).map(|(a, b)| a * b).sum();
            let p = 1.0 / (1.0 + (-s).exp());
            let r = p - f64::from(u8::from(*y));
            let c = p * (1.0 - p);
            for ((gi, hi), xi) in g.iter_mut().zip(h.iter_mut()).zip(x.iter()) {
                *gi += r * xi;
                if *xi == 0.0 {
                    continue;
                }
                let cx = c * xi;
                for (hij, xj) in hi.iter_mut().zip(x.iter()) {
                    *hij += cx * xj;
                }
            }
        }
        let step = solve(h, g)?;
        let mut moved = 0.0f64;
        for (wi, d) in w.iter_mut().zip(step) {
            *wi -= d;
            moved = moved.max(d.abs());
        }
        if !moved.is_finite() {
            return None;
        }
        if moved < 1e-9 {
            return Some(w);
        }
    }
    None
}

/// Solves `h d = g` for a symmetric positive definite `h` (Cholesky); `None` if `h` is not.
fn solve(h: [[f64; INPUTS]; INPUTS], g: [f64; INPUTS]) -> Option<[f64; INPUTS]> {
    let mut l = [[0.0f64; INPUTS]; INPUTS];
    for i in 0..INPUTS {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = h[i][i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (h[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = [0.0f64; INPUTS];
    for i in 0..INPUTS {
        let s: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
        y[i] = (g[i] - s) / l[i][i];
    }
    let mut d = [0.0f64; INPUTS];
    for i in (0..INPUTS).rev() {
        let s: f64 = (i + 1..INPUTS).map(|k| l[k][i] * d[k]).sum();
        d[i] = (y[i] - s) / l[i][i];
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGETED: Target = Target {
        mention: true,
        ticket: false,
        addressed: false,
        unlisted: false,
    };

    #[test]
    fn the_identity_keeps_the_first_reading() {
        let mut z = [0.0f32; OUTPUTS];
        for (o, v) in z.iter_mut().enumerate() {
            *v = o as f32 / 4.0 - 3.0;
        }
        let p = Stack::identity().probabilities(&z, TARGETED);
        for o in 0..OUTPUTS {
            assert!(
                (p[o] - sigmoid(z[o])).abs() < 1e-6,
                "{o}: {} {}",
                p[o],
                z[o]
            );
        }
    }

    #[test]
    fn a_label_is_learnt_from_another_output_s_first_reading() {
        // Output 0's truth follows output 9's first reading; output 0's own first reading is noise.
        let mut z = Vec::new();
        let mut truth = Vec::new();
        let mut state = 17u64;
        for k in 0..2000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let noise = ((state >> 40) % 1000) as f32 / 100.0 - 5.0;
            let mut row = [-4.0f32; OUTPUTS];
            let on = k % 3 == 0;
            row[9] = if on { 2.0 } else { -2.0 };
            row[0] = noise;
            z.push(row);
            truth.push(on);
        }
        let targets = vec![TARGETED; z.len()];
        let s = Stack::fit(&z, &targets, |k, o| (o == 0).then_some(truth[k]));
        let mut row = [-4.0f32; OUTPUTS];
        row[0] = 4.0;
        row[9] = -2.0;
        assert!(s.probabilities(&row, TARGETED)[0] < 0.2);
        row[0] = -4.0;
        row[9] = 2.0;
        assert!(s.probabilities(&row, TARGETED)[0] > 0.8);
        // Outputs with no labelled rows keep their first reading; so does the moment.
        for k in 0..INPUTS {
            assert_eq!(s.weights[at(k, 1)], Stack::identity().weights[at(k, 1)]);
        }
        let p = s.probabilities(&row, TARGETED);
        assert!((p[MOMENT] - sigmoid(row[MOMENT])).abs() < 1e-6);
        // The same rows, the same weights, bit for bit.
        let again = Stack::fit(&z, &targets, |k, o| (o == 0).then_some(truth[k]));
        assert_eq!(s, again);
    }

    #[test]
    fn what_the_message_targets_is_read_too() {
        // Output 3 is true exactly when the message is a ticket.
        let z = vec![[0.0f32; OUTPUTS]; 400];
        let targets: Vec<Target> = (0..400)
            .map(|k| Target {
                ticket: k % 2 == 0,
                ..Target::default()
            })
            .collect();
        let s = Stack::fit(&z, &targets, |k, o| (o == 3).then_some(k % 2 == 0));
        let ticket = Target {
            ticket: true,
            ..Target::default()
        };
        assert!(s.probabilities(&z[0], ticket)[3] > 0.9);
        assert!(s.probabilities(&z[0], Target::default())[3] < 0.1);
    }

    #[test]
    fn the_sarcasm_output_does_not_read_the_targets() {
        // Sarcasm is true exactly when the message names a brand; complaint (output 3) too.
        let sarcasm = super::super::model::family("sarcasm").start;
        let z = vec![[0.0f32; OUTPUTS]; 400];
        let named = Target {
            mention: true,
            ticket: true,
            addressed: true,
            unlisted: false,
        };
        let targets: Vec<Target> = (0..400)
            .map(|k| if k % 2 == 0 { named } else { Target::default() })
            .collect();
        let s = Stack::fit(&z, &targets, |k, o| {
            (o == 3 || o == sarcasm).then_some(k % 2 == 0)
        });
        assert!(s.probabilities(&z[0], named)[3] > 0.9);
        let (a, b) = (
            s.probabilities(&z[0], named)[sarcasm],
            s.probabilities(&z[0], Target::default())[sarcasm],
        );
        assert_eq!(a, b);
        assert!((a - 0.5).abs() < 1e-3, "{a}");
    }

    #[test]
    fn cholesky_solves_a_known_system() {
        let mut h = [[0.0f64; INPUTS]; INPUTS];
        let mut want = [0.0f64; INPUTS];
        for i in 0..INPUTS {
            h[i][i] = 2.0 + i as f64;
            want[i] = i as f64 - 7.0;
            if i > 0 {
                h[i][i - 1] = 0.5;
                h[i - 1][i] = 0.5;
            }
        }
        let g: [f64; INPUTS] =
            std::array::from_fn(|i| (0..INPUTS).map(|j| h[i][j] * want[j]).sum());
        let d = solve(h, g).unwrap();
        for i in 0..INPUTS {
            assert!((d[i] - want[i]).abs() < 1e-9, "{i}: {} {}", d[i], want[i]);
        }
        h[0][0] = -1.0;
        assert!(solve(h, g).is_none());
    }
}
