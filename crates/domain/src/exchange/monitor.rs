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

/// What one group of calls (a minute, a service, a client, an outcome ...) added up to. Tallies
/// of different minutes and nodes merge by adding, buckets included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub requests: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
    /// Sum of the latencies, for the mean.
    pub duration_us: i64,
    /// Calls per latency bucket ([`BUCKET_COUNT`] of them).
    pub buckets: Vec<i64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self { requests: 0, bytes_in: 0, bytes_out: 0, duration_us: 0, buckets: vec![0; BUCKET_COUNT] }
    }
}

impl Tally {
    /// Counts one call.
    pub fn record(&mut self, latency_us: i64, bytes_in: i64, bytes_out: i64) {
        let latency_us = latency_us.max(0);
        self.requests += 1;
        self.bytes_in += bytes_in.max(0);
        self.bytes_out += bytes_out.max(0);
        self.duration_us = self.duration_us.saturating_add(latency_us);
        self.buckets[bucket(latency_us)] += 1;
    }

    /// Adds another tally (of another minute, node or outcome). Buckets of another length (a
    /// row written by a version with other buckets) are added as far as they go.
    pub fn merge(&mut self, other: &Tally) {
        self.requests += other.requests;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.duration_us = self.duration_us.saturating_add(other.duration_us);
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
    }

    /// The mean latency in milliseconds, if anything was counted.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.duration_us as f64 / self.requests as f64 / 1000.0)
    }

    /// A percentile of the latency in milliseconds (see [`percentile`]: errs high).
    pub fn percentile_ms(&self, q: f64) -> Option<f64> {
        percentile(&self.buckets, q).map(|us| us as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_tally_counts_calls_and_reads_back_their_latencies() {
        let mut t = Tally::default();
        t.record(150, 10, 200);
        t.record(4_000, 0, 50);
        t.record(-5, 0, 0);
        assert_eq!((t.requests, t.bytes_in, t.bytes_out, t.duration_us), (3, 10, 250, 4_150));
        assert_eq!(t.percentile_ms(0.5), Some(0.2));
        assert_eq!(t.percentile_ms(1.0), Some(5.0));
        assert!((t.mean_ms().unwrap() - 4_150.0 / 3.0 / 1000.0).abs() < 1e-9);
        assert_eq!(Tally::default().mean_ms(), None);
        assert_eq!(Tally::default().percentile_ms(0.5), None);
    }

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
        /// Tallies of parts merged equal the tally of the whole, however the calls were split.
        #[test]
        fn merging_parts_is_counting_the_whole(calls in prop::collection::vec((0i64..40_000_000, 0i64..1_000_000, 0i64..1_000_000), 0..200), cut in 0usize..200) {
            let cut = cut.min(calls.len());
            let (mut whole, mut a, mut b) = (Tally::default(), Tally::default(), Tally::default());
            for (i, (lat, inb, outb)) in calls.iter().enumerate() {
                whole.record(*lat, *inb, *outb);
                if i < cut { a.record(*lat, *inb, *outb) } else { b.record(*lat, *inb, *outb) }
            }
            a.merge(&b);
            prop_assert_eq!(a, whole);
        }

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
