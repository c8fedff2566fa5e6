//! Operational monitoring: call latencies are counted into fixed buckets so that counts from
//! many nodes and many minutes add up, and percentiles are read back from the sums.

/// Upper bounds of the latency buckets, in microseconds; a last, open bucket holds the rest.
pub const BUCKETS_US: [i64; 17] = [
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000,
    5_000_000, 10_000_000, 30_000_000,
];

/// Number of buckets, the open one included.
pub const BUCKET_COUNT: usize = BUCKETS_US.len() + 1;

/// The bucket of a latency.
pub fn bucket(latency_us: i64) -> usize {
    BUCKETS_US.iter().position(|b| latency_us <= *b).unwrap_or(BUCKETS_US.len())
}

/// The latency (µs) at or below which a fraction `q` of the counted calls fell: the upper bound
/// of the bucket where the `q`-th call lies (so an estimate that errs high, never low). None when
/// nothing was counted; the open bucket reports the largest bound.
pub fn percentile(counts: &[i64], q: f64) -> Option<i64> {
    let total: i64 = counts.iter().sum();
    if total <= 0 {
        return None;
    }
    let rank = ((total as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return Some(*BUCKETS_US.get(i).unwrap_or(BUCKETS_US.last().expect("non-empty")));
        }
    }
    BUCKETS_US.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_and_percentiles() {
        assert_eq!(bucket(50), 0);
        assert_eq!(bucket(100), 0);
        assert_eq!(bucket(101), 1);
        assert_eq!(bucket(60_000_000), BUCKET_COUNT - 1);
        let mut counts = vec![0; BUCKET_COUNT];
        counts[bucket(150)] = 90;
        counts[bucket(4_000)] = 9;
        counts[bucket(40_000)] = 1;
        assert_eq!(percentile(&counts, 0.5), Some(200));
        assert_eq!(percentile(&counts, 0.95), Some(5_000));
        assert_eq!(percentile(&counts, 0.999), Some(50_000));
        assert_eq!(percentile(&[0; BUCKET_COUNT], 0.5), None);
    }

    proptest! {
        /// The estimate is never below the true percentile of the samples.
        #[test]
        fn percentiles_err_high(mut samples in prop::collection::vec(1i64..40_000_000, 1..300), q in 0.01f64..1.0) {
            let mut counts = vec![0; BUCKET_COUNT];
            for s in &samples { counts[bucket(*s)] += 1; }
            samples.sort_unstable();
            let rank = ((samples.len() as f64) * q).ceil().max(1.0) as usize;
            let truth = samples[rank - 1];
            let est = percentile(&counts, q).unwrap();
            prop_assert!(est >= truth.min(*BUCKETS_US.last().unwrap()));
        }
    }
}
