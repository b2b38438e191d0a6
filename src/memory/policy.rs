//! The thresholds, windows and cooldowns of the customer memory (`[memory]` in the config).

use serde::{Deserialize, Serialize};

/// How the customer memory weighs time and when it speaks up. The defaults are the documented
/// ones; every field can be set in `[memory]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Half-life of the sentiment and effort trends, in days.
    pub half_life_days: f64,
    /// A decayed sentiment at or below this is a negative trend.
    pub negative_trend: f64,
    /// Value tiers that make a customer valuable (a business segment always does).
    pub valuable_tiers: Vec<String>,
    /// How long a churn or switching signal counts, in days.
    pub leaving_window_days: i64,
    /// An open problem nobody raised again for this long is dropped, in days.
    pub problem_expiry_days: i64,
    /// Context labels that are hard moments (a person should know). A life event read as a happy
    /// moment is `life_event:happy` to the memory, so `life_event` takes only the hard ones.
    pub hard_contexts: Vec<String>,
    /// How long a hard moment stays live, in days.
    pub context_expiry_days: i64,
    /// Praise counts towards advocacy for this long, in days.
    pub praise_window_days: i64,
    /// Messages of praise or recommendation that make an advocate.
    pub advocate_praise: usize,
    /// Cooldowns per customer insight type, in hours: the same type is not raised again for the
    /// same customer within it unless its severity rises.
    pub cooldown_hours: Cooldowns,
}

/// Cooldowns in hours, per customer insight type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cooldowns {
    pub valuable_at_risk: i64,
    pub repeated_effort: i64,
    pub life_context: i64,
    pub advocate: i64,
    pub cross_line_opportunity: i64,
}

impl Default for Cooldowns {
    fn default() -> Self {
        Cooldowns {
            valuable_at_risk: 7 * 24,
            repeated_effort: 3 * 24,
            life_context: 30 * 24,
            advocate: 90 * 24,
            cross_line_opportunity: 30 * 24,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            half_life_days: 14.0,
            negative_trend: -0.1,
            valuable_tiers: vec!["gold".into(), "platinum".into()],
            leaving_window_days: 30,
            problem_expiry_days: 60,
            hard_contexts: vec!["life_event".into(), "health".into()],
            context_expiry_days: 30,
            praise_window_days: 180,
            advocate_praise: 2,
            cooldown_hours: Cooldowns::default(),
        }
    }
}
