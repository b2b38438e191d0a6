//! What the Kafka clients report outside of a call: their errors and logs, read once and said once.
//!
//! librdkafka reports a lost broker both as a log line and as an error event, and repeats it at every
//! reconnect attempt; a 40 s outage used to fill 1,600 log lines. Here each distinct error is logged
//! the first time it is seen, then at most once per [`ErrorLog::interval`] with the number of times
//! it came back meanwhile. librdkafka's own log lines go to `debug` (they repeat the error events).
//!
//! A *fatal* error (a fenced static member, a fenced or failed idempotent or transactional producer,
//! an authentication that cannot recover) leaves the client unusable: it cancels [`ClientCtx::fatal`],
//! which stops the pipeline and makes `/healthz` fail, so the orchestrator restarts the process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientContext;
use tokio_util::sync::CancellationToken;

/// How often a repeated error is logged again, with its count.
pub const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// A log of errors that says each distinct one once per interval, with how often it recurred.
#[derive(Debug)]
pub struct ErrorLog {
    interval: Duration,
    seen: Mutex<HashMap<String, Seen>>,
}

#[derive(Debug)]
struct Seen {
    logged_at: Instant,
    repeats: u64,
}

/// What [`ErrorLog::note`] decided for one occurrence.
#[derive(Debug, PartialEq, Eq)]
pub enum Say {
    /// Log it now; `repeats` more occurrences were held back since it was last logged.
    Now { repeats: u64 },
    /// Held back: counted, said later.
    Quiet,
}

impl ErrorLog {
    pub fn new(interval: Duration) -> ErrorLog {
        ErrorLog {
            interval,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records one occurrence of the error `key` at `now` and says whether to log it.
    pub fn note(&self, key: &str, now: Instant) -> Say {
        let Ok(mut seen) = self.seen.lock() else {
            return Say::Now { repeats: 0 };
        };
        match seen.get_mut(key) {
            Some(s) if now.duration_since(s.logged_at) < self.interval => {
                s.repeats += 1;
                Say::Quiet
            }
            Some(s) => {
                let repeats = std::mem::take(&mut s.repeats);
                s.logged_at = now;
                Say::Now { repeats }
            }
            None => {
                seen.insert(
                    key.to_string(),
                    Seen {
                        logged_at: now,
                        repeats: 0,
                    },
                );
                Say::Now { repeats: 0 }
            }
        }
    }

    /// Logs `error` at warn level unless the same kind of error (`what` and the Kafka error code,
    /// when it has one; the text varies with the broker and the attempt) was logged less than an
    /// interval ago.
    pub fn warn(&self, what: &str, error: &dyn std::fmt::Display) {
        self.warn_keyed(what, what, error)
    }

    /// [`ErrorLog::warn`] for a Kafka error: one key per error code.
    pub fn warn_kafka(&self, what: &str, error: &KafkaError) {
        let key = format!("{what}: {:?}", error.rdkafka_error_code());
        self.warn_keyed(&key, what, error)
    }

    fn warn_keyed(&self, key: &str, what: &str, error: &dyn std::fmt::Display) {
        if let Say::Now { repeats } = self.note(key, Instant::now()) {
            if repeats > 0 {
                tracing::warn!(%error, repeats, "{what} (and {repeats} more since last said)");
            } else {
                tracing::warn!(%error, "{what}");
            }
        }
    }
}

/// Whether a Kafka error is of the kinds waiting rarely mends, though the client goes on trying:
/// the credentials or the ACLs are wrong. Each can also pass by itself (a SASL handshake cut by a
/// restarting broker, an identity provider down for a moment, ACLs still propagating), so one
/// stops the stage only when it has kept coming back for [`UNRECOVERABLE_AFTER`].
pub fn is_unrecoverable(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::GroupAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::TransactionalIdAuthorizationFailed
                | RDKafkaErrorCode::SaslAuthenticationFailed
                | RDKafkaErrorCode::Authentication
        )
    )
}

/// How long an error of the unrecoverable kinds must keep coming back before it stops the stage.
pub const UNRECOVERABLE_AFTER: Duration = Duration::from_secs(60);

/// A longer silence between two occurrences ends a run of them: the error had passed.
const STREAK_GAP: Duration = Duration::from_secs(30);

/// Per error kind, since when it has kept coming back (first and last occurrence of the run).
#[derive(Debug, Default)]
pub struct Streaks(Mutex<HashMap<String, (Instant, Instant)>>);

impl Streaks {
    /// Records an occurrence of `key` at `now`: whether its run has lasted [`UNRECOVERABLE_AFTER`].
    pub fn persists(&self, key: &str, now: Instant) -> bool {
        let Ok(mut runs) = self.0.lock() else {
            return true;
        };
        let run = runs.entry(key.to_string()).or_insert((now, now));
        if now.duration_since(run.1) > STREAK_GAP {
            *run = (now, now);
        }
        run.1 = now;
        now.duration_since(run.0) >= UNRECOVERABLE_AFTER
    }
}

/// Whether a Kafka error leaves the client that raised it unusable.
pub fn is_fatal(e: &KafkaError) -> bool {
    match e {
        KafkaError::MessageConsumptionFatal(_) => true,
        KafkaError::Transaction(t) => t.is_fatal(),
        _ => e.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal),
    }
}

/// The callbacks of both clients: logs and errors said once, fatal errors raised.
pub struct ClientCtx {
    /// Which client: `consumer` or `producer`.
    pub name: &'static str,
    pub errors: std::sync::Arc<ErrorLog>,
    /// Cancelled when the client reports a fatal or unrecoverable error.
    pub fatal: CancellationToken,
    /// The first such error, as the client reported it: what the process exits with when
    /// librdkafka itself holds no fatal error (an unrecoverable one is not fatal to it), and which
    /// client reported it.
    pub cause: std::sync::Arc<Mutex<Option<(&'static str, String)>>>,
    /// How long each unrecoverable kind of error has kept coming back, across the stage's clients.
    pub streaks: std::sync::Arc<Streaks>,
}

impl ClientCtx {
    /// The first fatal or unrecoverable error any client of the stage reported, if one did.
    pub fn cause(&self) -> Option<(&'static str, String)> {
        self.cause.lock().ok().and_then(|c| c.clone())
    }

    /// What an error reported at `now` does: a fatal one, or an unrecoverable kind that has kept
    /// coming back for [`UNRECOVERABLE_AFTER`], stops the stage (kept as the cause); anything
    /// else is logged once an interval.
    pub fn report(&self, error: &KafkaError, reason: &str, now: Instant) {
        let key = format!(
            "kafka {} error: {:?}",
            self.name,
            error.rdkafka_error_code()
        );
        let fatal = is_fatal(error);
        let stop = fatal || (is_unrecoverable(error) && self.streaks.persists(&key, now));
        if stop {
            let what = if fatal {
                "fatal".to_string()
            } else {
                format!(
                    "unrecoverable (it kept coming back for {} s)",
                    UNRECOVERABLE_AFTER.as_secs()
                )
            };
            tracing::error!(client = self.name, %error, reason, "{what} kafka client error");
            if let Ok(mut c) = self.cause.lock() {
                c.get_or_insert_with(|| (self.name, format!("{what}: {error} ({reason})")));
            }
            self.fatal.cancel();
            return;
        }
        self.errors
            .warn_keyed(&key, &format!("kafka {} error", self.name), &reason);
    }
}

impl ClientContext for ClientCtx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        // The same conditions arrive as error events (below), logged once there.
        match level {
            RDKafkaLogLevel::Debug | RDKafkaLogLevel::Info | RDKafkaLogLevel::Notice => {
                tracing::trace!(target: "librdkafka", client = self.name, fac, "{message}")
            }
            _ => tracing::debug!(target: "librdkafka", client = self.name, fac, "{message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.report(&error, reason, Instant::now())
    }

    fn stats(&self, _: rdkafka::Statistics) {}
}

/// For consumers assigned partitions by hand (no rebalance callbacks of their own).
impl rdkafka::consumer::ConsumerContext for ClientCtx {}

/// The clients of one stage: one error log (each error said once an interval across them) and one
/// fatal token (any client's fatal error stops the stage).
pub struct Callbacks {
    pub errors: std::sync::Arc<ErrorLog>,
    pub fatal: CancellationToken,
    cause: std::sync::Arc<Mutex<Option<(&'static str, String)>>>,
    streaks: std::sync::Arc<Streaks>,
}

impl Callbacks {
    pub fn new() -> Callbacks {
        Callbacks {
            errors: std::sync::Arc::new(ErrorLog::new(ERROR_LOG_INTERVAL)),
            fatal: CancellationToken::new(),
            cause: Default::default(),
            streaks: Default::default(),
        }
    }

    /// The callback context of the client `name` (`consumer` or `producer`).
    pub fn ctx(&self, name: &'static str) -> ClientCtx {
        ClientCtx {
            name,
            errors: self.errors.clone(),
            fatal: self.fatal.clone(),
            cause: self.cause.clone(),
            streaks: self.streaks.clone(),
        }
    }
}

impl Default for Callbacks {
    fn default() -> Callbacks {
        Callbacks::new()
    }
}

/// `impl ClientContext` for contexts that hold a [`ClientCtx`] in a field `client`: their logs and
/// errors go through it; statistics are not read.
macro_rules! client_context_via_field {
    ($($t:ty),+) => {$(
        impl rdkafka::ClientContext for $t {
            fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
                self.client.log(level, fac, message)
            }
            fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
                self.client.error(error, reason)
            }
            fn stats(&self, _: rdkafka::Statistics) {}
        }
    )+};
}
pub(crate) use client_context_via_field;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_error_is_said_once_an_interval_with_its_count() {
        let log = ErrorLog::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(log.note("down", t0), Say::Now { repeats: 0 });
        for ms in (100..10_000).step_by(100) {
            assert_eq!(log.note("down", t0 + Duration::from_millis(ms)), Say::Quiet);
        }
        // Another error is its own key.
        assert_eq!(
            log.note("auth", t0 + Duration::from_secs(1)),
            Say::Now { repeats: 0 }
        );
        assert_eq!(
            log.note("down", t0 + Duration::from_secs(10)),
            Say::Now { repeats: 99 }
        );
        assert_eq!(
            log.note("down", t0 + Duration::from_secs(11)),
            Say::Quiet,
            "the interval restarts when it is said"
        );
    }

    #[test]
    fn wrong_credentials_or_acls_are_unrecoverable_and_an_outage_is_not() {
        for code in [
            RDKafkaErrorCode::Authentication,
            RDKafkaErrorCode::SaslAuthenticationFailed,
            RDKafkaErrorCode::GroupAuthorizationFailed,
            RDKafkaErrorCode::TopicAuthorizationFailed,
        ] {
            assert!(is_unrecoverable(&KafkaError::Global(code)), "{code:?}");
            assert!(is_unrecoverable(&KafkaError::MessageConsumption(code)));
        }
        for code in [
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::NotCoordinator,
            RDKafkaErrorCode::UnknownTopicOrPartition,
        ] {
            assert!(
                !is_unrecoverable(&KafkaError::MessageConsumption(code)),
                "{code:?}"
            );
        }
    }

    #[test]
    fn an_unrecoverable_error_stops_the_stage_once_it_has_kept_coming_back() {
        let callbacks = Callbacks::new();
        let consumer = callbacks.ctx("consumer");
        let producer = callbacks.ctx("producer");
        let t0 = Instant::now();
        let auth = KafkaError::Global(RDKafkaErrorCode::Authentication);
        let why = "SASL authentication error: Authentication failed due to invalid credentials";
        // An outage is logged, never a reason to stop.
        consumer.report(
            &KafkaError::Global(RDKafkaErrorCode::AllBrokersDown),
            "1/1 brokers are down",
            t0,
        );
        // A handshake cut by a restarting broker, then nothing for a minute: it passed.
        consumer.report(&auth, why, t0);
        consumer.report(&auth, why, t0 + Duration::from_secs(5));
        assert!(!callbacks.fatal.is_cancelled());
        // Back again after the gap: a new run, not the old one's 65 s.
        consumer.report(&auth, why, t0 + Duration::from_secs(65));
        assert!(!callbacks.fatal.is_cancelled());
        assert_eq!(producer.cause(), None);
        // Every 10 s for a minute: the credentials are wrong.
        for s in (75..=125).step_by(10) {
            consumer.report(&auth, why, t0 + Duration::from_secs(s));
        }
        assert!(callbacks.fatal.is_cancelled());
        let (client, cause) = producer.cause().unwrap_or_default();
        assert_eq!(client, "consumer");
        assert!(cause.contains("invalid credentials"), "{cause}");
        // A fatal error stops at once.
        let other = Callbacks::new();
        other
            .ctx("producer")
            .report(&KafkaError::Global(RDKafkaErrorCode::Fatal), "fenced", t0);
        assert!(other.fatal.is_cancelled());
    }

    #[test]
    fn only_the_fatal_code_is_fatal() {
        assert!(is_fatal(&KafkaError::MessageConsumptionFatal(
            RDKafkaErrorCode::FencedInstanceId
        )));
        assert!(is_fatal(&KafkaError::Global(RDKafkaErrorCode::Fatal)));
        assert!(!is_fatal(&KafkaError::MessageConsumption(
            RDKafkaErrorCode::AllBrokersDown
        )));
        assert!(!is_fatal(&KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageTimedOut
        )));
    }
}
