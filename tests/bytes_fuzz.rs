//! Property tests: no bytes from the outside panic a reader. What earshot reads from Kafka is input
//! nobody here controls: the messages of the input topics, and the records of its own changelog and
//! repartition topics, which a bad disk, a wrong topic name or another build's format can corrupt.
//! Each reader is given real records (from the sample stream, analysed, remembered and routed) with
//! bytes flipped, inserted, removed and cut, and must answer with a value or an error, never a
//! panic; an input message's error must be a dead-letter reason with a message for people.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use earshot::analyze::Analyzer;
use earshot::catalog::Catalog;
use earshot::decode::{KindHint, Limits, Reason};
use earshot::insight::{Insight, SourceRef};
use earshot::market::heard::Stems;
use earshot::market::shard::{route, Reading, Shard, Volumes};
use earshot::memory::{self, codec, Command, Context, Memory, Observation, Offerings, Policy};
use proptest::prelude::*;

/// The system allocator, noting the largest single request of each thread: a reader that trusts a
/// stated length asks for it whole, and a request the machine can grant (a gigabyte) would not
/// fail by itself. Each property bounds what one case may ask for.
struct Ceiling;

thread_local! {
    static LARGEST: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every call is passed to the system allocator unchanged; noting a size allocates nothing.
unsafe impl std::alloc::GlobalAlloc for Ceiling {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        note(layout.size());
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        note(layout.size());
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        note(new);
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Ceiling = Ceiling;

/// The largest single allocation `f` asked for on this thread.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(std::cell::Cell::get))
}

/// What reading one record of a few kilobytes may ask for at once: serde reserves at most 1 MiB
/// for a sequence of stated length.
const RECORD_CEILING: usize = 8 << 20;

fn analyzer() -> &'static Analyzer {
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| {
        let catalog = Catalog::parse(include_str!("../config/catalog.toml")).expect("catalog");
        Analyzer::new(catalog).expect("analyzer")
    })
}

fn lines() -> Vec<&'static str> {
    include_str!("../samples/stream.jsonl").lines().collect()
}

fn at(offset: usize) -> SourceRef {
    SourceRef {
        topic: "fuzz".into(),
        partition: 0,
        offset: offset as i64,
    }
}

/// The sample stream's insights.
fn insights() -> &'static [Insight] {
    static INSIGHTS: OnceLock<Vec<Insight>> = OnceLock::new();
    INSIGHTS.get_or_init(|| {
        lines()
            .iter()
            .enumerate()
            .filter_map(|(n, l)| {
                earshot::process::process(
                    Some(l.as_bytes()),
                    KindHint::Auto,
                    Limits::default(),
                    analyzer(),
                    at(n),
                    DateTime::<Utc>::UNIX_EPOCH,
                )
                .ok()
            })
            .collect()
    })
}

/// Records as earshot writes them: customer states and memory commands (the memory stage's
/// changelog and repartition topics), readings and market state (the market stage's).
struct Records {
    states: Vec<Vec<u8>>,
    commands: Vec<Vec<u8>>,
    readings: Vec<Vec<u8>>,
    shard: Vec<(String, Vec<u8>)>,
}

fn context() -> Context {
    let catalog = Catalog::parse(earshot::catalog::SAMPLE).expect("sample catalog");
    Context {
        policy: Policy::default(),
        offerings: Offerings::of(&catalog),
    }
}

fn records() -> &'static Records {
    static RECORDS: OnceLock<Records> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let catalog = Catalog::parse(earshot::catalog::SAMPLE).expect("sample catalog");
        let mut memory = Memory::new(Context {
            policy: Policy::default(),
            offerings: Offerings::of(&catalog),
        });
        let mut commands = Vec::new();
        for i in insights() {
            memory.observe(i);
            let c = Command::Observe(Box::new(Observation::of(i)));
            commands.push(codec::encode_command(&c).expect("encodes"));
        }
        commands.push(codec::encode_command(&Command::Forget).expect("encodes"));
        let mut states: Vec<Vec<u8>> = Vec::new();
        for (n, s) in memory.customers().enumerate() {
            states.push(codec::encode_state(s).expect("encodes"));
            // Format 1, as earlier builds wrote it, and a merge that carries a whole state.
            if n % 4 == 0 {
                states.push(codec::encode_state_v1(s).expect("encodes"));
                let merge = Command::Merge {
                    id: uuid::Uuid::from_u128(n as u128),
                    state: Box::new(s.clone()),
                };
                commands.push(codec::encode_command(&merge).expect("encodes"));
            }
        }
        let mut stems = Stems::default();
        let mut shard = Shard::new(earshot::market::Policy::default());
        let volumes = Volumes::default();
        let mut readings = Vec::new();
        for (n, i) in insights().iter().enumerate() {
            for (brand, r) in route(i, (0, n as i64), &mut stems) {
                readings.push(r.encode().expect("encodes"));
                shard.observe(&brand, &r, &volumes);
            }
        }
        let shard = shard.changes().expect("encodes");
        assert!(states.len() > 50 && readings.len() > 100 && shard.len() > 3);
        Records {
            states,
            commands,
            readings,
            shard,
        }
    })
}

/// One change to a record's bytes.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Cut(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, bit)| Edit::Flip(at, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Cut),
    ];
    prop::collection::vec(edit, 1..6)
}

fn edited(original: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = original.to_vec();
    for e in edits {
        let n = b.len();
        match *e {
            Edit::Flip(at, bit) if n > 0 => b[at % n] ^= bit,
            Edit::Set(at, v) if n > 0 => b[at % n] = v,
            Edit::Insert(at, v) => b.insert(at % (n + 1), v),
            Edit::Remove(at) if n > 0 => {
                b.remove(at % n);
            }
            Edit::Cut(at) => b.truncate(at % (n + 1)),
            _ => {}
        }
    }
    b
}

/// JSON-aware damage to an input message: a field's value replaced by another JSON value.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("")),
        Just(serde_json::Value::from("2026-13-45T25:61:00Z")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a path of indices (into an object's keys or an array, cycled); where the
/// path runs out of containers, the value reached is replaced.
fn replace(v: &mut serde_json::Value, path: &[usize], with: serde_json::Value) {
    let Some((&k, rest)) = path.split_first() else {
        *v = with;
        return;
    };
    match v {
        serde_json::Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(k % m.len()).cloned().unwrap_or_default();
            if let Some(next) = m.get_mut(&key) {
                replace(next, rest, with);
            }
        }
        serde_json::Value::Array(a) if !a.is_empty() => {
            let n = a.len();
            replace(&mut a[k % n], rest, with);
        }
        _ => *v = with,
    }
}

fn check_message(bytes: &[u8]) -> Result<(), TestCaseError> {
    let out = earshot::process::process(
        Some(bytes),
        KindHint::Auto,
        Limits::default(),
        analyzer(),
        at(0),
        DateTime::<Utc>::UNIX_EPOCH,
    );
    match out {
        Ok(insight) => {
            let json = serde_json::to_vec(&insight);
            prop_assert!(json.is_ok(), "an insight that does not encode: {json:?}");
        }
        Err(e) => {
            prop_assert!(Reason::ALL.contains(&e.reason));
            prop_assert!(
                !e.message.trim().is_empty(),
                "{:?} without a message",
                e.reason
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// An input message with bytes flipped, inserted, removed or cut becomes an insight or a dead
    /// letter with a reason and a message.
    #[test]
    fn a_damaged_message_is_an_insight_or_a_dead_letter(line in any::<prop::sample::Index>(), e in edits()) {
        let lines = lines();
        let original = lines[line.index(lines.len())].as_bytes();
        check_message(&edited(original, &e))?;
    }

    /// The same for well-formed JSON with a field of another type or shape: a number for a text, a
    /// nested object for a time, an empty string for an id.
    #[test]
    fn a_message_with_a_field_of_another_shape_is_an_insight_or_a_dead_letter(
        line in any::<prop::sample::Index>(),
        path in prop::collection::vec(any::<usize>(), 1..4),
        with in json_value(),
    ) {
        let lines = lines();
        let original = lines[line.index(lines.len())];
        let Ok(mut v) = serde_json::from_str::<serde_json::Value>(original) else {
            // The sample's malformed lines: damaged as bytes above.
            return Ok(());
        };
        replace(&mut v, &path, with);
        check_message(&serde_json::to_vec(&v).expect("encodes"))?;
    }

    /// A damaged customer state or memory command, as the changelog or the repartition topic may
    /// carry one, reads as a value or an error.
    #[test]
    fn a_damaged_memory_record_reads_or_is_refused(k in any::<prop::sample::Index>(), e in edits()) {
        let r = records();
        let state = &r.states[k.index(r.states.len())];
        // A state that still decodes takes the customer's next message and is written again, as
        // the stage does with it.
        let damaged = edited(state, &e);
        let (decoded, largest) = largest_allocation(|| codec::decode_state(&damaged));
        prop_assert!(largest <= RECORD_CEILING, "a state of {} bytes asked for {largest}", damaged.len());
        if let Ok(mut s) = decoded {
            let next = &insights()[k.index(insights().len())];
            memory::step(&mut s, &Observation::of(next), &context());
            prop_assert!(codec::encode_state(&s).is_ok());
        }
        let command = &r.commands[k.index(r.commands.len())];
        let damaged = edited(command, &e);
        let (decoded, largest) = largest_allocation(|| codec::decode_command(&damaged));
        prop_assert!(largest <= RECORD_CEILING, "a command of {} bytes asked for {largest}", damaged.len());
        if let Ok(c) = decoded {
            let state = codec::decode_state(state).ok();
            let (after, _, _) = memory::apply("CUS-1", state, c, &context());
            if let Some(s) = after {
                prop_assert!(codec::encode_state(&s).is_ok());
            }
        }
    }

    /// A damaged market reading or market state record reads as a value or an error; what still
    /// decodes is used as the stage uses it: a reading folded into a shard, a restored shard
    /// taking the next reading, its windows advanced, closed when idle and written again.
    #[test]
    fn a_damaged_market_record_reads_or_is_refused(
        k in any::<prop::sample::Index>(),
        e in edits(),
        key_edits in prop::option::of(edits()),
    ) {
        let r = records();
        let reading = &r.readings[k.index(r.readings.len())];
        let damaged = edited(reading, &e);
        let (decoded, largest) = largest_allocation(|| Reading::decode(&damaged));
        prop_assert!(largest <= RECORD_CEILING, "a reading of {} bytes asked for {largest}", damaged.len());
        let volumes = Volumes::default();
        if let Ok(one) = decoded {
            let mut shard = Shard::new(earshot::market::Policy::default());
            shard.observe("larkspur", &one, &volumes);
            shard.advance();
            prop_assert!(shard.changes().is_ok());
        }
        let (key, value) = &r.shard[k.index(r.shard.len())];
        let key = match &key_edits {
            Some(ke) => String::from_utf8_lossy(&edited(key.as_bytes(), ke)).into_owned(),
            None => key.clone(),
        };
        let damaged = edited(value, &e);
        let mut shard = Shard::new(earshot::market::Policy::default());
        let (restored, largest) = largest_allocation(|| shard.restore(&key, &damaged));
        prop_assert!(largest <= RECORD_CEILING, "a record of {} bytes asked for {largest}", damaged.len());
        if restored.is_ok() {
            let brands: Vec<String> = shard.brand_names().map(str::to_string).collect();
            let next = Reading::decode(&r.readings[k.index(r.readings.len())]).expect("decodes");
            for brand in brands.iter().chain(std::iter::once(&"larkspur".to_string())) {
                shard.observe(brand, &next, &volumes);
            }
            shard.advance();
            let latest = shard.latest().unwrap_or(0);
            shard.idle(latest.saturating_add(7 * 86_400));
            prop_assert!(shard.changes().is_ok());
        }
    }

    /// An insight on the insight topic that someone else wrote, or damaged in a field (a span
    /// past the text's end or inside a character, a number where a text was, a time out of
    /// range), is read by the memory and market stages as a message to fold in or to refuse.
    #[test]
    fn a_damaged_insight_is_folded_in_or_refused(
        k in any::<prop::sample::Index>(),
        path in prop::collection::vec(any::<usize>(), 1..5),
        with in prop_oneof![
            json_value(),
            any::<u32>().prop_map(serde_json::Value::from),
            (0..400u32).prop_map(serde_json::Value::from),
        ],
        e in edits(),
        as_bytes in any::<bool>(),
    ) {
        let insights = insights();
        let original = serde_json::to_value(&insights[k.index(insights.len())]).expect("encodes");
        let bytes = if as_bytes {
            edited(&serde_json::to_vec(&original).expect("encodes"), &e)
        } else {
            let mut v = original;
            replace(&mut v, &path, with);
            serde_json::to_vec(&v).expect("encodes")
        };
        let Ok(insight) = serde_json::from_slice::<Insight>(&bytes) else {
            return Ok(());
        };
        // The memory stage: an observation, folded into its customer.
        let catalog = Catalog::parse(earshot::catalog::SAMPLE).expect("sample catalog");
        let mut memory = Memory::new(Context {
            policy: Policy::default(),
            offerings: Offerings::of(&catalog),
        });
        memory.observe(&insight);
        let command = codec::encode_command(&Command::Observe(Box::new(Observation::of(&insight))));
        prop_assert!(command.is_ok());
        // The market stage: a reading per brand, folded into its windows.
        let mut stems = Stems::default();
        let mut shard = Shard::new(earshot::market::Policy::default());
        for (brand, r) in route(&insight, (0, 1), &mut stems) {
            prop_assert!(Reading::decode(&r.encode().expect("encodes")).is_ok());
            shard.observe(&brand, &r, &Volumes::default());
        }
        prop_assert!(shard.changes().is_ok());
    }

    /// An insight said at any time chrono can hold, from the first year to the last (a source's
    /// clock or a parser gone wrong), is folded into a customer's memory beside messages of today
    /// and into the market's windows, without an overflow.
    #[test]
    fn an_insight_at_any_time_is_folded_in(
        k in any::<prop::sample::Index>(),
        secs in prop_oneof![
            Just(DateTime::<Utc>::MIN_UTC.timestamp()),
            Just(DateTime::<Utc>::MAX_UTC.timestamp()),
            DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
            -100_000_000_000i64..100_000_000_000,
        ],
        first in any::<bool>(),
    ) {
        let insights = insights();
        let mut odd = insights[k.index(insights.len())].clone();
        odd.occurred_at = DateTime::from_timestamp(secs, 0).expect("in range");
        let today = insights[(k.index(insights.len()) + 1) % insights.len()].clone();
        let order = if first { [&odd, &today] } else { [&today, &odd] };
        let mut memory = Memory::new(context());
        let mut stems = Stems::default();
        let mut shard = Shard::new(earshot::market::Policy::default());
        for (n, i) in order.into_iter().enumerate() {
            memory.observe(i);
            for (brand, r) in route(i, (0, n as i64), &mut stems) {
                shard.observe(&brand, &r, &Volumes::default());
            }
        }
        for c in memory.customers() {
            prop_assert!(codec::encode_state(c).is_ok());
        }
        prop_assert!(shard.changes().is_ok());
    }

    /// An identity link record of any key and value bytes is a link, an unlink or an error.
    #[test]
    fn any_link_record_is_a_link_or_refused(
        key in prop::option::of(prop::collection::vec(any::<u8>(), 0..24)),
        value in prop::option::of(prop_oneof![
            prop::collection::vec(any::<u8>(), 0..48),
            json_value().prop_map(|v| serde_json::to_vec(&v).expect("encodes")),
        ]),
    ) {
        if let Ok((account, customer)) = memory::parse_link(key.as_deref(), value.as_deref()) {
            prop_assert!(!account.trim().is_empty());
            if let Some(c) = customer {
                prop_assert!(!c.is_empty() && !c.chars().any(char::is_control));
            }
        }
    }
}
