//! Prometheus metrics. Names are `earshot_*`, in base units, with `_total` and `_seconds` suffixes;
//! label values are bounded (topics and partitions from the config, reasons from a closed set).

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::decode::Reason;

/// Every metric earshot exports, in one registry owned by the running process.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub consumed: IntCounterVec,
    pub insights: IntCounter,
    pub dead_letters: IntCounterVec,
    pub processing: Histogram,
    pub end_to_end: Histogram,
    pub in_flight: IntGauge,
    pub consumer_lag: IntGaugeVec,
    pub assigned_partitions: IntGauge,
    pub produce_retries: IntCounter,
    pub sentiment: IntCounterVec,
    pub languages: IntCounterVec,
    pub mentions: IntCounterVec,
    pub catalog_reload_failures: IntCounter,
    pub catalog_reloads: IntCounter,
    pub transactions: IntCounterVec,
    pub transaction_duration: Histogram,
    pub rebalances: IntCounterVec,
    /// Customer memory: insights read, by what became of them.
    pub memory_insights: IntCounterVec,
    /// Customer memory: customer insights acknowledged, by type.
    pub memory_customer_insights: IntCounterVec,
    /// Customer memory: time to restore one partition's store from the changelog.
    pub memory_restore: Histogram,
    /// Customer memory: changelog records replayed into stores.
    pub memory_restored_records: IntCounter,
    pub market: MarketMetrics,
}

/// The market stage's metrics: its own work, and the business figures of each brand's latest
/// closed window of the alerting size (label `brand`: the catalog's brands, a bounded set).
#[derive(Clone)]
pub struct MarketMetrics {
    /// Brand readings by result (applied, duplicate, invalid).
    pub readings: IntCounterVec,
    /// Trend and alert events acknowledged, by kind.
    pub events: IntCounterVec,
    /// Time to restore one partition's store from the changelog.
    pub restore: Histogram,
    /// Windows open over the partitions held.
    pub open_windows: IntGauge,
    /// Messages about the brand in its latest window.
    pub window_messages: GaugeVec,
    /// Net sentiment (−1 to 1) of the brand's latest window.
    pub window_net_sentiment: GaugeVec,
    /// Share of voice (0 to 1) of the brand in its latest window.
    pub window_share_of_voice: GaugeVec,
    /// Alerts acknowledged, by brand and severity.
    pub alerts: IntCounterVec,
}

impl MarketMetrics {
    fn new(registry: &Registry) -> MarketMetrics {
        let readings = must(IntCounterVec::new(
            Opts::new(
                "earshot_market_readings_total",
                "Market view: brand readings of insights, by result (applied, duplicate, invalid).",
            ),
            &["result"],
        ));
        let events = must(IntCounterVec::new(
            Opts::new(
                "earshot_market_events_total",
                "Market view: trend and alert events acknowledged by the broker, by kind.",
            ),
            &["kind"],
        ));
        let restore = must(Histogram::with_opts(
            HistogramOpts::new(
                "earshot_market_restore_duration_seconds",
                "Market view: time to restore one partition's store from its changelog.",
            )
            .buckets(vec![
                0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0,
            ]),
        ));
        let open_windows = must(IntGauge::new(
            "earshot_market_open_windows",
            "Market view: windows open in the partitions this instance holds.",
        ));
        let window_messages = must(GaugeVec::new(
            Opts::new(
                "earshot_market_window_messages",
                "Market view: messages about a brand in its latest closed window (the alerting size).",
            ),
            &["brand"],
        ));
        let window_net_sentiment = must(GaugeVec::new(
            Opts::new(
                "earshot_market_window_net_sentiment",
                "Market view: net sentiment (-1 to 1) of a brand's latest closed window.",
            ),
            &["brand"],
        ));
        let window_share_of_voice = must(GaugeVec::new(
            Opts::new(
                "earshot_market_window_share_of_voice_ratio",
                "Market view: share of voice (0 to 1) of a brand in its latest closed window.",
            ),
            &["brand"],
        ));
        let alerts = must(IntCounterVec::new(
            Opts::new(
                "earshot_market_alerts_total",
                "Market view: spike alerts acknowledged, by brand and severity.",
            ),
            &["brand", "severity"],
        ));
        for c in [
            Box::new(readings.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(events.clone()),
            Box::new(restore.clone()),
            Box::new(open_windows.clone()),
            Box::new(window_messages.clone()),
            Box::new(window_net_sentiment.clone()),
            Box::new(window_share_of_voice.clone()),
            Box::new(alerts.clone()),
        ] {
            must(registry.register(c));
        }
        for r in ["applied", "duplicate", "invalid"] {
            readings.with_label_values(&[r]);
        }
        for k in ["trend", "alert"] {
            events.with_label_values(&[k]);
        }
        MarketMetrics {
            readings,
            events,
            restore,
            open_windows,
            window_messages,
            window_net_sentiment,
            window_share_of_voice,
            alerts,
        }
    }
}

fn must<T>(r: prometheus::Result<T>) -> T {
    // Only reachable through a programming error in the static definitions below.
    r.expect("static metric definition is valid")
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let consumed = must(IntCounterVec::new(
            Opts::new(
                "earshot_messages_consumed_total",
                "Messages consumed from the input, by topic.",
            ),
            &["topic"],
        ));
        let insights = must(IntCounter::new(
            "earshot_insights_produced_total",
            "Insight events acknowledged by the broker (or written, in a file run).",
        ));
        let dead_letters = must(IntCounterVec::new(
            Opts::new(
                "earshot_dead_letters_total",
                "Messages sent to the dead-letter topic and acknowledged, by reason.",
            ),
            &["reason"],
        ));
        let processing = must(Histogram::with_opts(
            HistogramOpts::new(
                "earshot_processing_duration_seconds",
                "Time to decode, analyse and encode one message.",
            )
            .buckets(vec![
                0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001,
                0.0025, 0.005, 0.01, 0.05,
            ]),
        ));
        let end_to_end = must(Histogram::with_opts(
            HistogramOpts::new(
                "earshot_end_to_end_latency_seconds",
                "From the input record's Kafka timestamp to the broker's acknowledgement of its output.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                60.0,
            ]),
        ));
        let in_flight = must(IntGauge::new(
            "earshot_in_flight_messages",
            "Messages consumed whose output the broker has not acknowledged yet.",
        ));
        let consumer_lag = must(IntGaugeVec::new(
            Opts::new(
                "earshot_kafka_consumer_lag_messages",
                "Consumer lag per assigned partition, from librdkafka statistics.",
            ),
            &["topic", "partition"],
        ));
        let assigned_partitions = must(IntGauge::new(
            "earshot_kafka_assigned_partitions",
            "Input partitions this instance holds.",
        ));
        let produce_retries = must(IntCounter::new(
            "earshot_kafka_produce_retries_total",
            "Output records whose delivery failed and were sent again.",
        ));
        let sentiment = must(IntCounterVec::new(
            Opts::new(
                "earshot_insight_sentiment_total",
                "Insights produced, by overall sentiment label.",
            ),
            &["label"],
        ));
        let languages = must(IntCounterVec::new(
            Opts::new(
                "earshot_insight_languages_total",
                "Insights produced, by language (the source's primary subtag or the detected one; \
                 `other` outside the detector's 16, `und` when undetermined) and by whether the \
                 analysers read it (`read` is false: sentiment, emotions and signals are absent).",
            ),
            &["language", "read"],
        ));
        let mentions = must(IntCounterVec::new(
            Opts::new(
                "earshot_mentions_total",
                "Brand mentions in produced insights, by brand id of the catalog.",
            ),
            &["brand"],
        ));
        let catalog_reload_failures = must(IntCounter::new(
            "earshot_catalog_reload_failures_total",
            "Catalog reloads rejected because the new catalog has errors.",
        ));
        let catalog_reloads = must(IntCounter::new(
            "earshot_catalog_reloads_total",
            "New catalogs compiled and swapped in while running.",
        ));
        let transactions = must(IntCounterVec::new(
            Opts::new(
                "earshot_kafka_transactions_total",
                "Kafka transactions ended under exactly once, by result (committed or aborted).",
            ),
            &["result"],
        ));
        let transaction_duration = must(Histogram::with_opts(
            HistogramOpts::new(
                "earshot_kafka_transaction_commit_duration_seconds",
                "Time to send a transaction's offsets and commit it.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        ));
        let rebalances = must(IntCounterVec::new(
            Opts::new(
                "earshot_kafka_rebalances_total",
                "Group rebalances seen by this instance, by event (assigned or revoked).",
            ),
            &["event"],
        ));
        let build_info = must(IntGaugeVec::new(
            Opts::new(
                "earshot_build_info",
                "Build information; the value is always 1.",
            ),
            &["version"],
        ));
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let memory_insights = must(IntCounterVec::new(
            Opts::new(
                "earshot_memory_insights_total",
                "Customer memory: insights and commands read, by result (applied, duplicate, erased, invalid).",
            ),
            &["result"],
        ));
        let memory_customer_insights = must(IntCounterVec::new(
            Opts::new(
                "earshot_memory_customer_insights_total",
                "Customer memory: customer insight events acknowledged by the broker, by type.",
            ),
            &["type"],
        ));
        let memory_restore = must(Histogram::with_opts(
            HistogramOpts::new(
                "earshot_memory_restore_duration_seconds",
                "Customer memory: time to restore one partition's store from its changelog.",
            )
            .buckets(vec![
                0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0,
            ]),
        ));
        let memory_restored_records = must(IntCounter::new(
            "earshot_memory_restored_records_total",
            "Customer memory: changelog records replayed into the stores.",
        ));
        for c in [
            Box::new(memory_insights.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(memory_customer_insights.clone()),
            Box::new(memory_restore.clone()),
            Box::new(memory_restored_records.clone()),
        ] {
            must(registry.register(c));
        }
        for r in ["applied", "duplicate", "erased", "invalid"] {
            memory_insights.with_label_values(&[r]);
        }
        let market = MarketMetrics::new(&registry);
        for t in crate::memory::Type::ALL {
            memory_customer_insights.with_label_values(&[t.as_str()]);
        }
        for c in [
            Box::new(consumed.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(insights.clone()),
            Box::new(dead_letters.clone()),
            Box::new(processing.clone()),
            Box::new(end_to_end.clone()),
            Box::new(in_flight.clone()),
            Box::new(consumer_lag.clone()),
            Box::new(assigned_partitions.clone()),
            Box::new(produce_retries.clone()),
            Box::new(sentiment.clone()),
            Box::new(languages.clone()),
            Box::new(mentions.clone()),
            Box::new(catalog_reload_failures.clone()),
            Box::new(catalog_reloads.clone()),
            Box::new(transactions.clone()),
            Box::new(transaction_duration.clone()),
            Box::new(rebalances.clone()),
            Box::new(build_info),
        ] {
            must(registry.register(c));
        }
        #[cfg(target_os = "linux")]
        must(registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        )));
        // Make every reason visible at 0, so rate() works from the first dead letter on.
        for r in Reason::ALL {
            dead_letters.with_label_values(&[r.as_str()]);
        }
        for l in ["positive", "neutral", "negative"] {
            sentiment.with_label_values(&[l]);
        }
        for r in ["committed", "aborted"] {
            transactions.with_label_values(&[r]);
        }
        for e in ["assigned", "revoked"] {
            rebalances.with_label_values(&[e]);
        }
        Metrics {
            registry,
            consumed,
            insights,
            dead_letters,
            processing,
            end_to_end,
            in_flight,
            consumer_lag,
            assigned_partitions,
            produce_retries,
            sentiment,
            languages,
            mentions,
            catalog_reload_failures,
            catalog_reloads,
            transactions,
            transaction_duration,
            rebalances,
            memory_insights,
            memory_customer_insights,
            memory_restore,
            memory_restored_records,
            market,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let enc = TextEncoder::new();
        if let Err(e) = enc.encode(&self.registry.gather(), &mut buf) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Counts what an insight says (sentiment label, brands), for dashboards.
    pub fn observe_insight(&self, o: &Observed) {
        self.insights.inc();
        if let Some(label) = o.sentiment {
            self.sentiment.with_label_values(&[label.as_str()]).inc();
        }
        let read = if o.read { "true" } else { "false" };
        self.languages.with_label_values(&[o.language, read]).inc();
        for brand in &o.brands {
            self.mentions.with_label_values(&[brand]).inc();
        }
    }
}

/// What the metrics count of a produced insight, kept until the broker acknowledges it. (Not the
/// whole analysis: it is dropped right after encoding, on the thread that built it.)
#[derive(Debug, Default)]
pub struct Observed {
    pub sentiment: Option<crate::sentiment::Label>,
    /// The language's metric label ([`crate::language::Language::metric_label`]).
    pub language: &'static str,
    /// Whether the analysers read the language.
    pub read: bool,
    /// Brand ids of the mentions, one per mention.
    pub brands: Vec<String>,
}

impl Observed {
    pub(crate) fn of(analysis: crate::analyze::Analysis) -> Observed {
        Observed {
            sentiment: analysis.sentiment.as_ref().map(|s| s.label),
            language: analysis.language.metric_label(),
            read: analysis.unread.is_none(),
            brands: analysis.mentions.into_iter().map(|m| m.brand).collect(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
