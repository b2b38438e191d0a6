//! How sure a figure measured on a sample of rows is: the percentile bootstrap. The rows are drawn
//! again with replacement, the figure computed on each draw, and the 2.5th and 97.5th percentiles
//! of those figures bound a 95% interval. The draws are seeded, so an evaluation prints the same
//! interval at every run.

/// Calls `each` with `draws` resamples of `0..n`: `n` row indices each, drawn with replacement
/// from a fixed seed ([`crate::lcg`], as training shuffles). Nothing is drawn from no rows.
pub fn resample(n: usize, draws: usize, mut each: impl FnMut(&[usize])) {
    if n == 0 {
        return;
    }
    let mut state = 0x5eed_u64;
    let mut rows = vec![0usize; n];
    for _ in 0..draws {
        for r in rows.iter_mut() {
            *r = (crate::lcg::next(&mut state) % n as u64) as usize;
        }
        each(&rows);
    }
}

/// The `q` quantile of `sorted` (ascending): the value at rank `q (n − 1)`, rounded; none of no
/// values.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get((last as f64 * q).round() as usize).copied()
}

/// The 95% interval of a figure's values over the draws (in any order): their 2.5th and 97.5th
/// percentiles; none of no draws.
pub fn interval(mut values: Vec<f64>) -> Option<(f64, f64)> {
    values.sort_by(f64::total_cmp);
    Some((percentile(&values, 0.025)?, percentile(&values, 0.975)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_read_at_their_rank() {
        let d: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(percentile(&d, 0.025), Some(25.0));
        assert_eq!(percentile(&d, 0.975), Some(974.0));
        assert_eq!(percentile(&d, 0.0), Some(0.0));
        assert_eq!(percentile(&d, 1.0), Some(999.0));
        assert_eq!(percentile(&[3.0], 0.975), Some(3.0));
        assert_eq!(percentile(&[], 0.5), None);
        let shuffled: Vec<f64> = (0..1000).map(|k| f64::from((k * 617) % 1000)).collect();
        assert_eq!(interval(shuffled), Some((25.0, 974.0)));
        assert_eq!(interval(Vec::new()), None);
    }

    #[test]
    fn draws_are_seeded_cover_the_rows_and_stay_in_range() {
        let mut first = Vec::new();
        resample(50, 20, |rows| first.push(rows.to_vec()));
        let mut again = Vec::new();
        resample(50, 20, |rows| again.push(rows.to_vec()));
        assert_eq!(first.len(), 20);
        assert_eq!(first, again, "seeded");
        assert!(first
            .iter()
            .all(|d| d.len() == 50 && d.iter().all(|&r| r < 50)));
        assert_ne!(first[0], first[1], "each draw is new");
        let mut seen = [false; 50];
        first.iter().flatten().for_each(|&r| seen[r] = true);
        assert!(seen.iter().all(|s| *s), "every row drawn somewhere");
        let mut calls = 0;
        resample(0, 20, |_| calls += 1);
        assert_eq!(calls, 0);
    }
}
