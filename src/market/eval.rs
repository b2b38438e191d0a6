//! Measuring the alerts (`earshot eval-alerts`): a generated stream with injected incidents.
//!
//! Each brand gets a base rate (2 to 80 messages an hour), a daily cycle (quiet nights, a busy
//! afternoon), quieter weekends, hour-to-hour swings beyond Poisson noise (a log-normal factor, as
//! real streams are burstier than Poisson) and its own usual negative share (15–35%). After three
//! quiet days, incidents are injected at random: a **volume** incident multiplies the rate by 3–8
//! for 1–4 hours; a **negative** incident raises the negative share to 65–90% (and the volume by
//! 1.2–2 times) for 2–6 hours. A few messages arrive up to two hours late.
//!
//! An incident is *detected* when its brand raises an alert whose window starts in the incident's
//! first window or the next one (within two windows). An alert whose window overlaps no incident of
//! its brand (nor the window after one) is *false*. Seeds are split: `dev` seeds tune the policy,
//! `test` seeds are never tuned on.

use chrono::DateTime;
use uuid::Uuid;

use super::alerts::Kind;
use super::heard::{About, Gram, Heard, Phrases, ThemeKind};
use super::{Market, Output, Policy};
use crate::types::Label;

/// Seeds the policy may be tuned on.
pub const DEV_SEEDS: [u64; 3] = [1, 2, 3];
/// Seeds never tuned on.
pub const TEST_SEEDS: [u64; 5] = [1001, 1002, 1003, 1004, 1005];

/// Days a generated stream covers.
pub const DAYS: i64 = 21;

/// Brands of a generated stream.
const BRANDS: usize = 10;

/// An injected incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub brand: String,
    pub kind: Kind,
    /// Seconds since the epoch.
    pub start: i64,
    pub end: i64,
}

/// SplitMix64: a small, fixed generator, so a seed gives the same stream everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u32;
        }
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }
}

/// Problems a generated complaint is about: an incident's own, or the everyday ones.
const EVERYDAY: [&str; 6] = ["bill", "app login", "delivery", "refund", "router", "wait"];
const INCIDENT: [&str; 3] = ["outage", "data breach", "price rise"];

fn message(
    rng: &mut Rng,
    brand: &str,
    at: i64,
    negative: bool,
    theme: &str,
    n: u64,
) -> Option<Heard> {
    let label = if negative {
        Label::Negative
    } else if rng.unit() < 0.5 {
        Label::Positive
    } else {
        Label::Neutral
    };
    let phrases = negative.then(|| {
        std::sync::Arc::new(Phrases {
            kind: ThemeKind::Complaint,
            grams: theme
                .split(' ')
                .map(|w| Gram {
                    key: w.to_string(),
                    label: w.to_string(),
                })
                .collect(),
            quote: format!("{brand}: {theme} again"),
        })
    });
    Some(Heard {
        insight: Uuid::from_u64_pair(n, at as u64),
        at: DateTime::from_timestamp(at, 0)?,
        customer: rng.next() % 50_000,
        segment: None,
        emotion: None,
        effort: None,
        about: vec![About {
            brand: brand.to_string(),
            product: None,
            line: None,
            competitor: false,
            at: 0,
            label: Some(label),
            compound: if negative { -0.6 } else { 0.3 },
            intents: u16::from(negative),
            phrases,
        }],
    })
}

/// A generated stream of `DAYS` days from `seed`, in arrival order, and its incidents.
pub fn generate(seed: u64) -> (Vec<Heard>, Vec<Incident>) {
    let mut rng = Rng(seed);
    // Monday 2026-11-02 00:00 UTC.
    let origin = 1_793_577_600i64;
    let mut stream: Vec<(i64, Heard)> = Vec::new();
    let mut incidents = Vec::new();
    let mut n = 0u64;
    for b in 0..BRANDS {
        let brand = format!("brand{b:02}");
        let rate = (rng.range(2f64.ln(), 80f64.ln())).exp();
        let usual_negative = rng.range(0.15, 0.35);
        // Incidents of this brand, at most one a day, after three quiet days.
        let mut own = Vec::new();
        for day in 3..DAYS {
            if rng.unit() < 0.25 {
                let hour = (rng.unit() * 24.0) as i64;
                let start = origin + day * 86_400 + hour * 3_600;
                let (kind, hours) = if rng.unit() < 0.5 {
                    (Kind::VolumeSpike, 1 + (rng.unit() * 4.0) as i64)
                } else {
                    (Kind::NegativeSpike, 2 + (rng.unit() * 5.0) as i64)
                };
                own.push((
                    Incident {
                        brand: brand.clone(),
                        kind,
                        start,
                        end: start + hours * 3_600,
                    },
                    rng.range(3.0, 8.0),
                    rng.range(0.65, 0.9),
                    rng.range(1.2, 2.0),
                    INCIDENT[(rng.unit() * INCIDENT.len() as f64) as usize],
                ));
            }
        }
        for hour in 0..DAYS * 24 {
            let t = origin + hour * 3_600;
            let h = (hour % 24) as f64;
            let daily = 0.3 + 0.7 * (std::f64::consts::PI * (h - 6.0) / 16.0).sin().max(0.0);
            let weekly = if (hour / 24) % 7 >= 5 { 0.75 } else { 1.0 };
            let swing = (0.25 * rng.normal()).exp();
            let mut lambda = rate * daily * weekly * swing;
            let mut negative = usual_negative;
            let mut theme = None;
            for (i, times, share, more, name) in &own {
                if t >= i.start && t < i.end {
                    theme = Some(*name);
                    match i.kind {
                        Kind::VolumeSpike => lambda *= times,
                        Kind::NegativeSpike => {
                            lambda *= more;
                            negative = *share;
                        }
                    }
                }
            }
            for _ in 0..rng.poisson(lambda) {
                let at = t + (rng.unit() * 3_600.0) as i64;
                let neg = rng.unit() < negative;
                let everyday = EVERYDAY[(rng.unit() * EVERYDAY.len() as f64) as usize];
                let about = match theme {
                    Some(name) if rng.unit() < 0.7 => name,
                    _ => everyday,
                };
                // One message in a hundred arrives up to two hours late.
                let arrives = if rng.unit() < 0.01 {
                    at + (rng.unit() * 7_200.0) as i64
                } else {
                    at + (rng.unit() * 60.0) as i64
                };
                n += 1;
                if let Some(m) = message(&mut rng, &brand, at, neg, about, n) {
                    stream.push((arrives, m));
                }
            }
        }
        incidents.extend(own.into_iter().map(|o| o.0));
    }
    stream.sort_by_key(|(arrives, m)| (*arrives, m.insight));
    (stream.into_iter().map(|(_, m)| m).collect(), incidents)
}

/// What one or more generated streams gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub incidents: u32,
    pub detected: u32,
    /// Incidents with at least `min_volume` messages in one of their first two windows: what a
    /// rule that needs that many can see at all.
    pub detectable: u32,
    pub detectable_detected: u32,
    pub volume_incidents: u32,
    pub volume_detected: u32,
    pub negative_incidents: u32,
    pub negative_detected: u32,
    pub alerts: u32,
    pub false_alerts: u32,
    /// False alerts that were volume spikes (the rest were negative spikes).
    pub false_volume: u32,
    pub days: f64,
    pub messages: u64,
}

impl Figures {
    pub fn detected_share(&self) -> f64 {
        f64::from(self.detected) / f64::from(self.incidents.max(1))
    }

    pub fn false_per_day(&self) -> f64 {
        f64::from(self.false_alerts) / self.days.max(1.0)
    }

    fn add(&mut self, o: &Figures) {
        self.incidents += o.incidents;
        self.detected += o.detected;
        self.detectable += o.detectable;
        self.detectable_detected += o.detectable_detected;
        self.volume_incidents += o.volume_incidents;
        self.volume_detected += o.volume_detected;
        self.negative_incidents += o.negative_incidents;
        self.negative_detected += o.negative_detected;
        self.alerts += o.alerts;
        self.false_alerts += o.false_alerts;
        self.false_volume += o.false_volume;
        self.days += o.days;
        self.messages += o.messages;
    }
}

/// Runs the market view with `policy` over the stream of each seed and scores its alerts.
pub fn evaluate(policy: &Policy, seeds: &[u64]) -> Figures {
    let mut all = Figures::default();
    for &seed in seeds {
        let (stream, incidents) = generate(seed);
        let mut market = Market::new(policy.clone());
        let mut alerts = Vec::new();
        let mut take = |out: Vec<Output>| {
            alerts.extend(out.into_iter().filter_map(|o| match o {
                Output::Alert(a) => Some(a),
                Output::Trend(_) => None,
            }))
        };
        for h in &stream {
            take(market.observe_heard(h, |_| String::new()));
        }
        take(market.finish());
        let size = i64::from(policy.alert_size());
        let mut f = Figures {
            days: DAYS as f64,
            messages: stream.len() as u64,
            alerts: alerts.len() as u32,
            incidents: incidents.len() as u32,
            ..Figures::default()
        };
        for i in &incidents {
            let first = i.start.div_euclid(size) * size;
            let hit = alerts.iter().any(|a| {
                let s = a.window.start.timestamp();
                a.brand == i.brand && s >= first && s <= first + size
            });
            f.detected += u32::from(hit);
            let in_window = |w: i64| {
                stream
                    .iter()
                    .filter(|h| {
                        let t = h.at.timestamp();
                        h.about.iter().any(|a| a.brand == i.brand) && t >= w && t < w + size
                    })
                    .count()
            };
            let min = policy.alerts.min_volume as usize;
            if in_window(first) >= min || in_window(first + size) >= min {
                f.detectable += 1;
                f.detectable_detected += u32::from(hit);
            }
            match i.kind {
                Kind::VolumeSpike => {
                    f.volume_incidents += 1;
                    f.volume_detected += u32::from(hit);
                }
                Kind::NegativeSpike => {
                    f.negative_incidents += 1;
                    f.negative_detected += u32::from(hit);
                }
            }
        }
        let false_alerts: Vec<_> = alerts
            .iter()
            .filter(|a| {
                let s = a.window.start.timestamp();
                !incidents
                    .iter()
                    .any(|i| i.brand == a.brand && s + size > i.start && s < i.end + size)
            })
            .collect();
        f.false_alerts = false_alerts.len() as u32;
        f.false_volume = false_alerts
            .iter()
            .filter(|a| a.kind == Kind::VolumeSpike)
            .count() as u32;
        all.add(&f);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_stream() {
        let (a, ia) = generate(7);
        let (b, ib) = generate(7);
        assert_eq!(a, b);
        assert_eq!(ia, ib);
        assert!(!ia.is_empty());
        assert!(a.len() > 10_000, "{}", a.len());
        let (c, _) = generate(8);
        assert_ne!(a.len(), c.len());
    }
}
