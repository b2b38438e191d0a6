//! Spike and crisis alerts (`schemas/alert.v1.json`): a brand's or product's volume, or its
//! negative share, far above its baseline in a closing window.
//!
//! **Baseline.** Seasonal: the same time of day (of the week, for windows of a day or more) on up
//! to seven earlier days, at least three of them. Windows shorter than a day alert only once that
//! history exists (three days: before that, a morning would read as a spike on the night); windows
//! of a day or more without it use the last 24 windows, at least six. Windows without a message
//! count as zero once a series has begun. The volume's baseline is the median, its spread the scaled
//! median absolute deviation and the median's Poisson noise together; a past incident in the
//! history moves neither much. The negative share's baseline is the negative share of the baseline windows together, with
//! the binomial spread of this window's count.
//!
//! **Rule.** A volume spike: at least `min_volume` messages, at least `min_ratio` times the
//! baseline, and `z_volume` spreads above it. A negative spike: at least `min_volume` read
//! messages, a negative share at least `min_negative_rise` above the baseline's and `z_negative`
//! binomial spreads above it. Severity grows with the score over its threshold: under 1.5 low,
//! under 2.5 medium, under 4 high, then critical. The defaults were chosen on the dev seeds of
//! `earshot eval-alerts`.
//!
//! **Fatigue.** After an alert of a kind, the same key raises that kind again within
//! `cooldown_windows` only when its severity rises (an escalation); a brand (its products included)
//! raises at most `max_per_hour` alerts per hour of event time. What is held back is counted.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::themes::{Quote, Theme};
use super::{Dimension, Span, Trend};
pub use crate::memory::Severity;

/// Value of the `schema` field of every alert event of this version.
pub const SCHEMA: &str = "earshot.alert.v1";

/// The alert rules' settings (`[market.alerts]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// The window size checked (one of `market.window_seconds`); default the smallest.
    pub window_seconds: Option<u32>,
    /// Spreads above the baseline a volume spike needs.
    pub z_volume: f64,
    /// Binomial spreads above the baseline's negative share a negative spike needs.
    pub z_negative: f64,
    pub min_volume: u32,
    pub min_ratio: f64,
    pub min_negative_rise: f64,
    pub cooldown_windows: u32,
    pub max_per_hour: u32,
    /// Days of history kept per key (windows of a day or more keep three weeks at least).
    pub history_days: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            window_seconds: None,
            z_volume: 5.0,
            z_negative: 4.0,
            min_volume: 10,
            min_ratio: 2.0,
            min_negative_rise: 0.2,
            cooldown_windows: 6,
            max_per_hour: 3,
            history_days: 8,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    VolumeSpike,
    NegativeSpike,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The same time of day (or week) on earlier days.
    Seasonal,
    /// The windows just before.
    Recent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub volume: u32,
    pub negative_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub method: Method,
    /// Windows it was made of.
    pub windows: u32,
    pub volume: f64,
    pub negative_share: f64,
}

/// An alert event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub schema: String,
    pub id: Uuid,
    pub kind: Kind,
    pub dimension: Dimension,
    pub key: String,
    pub brand: String,
    pub competitor: bool,
    pub window: Span,
    /// The trend event's `window_id` of the window that raised it.
    pub window_id: Uuid,
    pub severity: Severity,
    /// Raised inside the cooldown of an earlier alert of the same kind because severity rose.
    pub escalation: bool,
    /// Spreads above the baseline.
    pub score: f64,
    pub observed: Observed,
    pub baseline: Baseline,
    /// One sentence for a person.
    pub reason: String,
    /// The window's themes: what drives it.
    pub themes: Vec<Theme>,
    /// The window's most negative messages.
    pub quotes: Vec<Quote>,
}

/// One closed window of a series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Point {
    volume: u32,
    negative: u32,
    read: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Series {
    first: i64,
    points: BTreeMap<i64, Point>,
    /// Per kind: cooldown end (window start, seconds) and the severity last raised.
    last: HashMap<Kind, (i64, Severity)>,
}

/// The alert rules over the closing windows of one size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detector {
    /// Set again from the configuration when a stored detector is read back.
    #[serde(skip)]
    policy: Policy,
    #[serde(skip)]
    size: u32,
    series: HashMap<(Dimension, String), Series>,
    /// Per brand: the window starts of its alerts in the last hour.
    fired: HashMap<String, VecDeque<i64>>,
    held_back: u64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn severity(score_over_z: f64) -> Severity {
    if score_over_z < 1.5 {
        Severity::Low
    } else if score_over_z < 2.5 {
        Severity::Medium
    } else if score_over_z < 4.0 {
        Severity::High
    } else {
        Severity::Critical
    }
}

impl Detector {
    pub fn new(policy: Policy, size: u32) -> Detector {
        Detector {
            policy,
            size: size.max(1),
            series: HashMap::new(),
            fired: HashMap::new(),
            held_back: 0,
        }
    }

    /// A stored detector read back: the configuration's policy and size again.
    pub fn configure(&mut self, policy: Policy, size: u32) {
        self.policy = policy;
        self.size = size.max(1);
    }

    /// Alerts a rule raised but fatigue held back.
    pub fn held_back(&self) -> u64 {
        self.held_back
    }

    /// How far back a series keeps its windows: `history_days`, and at least three seasons and a
    /// window (the seasonal baseline's three earlier days, or weeks for windows of a day or more).
    fn span(&self) -> i64 {
        let size = i64::from(self.size);
        let season: i64 = if size < 86_400 { 86_400 } else { 7 * 86_400 };
        (i64::from(self.policy.history_days) * 86_400).max(3 * season + size)
    }

    /// A corrected window: its point, when the series still has it, takes the new figures.
    pub fn revise(&mut self, t: &Trend) {
        let start = t.window.start.timestamp();
        if let Some(s) = self.series.get_mut(&(t.dimension, t.key.clone())) {
            if let Some(p) = s.points.get_mut(&start) {
                *p = Point {
                    volume: t.volume,
                    negative: t.sentiment.negative,
                    read: t.sentiment.positive + t.sentiment.neutral + t.sentiment.negative,
                };
            }
        }
    }

    /// The baseline windows before `start`: seasonal if it can be, else recent. A window before the
    /// series began or before the history kept is missing, not zero.
    fn baseline(&self, s: &Series, start: i64) -> Option<(Method, Vec<Point>)> {
        let size = i64::from(self.size);
        let season: i64 = if size < 86_400 { 86_400 } else { 7 * 86_400 };
        let from = s.first.max(start - self.span());
        let at = |t: i64| (t >= from).then(|| s.points.get(&t).copied().unwrap_or_default());
        // Seasonal only when windows fall on the same time each season.
        if season % size == 0 {
            let seasonal: Vec<Point> = (1..=7).filter_map(|k| at(start - k * season)).collect();
            if seasonal.len() >= 3 {
                return Some((Method::Seasonal, seasonal));
            }
        }
        // A day's cycle is no spike: windows shorter than a day wait for the seasonal baseline.
        if size < 86_400 {
            return None;
        }
        let recent: Vec<Point> = (1..=24).filter_map(|k| at(start - k * size)).collect();
        (recent.len() >= 6).then_some((Method::Recent, recent))
    }

    /// Checks a closing window (revision 0 of a trend of the detector's size), with the window's
    /// most negative quotes; returns what it raises.
    pub fn check(&mut self, t: &Trend, quotes: Vec<Quote>) -> Vec<Alert> {
        let start = t.window.start.timestamp();
        let size = i64::from(self.size);
        let read = t.sentiment.positive + t.sentiment.neutral + t.sentiment.negative;
        let now = Point {
            volume: t.volume,
            negative: t.sentiment.negative,
            read,
        };
        let key = (t.dimension, t.key.clone());
        let mut s = self.series.remove(&key).unwrap_or(Series {
            first: start,
            ..Series::default()
        });
        let mut raised = Vec::new();
        if let Some((method, base)) = self.baseline(&s, start) {
            let p = &self.policy;
            let mut volumes: Vec<f64> = base.iter().map(|b| f64::from(b.volume)).collect();
            let m = median(&mut volumes);
            let mut dev: Vec<f64> = volumes.iter().map(|v| (v - m).abs()).collect();
            // The windows' own spread beside a count's Poisson noise.
            let spread = ((1.4826 * median(&mut dev)).powi(2) + m.max(1.0)).sqrt();
            let x = f64::from(now.volume);
            let z_volume = (x - m) / spread;
            let (neg, rd) = base
                .iter()
                .fold((0u32, 0u32), |(n, r), b| (n + b.negative, r + b.read));
            let p0 = (f64::from(neg) / f64::from(rd.max(1))).clamp(0.05, 0.95);
            let share = f64::from(now.negative) / f64::from(now.read.max(1));
            let z_negative = (share - p0) / (p0 * (1.0 - p0) / f64::from(now.read.max(1))).sqrt();
            let baseline = Baseline {
                method,
                windows: base.len() as u32,
                volume: m,
                negative_share: p0,
            };
            let mut candidates = Vec::new();
            if now.volume >= p.min_volume && x >= p.min_ratio * m.max(1.0) && z_volume >= p.z_volume
            {
                candidates.push((
                    Kind::VolumeSpike,
                    z_volume,
                    p.z_volume,
                    format!(
                        "{} messages about {} in the window, {:.1} times the usual {:.0}",
                        now.volume,
                        t.key,
                        x / m.max(1.0),
                        m
                    ),
                ));
            }
            if now.read >= p.min_volume
                && rd >= p.min_volume
                && share - p0 >= p.min_negative_rise
                && z_negative >= p.z_negative
            {
                candidates.push((
                    Kind::NegativeSpike,
                    z_negative,
                    p.z_negative,
                    format!(
                        "{:.0}% of {} messages about {} negative, against {:.0}% usually",
                        100.0 * share,
                        now.read,
                        t.key,
                        100.0 * p0
                    ),
                ));
            }
            for (kind, score, z, reason) in candidates {
                let sev = severity(score / z);
                let escalation = match s.last.get(&kind) {
                    Some(&(until, last)) if start < until => {
                        if sev <= last {
                            self.held_back += 1;
                            continue;
                        }
                        true
                    }
                    _ => false,
                };
                let fired = self.fired.entry(t.brand.clone()).or_default();
                while fired.front().is_some_and(|&f| f <= start - 3_600) {
                    fired.pop_front();
                }
                if fired.len() >= p.max_per_hour as usize {
                    self.held_back += 1;
                    continue;
                }
                fired.push_back(start);
                s.last
                    .insert(kind, (start + i64::from(p.cooldown_windows) * size, sev));
                let id = Uuid::new_v5(&t.window_id, format!("{kind:?}/{}", sev as u8).as_bytes());
                raised.push(Alert {
                    schema: SCHEMA.to_string(),
                    id,
                    kind,
                    dimension: t.dimension,
                    key: t.key.clone(),
                    brand: t.brand.clone(),
                    competitor: t.competitor,
                    window: t.window.clone(),
                    window_id: t.window_id,
                    severity: sev,
                    escalation,
                    score: (score * 100.0).round() / 100.0,
                    observed: Observed {
                        volume: now.volume,
                        negative_share: share,
                    },
                    baseline: baseline.clone(),
                    reason,
                    themes: t.themes.clone(),
                    quotes: quotes.clone(),
                });
            }
        }
        s.points.insert(start, now);
        let keep = start - self.span();
        s.points = s.points.split_off(&keep);
        self.series.insert(key, s);
        raised
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{SentimentMix, SCHEMA as TREND};
    use chrono::DateTime;
    use std::collections::BTreeMap;

    const T0: i64 = 1_793_577_600;

    fn trend(brand: &str, start: i64, volume: u32, negative: u32) -> Trend {
        let name = format!("{brand}/{start}");
        let (window_id, id) = crate::market::window::ids(&name, 0);
        Trend {
            schema: TREND.into(),
            id,
            window_id,
            dimension: Dimension::Brand,
            key: brand.into(),
            brand: brand.into(),
            competitor: false,
            window: Span {
                start: DateTime::from_timestamp(start, 0).expect("time"),
                end: DateTime::from_timestamp(start + 3_600, 0).expect("time"),
                size_seconds: 3_600,
            },
            revision: 0,
            volume,
            unique_customers: volume,
            sentiment: SentimentMix {
                positive: 0,
                neutral: volume - negative,
                negative,
                unread: 0,
                net: None,
            },
            emotions: BTreeMap::new(),
            intents: BTreeMap::new(),
            effort: None,
            share_of_voice: None,
            themes: vec![],
        }
    }

    /// Four quiet days of 20 messages an hour (5 negative), then `spike` from hour 8 of day 4.
    fn run(d: &mut Detector, spike: &[(u32, u32)]) -> Vec<Alert> {
        let mut raised = Vec::new();
        for hour in 0..4 * 24 {
            let wobble = [18, 20, 22, 19, 21][hour % 5];
            raised.extend(d.check(
                &trend("larkspur", T0 + hour as i64 * 3_600, wobble, 5),
                vec![],
            ));
        }
        assert!(raised.is_empty(), "quiet days raise nothing: {raised:?}");
        for (k, &(v, n)) in spike.iter().enumerate() {
            let start = T0 + (4 * 24 + 8 + k as i64) * 3_600;
            raised.extend(d.check(&trend("larkspur", start, v, n), vec![]));
        }
        raised
    }

    #[test]
    fn a_spike_raises_an_alert_with_a_seasonal_baseline() {
        let mut d = Detector::new(Policy::default(), 3_600);
        let a = run(&mut d, &[(90, 20)]);
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!(a[0].kind, Kind::VolumeSpike);
        assert_eq!(a[0].baseline.method, Method::Seasonal);
        assert_eq!(a[0].baseline.windows, 4);
        assert!(a[0].severity >= Severity::High, "{:?}", a[0].severity);
        assert!(!a[0].escalation);
    }

    #[test]
    fn a_negative_turn_at_the_usual_volume_is_a_negative_spike() {
        let mut d = Detector::new(Policy::default(), 3_600);
        let a = run(&mut d, &[(21, 17)]);
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!(a[0].kind, Kind::NegativeSpike);
        assert!((a[0].baseline.negative_share - 0.25).abs() < 0.01);
    }

    #[test]
    fn a_cooldown_holds_back_the_same_alert_and_lets_an_escalation_through() {
        let mut d = Detector::new(Policy::default(), 3_600);
        // Hour 1: a spike; hour 2: the same, held back; hour 3: far worse, an escalation.
        let a = run(&mut d, &[(70, 5), (70, 5), (400, 5)]);
        let kinds: Vec<(Severity, bool)> = a.iter().map(|a| (a.severity, a.escalation)).collect();
        assert_eq!(a.len(), 2, "{kinds:?}");
        assert!(!a[0].escalation && a[1].escalation);
        assert!(a[1].severity > a[0].severity);
        assert_eq!(d.held_back(), 1);
    }

    #[test]
    fn a_brand_raises_at_most_max_per_hour() {
        let policy = Policy {
            max_per_hour: 1,
            ..Policy::default()
        };
        let mut d = Detector::new(policy, 3_600);
        // Volume and negative share at once: two rules fire, one alert goes out.
        let a = run(&mut d, &[(90, 80)]);
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!(d.held_back(), 1);
    }

    #[test]
    fn daily_windows_beyond_the_kept_history_are_missing_not_zero() {
        let mut d = Detector::new(Policy::default(), 86_400);
        let mut raised = Vec::new();
        for day in 0..40 {
            let mut t = trend("larkspur", T0 + day * 86_400, 20 + (day % 3) as u32, 5);
            t.window.size_seconds = 86_400;
            raised.extend(d.check(&t, vec![]));
        }
        assert!(raised.is_empty(), "a steady brand: {raised:?}");
        let mut t = trend("larkspur", T0 + 40 * 86_400, 120, 5);
        t.window.size_seconds = 86_400;
        let a = d.check(&t, vec![]);
        assert_eq!(a.len(), 1, "{a:?}");
        // The same weekday of the three weeks kept.
        assert_eq!(a[0].baseline.method, Method::Seasonal);
        assert_eq!(a[0].baseline.windows, 3);
    }

    #[test]
    fn windows_under_a_day_wait_for_three_days_of_history() {
        let mut d = Detector::new(Policy::default(), 3_600);
        let mut raised = Vec::new();
        for hour in 0..24 {
            let v = if hour == 12 { 200 } else { 20 };
            raised.extend(d.check(&trend("larkspur", T0 + hour * 3_600, v, 5), vec![]));
        }
        assert!(raised.is_empty(), "{raised:?}");
    }
}
