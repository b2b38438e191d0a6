//! Customer memory: one person heard across channels, product lines and time.
//!
//! Insights are about messages; this layer turns them into insights about people. It is pure, as
//! the analysis is: the shell decides where the state lives (a `HashMap` in a file run, an
//! embedded store per partition backed by a changelog topic in the daemon) and calls two functions:
//!
//! * [`step`] folds one insight into its customer's [`CustomerState`] and returns the
//!   [`CustomerInsight`]s it raises (or nothing for an insight applied before: a redelivery counts
//!   once);
//! * [`join`] merges one account's history into its customer's when an identity link arrives late.
//!
//! **Identity comes from first-party ids only** ([`Links`]): a customer key is a ticket's
//! `customer.id`, or a post's `platform:author id` until a link from a system that knows (CRM,
//! login, support desk) maps it to a customer id. Names, handles and text never join two people.
//!
//! [`Memory`] is the in-memory stage a file run and the scenario evaluation use.

pub mod cautious;
pub mod codec;
pub mod eval;
pub mod event;
pub mod observation;
pub mod offerings;
pub mod policy;
pub mod rules;
pub mod set;
pub mod state;
pub mod stored;

use std::collections::HashMap;

pub use event::{CustomerInsight, Severity, Type};
pub use observation::Observation;
pub use offerings::Offerings;
pub use policy::Policy;
pub use state::CustomerState;

use crate::insight::Insight;

/// Why an identity link record was refused (it becomes a dead letter; the link is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("a link needs a key: the account it links")]
    NoAccount,
    #[error("a link's value is empty (a tombstone has no value at all)")]
    Empty,
    #[error("a link's value is not UTF-8")]
    NotUtf8,
    #[error("a link's JSON value needs a non-empty string \"customer\"")]
    NoCustomer,
}

/// Reads an identity link record: the account (the record's key) and the customer it now belongs
/// to (`None`: a tombstone, the account is unlinked). The value is `{"customer": "CUS-1"}`, a JSON
/// string, or the bare id as text; anything else is refused, never guessed at.
pub fn parse_link(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<(String, Option<String>), LinkError> {
    let account = key
        .and_then(|k| std::str::from_utf8(k).ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(LinkError::NoAccount)?
        .to_string();
    let Some(value) = value else {
        return Ok((account, None));
    };
    let text = std::str::from_utf8(value)
        .map_err(|_| LinkError::NotUtf8)?
        .trim();
    if text.is_empty() {
        return Err(LinkError::Empty);
    }
    let customer = if text.starts_with('{') || text.starts_with('"') {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(v) => v
                .get("customer")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string(),
            Err(_) => String::new(),
        }
    } else {
        text.to_string()
    };
    let customer = customer.trim();
    if customer.is_empty() || customer.chars().any(char::is_control) {
        return Err(LinkError::NoCustomer);
    }
    Ok((account, Some(customer.to_string())))
}

/// Identity links: account (`platform:author id`, or any `party.id`) to customer id. Both sides as
/// they appear in insights (pseudonymised by the caller when pseudonymisation is on).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Links {
    to_customer: HashMap<String, String>,
}

impl Links {
    /// Sets (`Some`) or removes (`None`, a tombstone) the link of an account. Returns the customer
    /// the account was linked to before.
    pub fn set(&mut self, account: &str, customer: Option<&str>) -> Option<String> {
        match customer {
            Some(c) => self.to_customer.insert(account.to_string(), c.to_string()),
            None => self.to_customer.remove(account),
        }
    }

    /// The customer key of an account: its link, else the account itself.
    pub fn resolve<'a>(&'a self, account: &'a str) -> &'a str {
        self.to_customer
            .get(account)
            .map_or(account, String::as_str)
    }

    pub fn len(&self) -> usize {
        self.to_customer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.to_customer.is_empty()
    }

    /// Every (account, customer) link.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.to_customer
            .iter()
            .map(|(a, c)| (a.as_str(), c.as_str()))
    }
}

/// What the memory stage's repartition topic carries, keyed by customer key: an observation to
/// fold in, another history to merge in (a late identity link), or an erasure.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Observe(Box<Observation>),
    /// `id` makes a redelivered merge count once.
    Merge {
        id: uuid::Uuid,
        state: Box<CustomerState>,
    },
    Forget,
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The state changed.
    Changed,
    /// A redelivered observation or merge: nothing changed.
    Duplicate,
    /// The customer was erased.
    Erased,
}

/// Applies one command to a customer's state (`None`: nothing stored yet). Returns the new state
/// (`None` after an erasure), what happened and the customer insights raised.
pub fn apply(
    key: &str,
    state: Option<CustomerState>,
    command: Command,
    cx: &Context,
) -> (Option<CustomerState>, Applied, Vec<CustomerInsight>) {
    match command {
        Command::Forget => (None, Applied::Erased, Vec::new()),
        Command::Observe(o) => {
            let mut s = state.unwrap_or_else(|| CustomerState::new(key));
            match step(&mut s, &o, cx) {
                Some(raised) => (Some(s), Applied::Changed, raised),
                None => (Some(s), Applied::Duplicate, Vec::new()),
            }
        }
        Command::Merge { id, state: other } => {
            let mut s = state.unwrap_or_else(|| CustomerState::new(key));
            if s.has_seen(&id) {
                return (Some(s), Applied::Duplicate, Vec::new());
            }
            let raised = join(&mut s, *other, cx);
            s.mark_seen(id);
            (Some(s), Applied::Changed, raised)
        }
    }
}

/// The partition of a customer key in the memory stage's topics (FNV-1a, so every client and
/// every instance agrees without depending on a client's partitioner).
pub fn partition_of(key: &str, partitions: i32) -> i32 {
    let h = crate::polarity::data::id_hash(key);
    (h % partitions.max(1) as u64) as i32
}

/// The id of the merge of `account`'s history into `customer`'s.
pub fn merge_id(account: &str, customer: &str) -> uuid::Uuid {
    const NS: uuid::Uuid = uuid::Uuid::from_u128(0x5d1f_0c2e_7a44_4e8b_b1d0_3f6a_92c7_e015);
    uuid::Uuid::new_v5(&NS, format!("{account}->{customer}").as_bytes())
}

/// What the memory needs besides the state: its policy and our product lines.
#[derive(Debug)]
pub struct Context {
    pub policy: Policy,
    pub offerings: Offerings,
}

/// Folds one observation into its customer's state. `None` when the insight was applied before.
pub fn step(
    state: &mut CustomerState,
    o: &Observation,
    cx: &Context,
) -> Option<Vec<CustomerInsight>> {
    let triggers = state.apply(o, &cx.policy, &cx.offerings)?;
    let by = state::Ref::of(o);
    Some(rules::evaluate(state, &triggers, &by, &cx.policy))
}

/// Merges `account`'s own history into the customer's (an identity link that arrived after the
/// account had spoken) and returns what the joined history raises.
pub fn join(
    into: &mut CustomerState,
    account: CustomerState,
    cx: &Context,
) -> Vec<CustomerInsight> {
    let triggers = into.merge(account, &cx.policy);
    match into.evidence.last().cloned() {
        Some(by) if !triggers.is_empty() => rules::evaluate(into, &triggers, &by, &cx.policy),
        _ => Vec::new(),
    }
}

/// The customer memory held in memory: a file run's and the evaluation's stage.
#[derive(Debug)]
pub struct Memory {
    cx: Context,
    links: Links,
    customers: HashMap<String, CustomerState>,
}

impl Memory {
    pub fn new(cx: Context) -> Memory {
        Memory {
            cx,
            links: Links::default(),
            customers: HashMap::new(),
        }
    }

    /// Sets or removes an identity link. A link to a customer merges the account's history, if it
    /// has one of its own, into the customer's; what the joined history raises is returned.
    pub fn link(&mut self, account: &str, customer: Option<&str>) -> Vec<CustomerInsight> {
        self.links.set(account, customer);
        let Some(customer) = customer else {
            return Vec::new();
        };
        if account == customer {
            return Vec::new();
        }
        let Some(own) = self.customers.remove(account) else {
            return Vec::new();
        };
        let into = self
            .customers
            .entry(customer.to_string())
            .or_insert_with(|| CustomerState::new(customer));
        join(into, own, &self.cx)
    }

    /// Folds one insight in; returns the customer insights it raises.
    pub fn observe(&mut self, insight: &Insight) -> Vec<CustomerInsight> {
        self.observe_one(&Observation::of(insight))
    }

    /// Folds one observation in; returns the customer insights it raises.
    pub fn observe_one(&mut self, o: &Observation) -> Vec<CustomerInsight> {
        let key = self.links.resolve(&o.account).to_string();
        let state = self
            .customers
            .entry(key.clone())
            .or_insert_with(|| CustomerState::new(&key));
        step(state, o, &self.cx).unwrap_or_default()
    }

    /// Erases a customer: their state and every link to them. Returns whether there was state.
    pub fn forget(&mut self, customer: &str) -> bool {
        self.links.to_customer.retain(|_, c| c != customer);
        self.customers.remove(customer).is_some()
    }

    pub fn customer(&self, key: &str) -> Option<&CustomerState> {
        self.customers.get(key)
    }

    pub fn customers(&self) -> impl Iterator<Item = &CustomerState> {
        self.customers.values()
    }

    pub fn links(&self) -> &Links {
        &self.links
    }
}
