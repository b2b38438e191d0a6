//! A deadline for the Kafka client calls that block their thread, kept by a thread of its own.
//!
//! Under exactly once the loop calls librdkafka's transactional API, which blocks the calling
//! thread. Each call takes a timeout, but librdkafka 2.12 does not always keep it:
//! `rd_kafka_send_offsets_to_transaction` waits for the result of its group-coordinator request
//! with no limit, and that request's own deadline is never checked (confluentinc/librdkafka#5456,
//! open; the call waits with `RD_POLL_INFINITE` in `rdkafka_txnmgr.c`). A chaos run found all three
//! analysers of a group stuck after the broker restarted: alive, `/healthz` answering OK, consuming
//! nothing, for five minutes — zombies.
//!
//! A call stuck inside librdkafka cannot be cancelled, and its client serves no other
//! transactional call until it returns, so the only way on is the crash-only one: past a call's
//! deadline the watchdog says which call stuck, and the process (see `kafka::run_with`) fails
//! `/healthz` and exits non-zero. The orchestrator starts it again; the broker aborts its open
//! transaction (`transaction.timeout.ms`), and the next owner of its partitions reads on from the
//! last committed transaction, so nothing is lost and a `read_committed` reader sees nothing twice.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long past its own timeout a call may run before it counts as stuck (at most a quarter of
/// the timeout): librdkafka returns a call that timed out within milliseconds.
const MARGIN: Duration = Duration::from_secs(2);

/// Less time than this is no time for a call to the broker.
pub const NO_TIME: Duration = Duration::from_millis(100);

/// When a call given `timeout` counts as stuck.
fn limit(timeout: Duration) -> Duration {
    timeout + MARGIN.min(timeout / 4).max(NO_TIME)
}

/// The timeout to give a call that must end by `deadline`, the watchdog's margin included.
pub fn within(deadline: Duration) -> Duration {
    let margin = (deadline / 5).clamp(NO_TIME.min(deadline), MARGIN);
    deadline - margin
}

/// What the watchdog reports of a call past its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// The call, as the guard named it (e.g. `send_offsets_to_transaction`).
    pub call: &'static str,
    /// How long it had been running when the watchdog looked.
    pub waited: Duration,
    /// Messages consumed and not committed, when the caller knew it.
    pub uncommitted: Option<u64>,
    /// Whether `call` is an armed step (the shutdown) rather than one client call.
    pub step: bool,
    /// For a step, the client call in progress when its deadline passed, if any.
    pub during: Option<&'static str>,
}

impl std::fmt::Display for Stuck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let waited = self.waited.as_secs_f64();
        if self.step {
            write!(
                f,
                "the {} did not end by its deadline ({waited:.1} s",
                self.call
            )?;
            if let Some(call) = self.during {
                write!(f, "; the Kafka client call {call} had not returned")?;
            }
            write!(f, ")")?;
        } else {
            write!(
                f,
                "the Kafka client call {} is stuck past its deadline ({waited:.1} s)",
                self.call
            )?;
        }
        if let Some(n) = self.uncommitted {
            write!(f, ", {n} messages left uncommitted")?;
        }
        Ok(())
    }
}

/// Watches the calls that hold a [`Guard`]; the first one past its deadline is reported once, and
/// then the watchdog stops.
pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    next_id: u64,
    calls: Vec<Call>,
    stopping: bool,
}

struct Call {
    id: u64,
    name: &'static str,
    started: Instant,
    deadline: Instant,
    uncommitted: Option<u64>,
    /// A deadline armed for a whole step (the shutdown), not one call: it stays until disarmed.
    armed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock is never held across anything that can panic; take the data as it is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A call under watch: its deadline is cleared when the guard is dropped.
#[must_use = "the call is watched only while the guard lives"]
pub struct Guard<'w> {
    shared: &'w Shared,
    id: u64,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.calls.retain(|c| c.id != self.id);
        // No need to wake the thread: a later deadline than it waits for can't be missed.
    }
}

impl Watchdog {
    /// Starts the watchdog's thread; `on_stuck` is called on it, once, for the first call found
    /// past its deadline.
    pub fn spawn(on_stuck: impl FnOnce(Stuck) + Send + 'static) -> std::io::Result<Watchdog> {
        let shared = Arc::new(Shared::default());
        let watched = shared.clone();
        let thread = std::thread::Builder::new()
            .name("earshot-watchdog".into())
            .spawn(move || {
                if let Some(stuck) = watch(&watched) {
                    on_stuck(stuck);
                }
            })?;
        Ok(Watchdog {
            shared,
            thread: Some(thread),
        })
    }

    /// Watches a call given `timeout` from now until the guard is dropped: it is stuck once the
    /// timeout and a margin have passed.
    pub fn guard(&self, call: &'static str, timeout: Duration) -> Guard<'_> {
        self.guard_counting(call, timeout, None)
    }

    /// [`Watchdog::guard`], for a call that leaves `uncommitted` messages behind if it sticks.
    pub fn guard_counting(
        &self,
        call: &'static str,
        timeout: Duration,
        uncommitted: Option<u64>,
    ) -> Guard<'_> {
        let id = self.watch(call, timeout, uncommitted, false);
        Guard {
            shared: &self.shared,
            id,
        }
    }

    /// Gives a whole step (`step`, e.g. the shutdown) `timeout` from now, whatever its thread is
    /// doing meanwhile: past it (and the margin) the step is reported with the call in progress,
    /// if any. Stays until [`Watchdog::disarm`].
    pub fn arm(&self, step: &'static str, timeout: Duration) {
        self.watch(step, timeout, None, true);
    }

    /// Adds a call (or an armed step) to those watched, wakes the thread, returns its id.
    fn watch(
        &self,
        name: &'static str,
        timeout: Duration,
        uncommitted: Option<u64>,
        armed: bool,
    ) -> u64 {
        let now = Instant::now();
        let mut state = self.shared.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.calls.push(Call {
            id,
            name,
            started: now,
            deadline: now + limit(timeout),
            uncommitted,
            armed,
        });
        drop(state);
        self.shared.changed.notify_all();
        id
    }

    /// The step armed as `step` ended: it is not watched any more.
    pub fn disarm(&self, step: &'static str) {
        self.shared
            .lock()
            .calls
            .retain(|c| !(c.armed && c.name == step));
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The watchdog's thread: sleeps until the earliest deadline (or a new call), and returns the
/// first call found past its deadline, or `None` when told to stop.
fn watch(shared: &Shared) -> Option<Stuck> {
    let mut state = shared.lock();
    loop {
        if state.stopping {
            return None;
        }
        let now = Instant::now();
        let earliest = state.calls.iter().min_by_key(|c| c.deadline);
        match earliest {
            Some(c) if c.deadline <= now => {
                // An armed step names the call it is waiting in (the oldest one watched).
                let during = if c.armed {
                    state
                        .calls
                        .iter()
                        .filter(|d| !d.armed)
                        .min_by_key(|d| d.started)
                } else {
                    None
                };
                return Some(Stuck {
                    call: c.name,
                    waited: now.duration_since(c.started),
                    uncommitted: during.map_or(c.uncommitted, |d| d.uncommitted),
                    step: c.armed,
                    during: during.map(|d| d.name),
                });
            }
            Some(c) => {
                let wait = c.deadline - now;
                state = shared
                    .changed
                    .wait_timeout(state, wait)
                    .map(|(s, _)| s)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            None => {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn watchdog() -> (Watchdog, mpsc::Receiver<Stuck>) {
        let (tx, rx) = mpsc::channel();
        let w = Watchdog::spawn(move |s| {
            let _ = tx.send(s);
        })
        .expect("thread");
        (w, rx)
    }

    #[test]
    fn a_call_past_its_deadline_is_reported_once_with_its_name() {
        let (w, rx) = watchdog();
        let _quick = w.guard("quick", Duration::from_secs(60));
        let _stuck = w.guard_counting(
            "send_offsets_to_transaction",
            Duration::from_millis(50),
            Some(17),
        );
        let s = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("reported within 10 s");
        assert_eq!(s.call, "send_offsets_to_transaction");
        assert_eq!(s.uncommitted, Some(17));
        assert!(s.waited >= Duration::from_millis(50), "{:?}", s.waited);
        assert!(
            s.to_string().contains("17 messages left uncommitted"),
            "{s}"
        );
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    }

    #[test]
    fn an_armed_step_past_its_deadline_names_the_call_it_waits_in() {
        let (w, rx) = watchdog();
        // A call with a long timeout of its own, under a shutdown with a short one.
        let _slow = w.guard("committed_offsets", Duration::from_secs(30));
        w.arm("shutdown", Duration::from_millis(50));
        let s = rx.recv_timeout(Duration::from_secs(10)).expect("reported");
        assert!(s.step);
        assert_eq!((s.call, s.during), ("shutdown", Some("committed_offsets")));
        assert!(s.waited < Duration::from_secs(5), "{:?}", s.waited);
        let said = s.to_string();
        assert!(
            said.contains("shutdown did not end by its deadline")
                && said.contains("committed_offsets had not returned"),
            "{said}"
        );
    }

    #[test]
    fn a_disarmed_step_is_never_reported() {
        let (w, rx) = watchdog();
        w.arm("shutdown", Duration::from_millis(40));
        w.disarm("shutdown");
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        // Armed with nothing in progress, it is reported on its own.
        w.arm("shutdown", Duration::from_millis(10));
        let s = rx.recv_timeout(Duration::from_secs(10)).expect("reported");
        assert_eq!((s.call, s.during, s.step), ("shutdown", None, true));
    }

    #[test]
    fn calls_that_return_in_time_are_never_reported() {
        let (w, rx) = watchdog();
        for _ in 0..20 {
            let _g = w.guard("commit_transaction", Duration::from_millis(40));
            std::thread::sleep(Duration::from_millis(2));
        }
        // Their deadlines pass with no call under watch.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        // A later call still is watched.
        let _g = w.guard("abort_transaction", Duration::from_millis(10));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10))
                .expect("reported")
                .call,
            "abort_transaction"
        );
    }

    #[test]
    fn a_call_given_the_time_left_ends_by_the_deadline_watchdog_included() {
        for secs in [1, 2, 5, 10, 30, 3600] {
            let deadline = Duration::from_secs(secs);
            let timeout = within(deadline);
            assert!(limit(timeout) <= deadline, "{deadline:?}: {timeout:?}");
            assert!(timeout >= deadline * 3 / 4, "most of it is the call's");
            assert!(limit(timeout) > timeout + NO_TIME / 2, "a margin is left");
        }
        // A call with no time of its own still gets the margin before it counts as stuck.
        assert_eq!(limit(Duration::ZERO), NO_TIME);
    }

    #[test]
    fn dropping_the_watchdog_stops_its_thread() {
        let (w, rx) = watchdog();
        let started = Instant::now();
        drop(w);
        assert!(started.elapsed() < Duration::from_secs(5));
        // The sender went with the thread: nothing was reported.
        assert!(matches!(
            rx.recv_timeout(Duration::from_millis(10)),
            Err(mpsc::RecvTimeoutError::Disconnected)
        ));
    }
}
