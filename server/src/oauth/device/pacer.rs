//! `slow_down` pacing of device polls (RFC 8628 §3.5), kept in memory per
//! instance so that polls never write to the database.

use std::time::Duration;

use moka::sync::Cache;

/// When each device last polled and its current interval.
pub struct Pacer {
    last: Cache<String, (i64, i64)>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            last: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        }
    }
}

impl Pacer {
    /// Records a poll; `Err(new_interval)` when it came too early (RFC 8628
    /// §3.5: each too-early poll adds 5 seconds).
    pub fn poll(&self, device: &str, now: i64, base_interval: i64) -> Result<(), i64> {
        let mut verdict = Ok(());
        let entry = match self.last.get(device) {
            None => (now, base_interval),
            Some((last, interval)) if now - last < interval => {
                verdict = Err(interval + 5);
                (now, interval + 5)
            }
            Some((_, interval)) => (now, interval),
        };
        self.last.insert(device.to_string(), entry);
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_adds_five_seconds_per_early_poll() {
        let p = Pacer::default();
        assert_eq!(p.poll("d", 100, 5), Ok(()));
        assert_eq!(p.poll("d", 102, 5), Err(10));
        assert_eq!(p.poll("d", 105, 5), Err(15));
        assert_eq!(p.poll("d", 121, 5), Ok(()));
    }
}
