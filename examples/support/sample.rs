//! The sample stream's valid messages, for the load tools (`kafkaload`, `chaos`); included with
//! `#[path]`, so it is not an example of its own.

/// Every line of `samples/stream.jsonl` that decodes, as bytes.
pub fn valid_messages() -> Vec<Vec<u8>> {
    include_str!("../../samples/stream.jsonl")
        .lines()
        .filter(|l| {
            earshot::decode::decode(
                Some(l.as_bytes()),
                earshot::decode::KindHint::Auto,
                Default::default(),
            )
            .is_ok()
        })
        .map(|l| l.as_bytes().to_vec())
        .collect()
}
