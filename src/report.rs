//! `earshot report`: one self-contained HTML page for people (no network: the data, the styles and
//! the small script that draws the charts are all inside it).
//!
//! The page shows volume and net sentiment over time per brand, share of voice, the emotion and
//! intent mix per brand, the themes that are new or rising with their quotes, the alerts, and the
//! customers at risk when customer insights are given. Pure: trends, alerts and customer insights
//! in, the page's text out.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::market::themes::{Status, Theme};
use crate::market::{Alert, Dimension, Trend};
use crate::memory::{CustomerInsight, Severity};

/// A chart has at most this many windows per series; a finer size with more is not drawn.
const MAX_POINTS: i64 = 400;

#[derive(Serialize)]
struct Series {
    brand: String,
    competitor: bool,
    /// [start in ms since the epoch, volume, net sentiment or null]
    points: Vec<(i64, u32, Option<f64>)>,
}

#[derive(Serialize, Default)]
struct Total {
    brand: String,
    competitor: bool,
    volume: u64,
    positive: u64,
    neutral: u64,
    negative: u64,
    share_of_voice: f64,
    net: Option<f64>,
    emotions: BTreeMap<String, u64>,
    intents: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct ThemeRow {
    brand: String,
    key: String,
    label: String,
    kind: String,
    count: u32,
    status: Status,
    windows: u32,
    quotes: Vec<String>,
}

#[derive(Serialize)]
struct AlertRow {
    start: String,
    brand: String,
    key: String,
    kind: String,
    severity: Severity,
    reason: String,
    themes: Vec<String>,
    quotes: Vec<String>,
}

#[derive(Serialize)]
struct CustomerRow {
    customer: String,
    kind: String,
    severity: Severity,
    reason: String,
    quotes: Vec<String>,
}

#[derive(Serialize)]
struct Data {
    title: String,
    insights: u64,
    size_seconds: u32,
    /// The charts stop here: the period has more windows of the finest size than a chart draws.
    cut_at: Option<String>,
    from: Option<String>,
    to: Option<String>,
    series: Vec<Series>,
    totals: Vec<Total>,
    themes: Vec<ThemeRow>,
    alerts: Vec<AlertRow>,
    customers: Vec<CustomerRow>,
}

/// The last revision of each window.
fn finals(trends: &[Trend]) -> Vec<&Trend> {
    let mut last: HashMap<uuid::Uuid, &Trend> = HashMap::new();
    for t in trends {
        let keep = last
            .get(&t.window_id)
            .is_none_or(|k| k.revision < t.revision);
        if keep {
            last.insert(t.window_id, t);
        }
    }
    let mut v: Vec<&Trend> = last.into_values().collect();
    v.sort_by(|a, b| {
        (a.window.size_seconds, a.window.start, a.dimension, &a.key).cmp(&(
            b.window.size_seconds,
            b.window.start,
            b.dimension,
            &b.key,
        ))
    });
    v
}

/// The size the charts are drawn at: the finest with at most [`MAX_POINTS`] windows over the
/// period, else the coarsest.
fn chart_size(brands: &[&Trend]) -> u32 {
    let mut sizes: Vec<u32> = brands.iter().map(|t| t.window.size_seconds).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let span = |size: u32| {
        let starts = brands
            .iter()
            .filter(|t| t.window.size_seconds == size)
            .map(|t| t.window.start.timestamp());
        let (lo, hi) = starts.fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(s), hi.max(s)));
        (hi - lo) / i64::from(size.max(1)) + 1
    };
    sizes
        .iter()
        .copied()
        .find(|&s| span(s) <= MAX_POINTS)
        .or_else(|| sizes.last().copied())
        .unwrap_or(3_600)
}

fn theme_rows(finals: &[&Trend], size: u32) -> Vec<ThemeRow> {
    let mut by: BTreeMap<(String, String), ThemeRow> = BTreeMap::new();
    let brand_windows = finals
        .iter()
        .filter(|t| t.dimension == Dimension::Brand && t.window.size_seconds == size);
    for t in brand_windows {
        for th in &t.themes {
            let Theme {
                key, label, kind, ..
            } = th;
            let row = by
                .entry((t.brand.clone(), key.clone()))
                .or_insert_with(|| ThemeRow {
                    brand: t.brand.clone(),
                    key: key.clone(),
                    label: label.clone(),
                    kind: format!("{kind:?}").to_lowercase(),
                    count: 0,
                    status: Status::Steady,
                    windows: 0,
                    quotes: Vec::new(),
                });
            row.count += th.count;
            row.windows += 1;
            // The latest window's verdict stands, unless an earlier one found it new or rising.
            if th.status != Status::Steady {
                row.status = th.status;
            }
            for q in &th.quotes {
                if row.quotes.len() < 3 && !row.quotes.contains(&q.text) {
                    row.quotes.push(q.text.clone());
                }
            }
        }
    }
    let mut rows: Vec<ThemeRow> = by.into_values().collect();
    rows.sort_by(|a, b| {
        let moving = |r: &ThemeRow| r.status != Status::Steady;
        moving(b)
            .cmp(&moving(a))
            .then(b.count.cmp(&a.count))
            .then(a.brand.cmp(&b.brand))
            .then(a.key.cmp(&b.key))
    });
    rows.truncate(30);
    rows
}

/// The page. `insights` is how many insights the trends were made of.
pub fn html(
    title: &str,
    insights: u64,
    trends: &[Trend],
    alerts: &[Alert],
    customers: &[CustomerInsight],
) -> String {
    let finals = finals(trends);
    let brands: Vec<&Trend> = finals
        .iter()
        .copied()
        .filter(|t| t.dimension == Dimension::Brand)
        .collect();
    let size = chart_size(&brands);
    let largest = brands
        .iter()
        .map(|t| t.window.size_seconds)
        .max()
        .unwrap_or(size);
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    for t in brands.iter().filter(|t| t.window.size_seconds == size) {
        series
            .entry(t.brand.clone())
            .or_insert_with(|| Series {
                brand: t.brand.clone(),
                competitor: t.competitor,
                points: Vec::new(),
            })
            .points
            .push((t.window.start.timestamp_millis(), t.volume, t.sentiment.net));
    }
    // Every window of the period in every series: no message is a volume of 0 and no sentiment,
    // not a line drawn across the gap.
    let starts = series.values().flat_map(|s| s.points.iter().map(|p| p.0));
    let (lo, hi) = starts.fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let step = i64::from(size) * 1000;
    let last = lo.saturating_add(step.saturating_mul(MAX_POINTS));
    let cut_at = (hi >= last && lo != i64::MAX).then(|| {
        chrono::DateTime::from_timestamp_millis(last)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    });
    for s in series.values_mut() {
        let mut filled = Vec::new();
        let mut have = s.points.iter().peekable();
        let mut t = lo;
        while t <= hi && t < last {
            match have.peek() {
                Some(p) if p.0 == t => filled.extend(have.next().copied()),
                _ => filled.push((t, 0, None)),
            }
            t += step;
        }
        s.points = filled;
    }
    let mut totals: BTreeMap<String, Total> = BTreeMap::new();
    for t in brands.iter().filter(|t| t.window.size_seconds == largest) {
        let x = totals.entry(t.brand.clone()).or_insert_with(|| Total {
            brand: t.brand.clone(),
            competitor: t.competitor,
            ..Total::default()
        });
        x.volume += u64::from(t.volume);
        x.positive += u64::from(t.sentiment.positive);
        x.neutral += u64::from(t.sentiment.neutral);
        x.negative += u64::from(t.sentiment.negative);
        for (k, v) in &t.emotions {
            *x.emotions.entry(k.clone()).or_default() += u64::from(*v);
        }
        for (k, v) in &t.intents {
            *x.intents.entry(k.clone()).or_default() += u64::from(*v);
        }
    }
    let all: u64 = totals.values().map(|t| t.volume).sum();
    let mut totals: Vec<Total> = totals.into_values().collect();
    for t in &mut totals {
        t.share_of_voice = t.volume as f64 / all.max(1) as f64;
        let read = t.positive + t.neutral + t.negative;
        t.net = (read > 0).then(|| (t.positive as f64 - t.negative as f64) / read as f64);
    }
    totals.sort_by(|a, b| b.volume.cmp(&a.volume).then(a.brand.cmp(&b.brand)));
    let mut alert_rows: Vec<AlertRow> = alerts
        .iter()
        .map(|a| AlertRow {
            start: a.window.start.to_rfc3339(),
            brand: a.brand.clone(),
            key: a.key.clone(),
            kind: format!("{:?}", a.kind),
            severity: a.severity,
            reason: a.reason.clone(),
            themes: a.themes.iter().map(|t| t.label.clone()).collect(),
            quotes: a.quotes.iter().map(|q| q.text.clone()).collect(),
        })
        .collect();
    alert_rows.sort_by(|a, b| a.start.cmp(&b.start).then(a.key.cmp(&b.key)));
    let mut customer_rows: Vec<CustomerRow> = customers
        .iter()
        .map(|c| CustomerRow {
            customer: c.customer.key.clone(),
            kind: serde_json::to_value(c.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            severity: c.severity,
            reason: c.reason.clone(),
            quotes: c.evidence.iter().map(|e| e.quote.to_string()).collect(),
        })
        .collect();
    customer_rows.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.customer.cmp(&b.customer))
            .then(a.kind.cmp(&b.kind))
    });
    customer_rows.truncate(50);
    let data = Data {
        title: title.to_string(),
        insights,
        size_seconds: size,
        cut_at,
        from: brands
            .iter()
            .map(|t| t.window.start)
            .min()
            .map(|t| t.to_rfc3339()),
        to: brands
            .iter()
            .map(|t| t.window.end)
            .max()
            .map(|t| t.to_rfc3339()),
        series: series.into_values().collect(),
        totals,
        themes: theme_rows(&finals, size),
        alerts: alert_rows,
        customers: customer_rows,
    };
    // Inside a <script> element no text may end it or open a comment ("</script>", "<!--"): every
    // '<', '>' and '&' is written as its JSON escape, which JSON reads back as the same character
    // (they only occur inside strings).
    let json = serde_json::to_string(&data)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    fill(TEMPLATE, &escape(title), &json)
}

/// The template with its markers replaced in one pass, so a title that says `{{DATA}}` stays
/// the title.
fn fill(template: &str, title: &str, data: &str) -> String {
    let mut page = String::with_capacity(template.len() + data.len() + 2 * title.len());
    let mut rest = template;
    while let Some(at) = rest.find("{{") {
        page.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{TITLE}}") {
            page.push_str(title);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{{DATA}}") {
            page.push_str(data);
            rest = after;
        } else {
            page.push_str("{{");
            rest = &tail[2..];
        }
    }
    page.push_str(rest);
    page
}

/// Text for HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const TEMPLATE: &str = include_str!("report.html");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::heard::{About, Heard};
    use crate::market::{Market, Output, Policy};
    use crate::types::Label;

    #[test]
    fn text_from_messages_cannot_end_the_data_script() {
        let brand = "</script><script>alert(1)</script><!--";
        let hostile = "</script><!--<script>alert(2)</script> & <b>bold</b>";
        let phrases = std::sync::Arc::new(crate::market::heard::Phrases {
            kind: crate::market::heard::ThemeKind::Complaint,
            grams: vec![crate::market::heard::Gram {
                key: "outag".into(),
                label: "outage".into(),
            }],
            quote: hostile.into(),
        });
        let mut m = Market::new(Policy::default());
        let mut h = Heard {
            insight: uuid::Uuid::from_u128(1),
            at: chrono::DateTime::from_timestamp(1_793_577_600, 0).expect("time"),
            customer: 1,
            segment: None,
            emotion: None,
            effort: None,
            about: vec![About {
                brand: brand.into(),
                product: None,
                line: None,
                competitor: false,
                at: 0,
                label: Some(Label::Negative),
                compound: -0.5,
                intents: 1,
                phrases: Some(phrases),
            }],
        };
        let mut out = m.observe_heard(&h, |_| hostile.into());
        h.insight = uuid::Uuid::from_u128(2);
        out.extend(m.observe_heard(&h, |_| hostile.into()));
        out.extend(m.finish());
        let trends: Vec<Trend> = out
            .into_iter()
            .filter_map(|o| match o {
                Output::Trend(t) => Some(*t),
                Output::Alert(_) => None,
            })
            .collect();
        let page = html("<title>", 1, &trends, &[], &[]);
        // The page's own two scripts end where they should, and nowhere else.
        assert_eq!(page.matches("</script>").count(), 2);
        assert!(!page.contains("<!--"));
        assert!(page.contains("<title>&lt;title&gt;</title>"));
        let start = page.find("id=\"data\">").expect("data") + "id=\"data\">".len();
        let end = start + page[start..].find("</script>").expect("end");
        let data: serde_json::Value = serde_json::from_str(&page[start..end]).expect("JSON");
        assert_eq!(data["series"][0]["brand"], brand);
        assert_eq!(
            data["themes"][0]["quotes"][0], hostile,
            "the quote reaches the page whole"
        );
    }
}
