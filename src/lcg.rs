//! The project's one seeded generator: a 64-bit linear congruential generator (Knuth's MMIX
//! constants), read by its high bits. Training shuffles with it and the evaluations' bootstrap
//! draws with it, so the same data gives the same model file and the same interval on every
//! machine.

/// Advances `state` and returns its high 31 bits.
pub fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

/// Fisher-Yates, continuing from `state`: the same order on every machine.
pub fn shuffle(order: &mut [usize], state: &mut u64) {
    for i in (1..order.len()).rev() {
        order.swap(i, next(state) as usize % (i + 1));
    }
}
