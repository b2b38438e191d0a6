//! The binary form of what the memory stage keeps and moves: a customer's state (its store and
//! changelog values) and a command (its repartition topic's values).
//!
//! [postcard](https://docs.rs/postcard) (serde, varints, no field names) behind one format byte.
//! JSON was the first form: three to four times larger to parse and write per record than the
//! rule work itself (the stage's per-record throughput was a quarter of the core's), and its
//! float parsing is not exact to the last bit, so a state restored from the changelog could differ
//! from the one that wrote it (the chaos run found it). Here an `f64` is its eight bytes and a
//! time is its seconds and nanoseconds since the epoch.
//!
//! The format byte says which layout follows; a value of another format is an error that names
//! it, never a silently wrong state. Changing the layout of [`CustomerState`] or [`Command`]
//! (adding a field, say) means a new format byte and a decoder for the old one.
//!
//! * Format 1: the serde layout of the type itself. Commands are written in it; states were, and
//!   a state of format 1 (a changelog written by an earlier build) still reads.
//! * Format 2, states only ([`super::stored`]): the same fields with each evidence quote once.

use super::{stored, Command, CustomerState};

/// The format commands are written in (and states were).
pub const FORMAT: u8 = 1;
/// The format states are written in.
pub const STATE_FORMAT: u8 = 2;

/// A value that does not decode.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("empty value")]
    Empty,
    #[error("format {0} is not known (this build reads formats {FORMAT} and {STATE_FORMAT})")]
    Format(u8),
    #[error("{0}")]
    Postcard(#[from] postcard::Error),
    #[error("{0}")]
    Stored(#[from] stored::StoredError),
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(2048);
    out.push(FORMAT);
    postcard::to_io(value, &mut out)?;
    Ok(out)
}

fn decode<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&FORMAT, rest)) => Ok(postcard::from_bytes(rest)?),
        Some((&other, _)) => Err(CodecError::Format(other)),
    }
}

/// A customer's state as the store and the changelog hold it.
pub fn encode_state(state: &CustomerState) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(4096);
    out.push(STATE_FORMAT);
    stored::write(state, &mut out)?;
    Ok(out)
}

/// A state of format 2, or of format 1 (written by an earlier build).
pub fn decode_state(bytes: &[u8]) -> Result<CustomerState, CodecError> {
    match bytes.split_first() {
        Some((&STATE_FORMAT, rest)) => Ok(stored::read(rest)?),
        _ => decode(bytes),
    }
}

/// A state in format 1, as builds before format 2 wrote it (for tests of reading it back).
pub fn encode_state_v1(state: &CustomerState) -> Result<Vec<u8>, CodecError> {
    encode(state)
}

/// A command as the repartition topic carries it.
pub fn encode_command(command: &Command) -> Result<Vec<u8>, CodecError> {
    encode(command)
}

pub fn decode_command(bytes: &[u8]) -> Result<Command, CodecError> {
    decode(bytes)
}

/// A time as RFC 3339 text in JSON (and every human-readable format), and as seconds and
/// nanoseconds since the epoch in the binary form: `#[serde(with = "stamp")]`.
pub(crate) mod stamp {
    use chrono::{DateTime, Utc};
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            // The same text as chrono's own `Serialize` (a test holds them together), without
            // its `Display` machinery: that was 2.4% of the memory stage's per-record work, in
            // the evidence of customer insights (callgrind, examples/memory_speed).
            crate::insight::rfc3339(t, s)
        } else {
            (t.timestamp(), t.timestamp_subsec_nanos()).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        if d.is_human_readable() {
            DateTime::<Utc>::deserialize(d)
        } else {
            let (secs, nanos) = <(i64, u32)>::deserialize(d)?;
            DateTime::from_timestamp(secs, nanos)
                .ok_or_else(|| D::Error::custom(format!("time out of range: {secs} s {nanos} ns")))
        }
    }

    /// The same for an optional time.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            #[derive(Serialize)]
            struct W(#[serde(with = "super")] DateTime<Utc>);
            t.map(W).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            #[derive(Deserialize)]
            struct W(#[serde(with = "super")] DateTime<Utc>);
            Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    #[test]
    fn a_stamp_reads_as_chrono_writes_it_and_both_forms_read_back() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Ours(#[serde(with = "super::stamp")] DateTime<Utc>);
        for t in crate::insight::awkward_times() {
            let text = serde_json::to_string(&Ours(t)).expect("encodes");
            assert_eq!(text, serde_json::to_string(&t).expect("encodes"), "{t:?}");
            assert_eq!(
                serde_json::from_str::<Ours>(&text).expect("decodes"),
                Ours(t)
            );
            let bytes = postcard::to_stdvec(&Ours(t)).expect("encodes");
            assert_eq!(
                postcard::from_bytes::<Ours>(&bytes).expect("decodes"),
                Ours(t)
            );
        }
    }
}
