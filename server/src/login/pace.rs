//! Keeps the two answers of an endpoint that meets an address with or
//! without an account taking about as long (issue 19, enumeration by
//! timing). The answer for an existing account (or a new one) does database
//! writes the other does not; instead of faking those writes, the lighter
//! branch waits out the difference: each endpoint keeps an estimate of its
//! heavier branch's median time, and its lighter branch sleeps until it took
//! as long. Sleeping costs a timer, not a worker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One endpoint's running estimate of its heavier branch's median time, in
/// microseconds. A median, not a mean: latencies are skewed by the odd slow
/// commit, and an attacker compares medians.
pub struct Pace(AtomicU64);

/// Each sample moves the estimate a 32nd of itself toward it (a streaming
/// median estimate: up when the sample is above, down when below).
const STEP: u64 = 32;

/// The timer's granularity.
const TICK: Duration = Duration::from_millis(1);

impl Pace {
    pub const fn new() -> Self {
        Pace(AtomicU64::new(0))
    }

    /// The heavier branch finished; it started at `started`.
    pub fn heavy(&self, started: Instant) {
        let sample = micros(started.elapsed());
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |est| {
                let step = (est / STEP).max(1);
                Some(if est == 0 {
                    sample
                } else if sample > est {
                    est + step.min(sample - est)
                } else {
                    est - step.min(est - sample)
                })
            });
    }

    /// The lighter branch finished its own work: waits until it took as long
    /// as the heavier one usually does.
    pub async fn light(&self, started: Instant) {
        let target = Duration::from_micros(self.0.load(Ordering::Relaxed));
        // Tokio's timer fires on millisecond ticks: sleep to a tick short of
        // the target, then yield to the worker's other tasks until it is
        // reached. Release-build answers here take well under a millisecond,
        // so the timer alone left the lighter branch measurably faster.
        let coarse = target
            .saturating_sub(started.elapsed())
            .saturating_sub(TICK);
        if !coarse.is_zero() {
            tokio::time::sleep(coarse).await;
        }
        while started.elapsed() < target {
            tokio::task::yield_now().await;
        }
    }
}

impl Default for Pace {
    fn default() -> Self {
        Self::new()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Sign-up (API and screen): a new account (heavier) or a taken address.
pub static SIGN_UP: Pace = Pace::new();
/// Passkey-first sign-up's last step: a new account or a taken address.
pub static PASSKEY_SIGN_UP: Pace = Pace::new();
/// `change-email`: a free address (heavier) or a taken one.
pub static CHANGE_EMAIL: Pace = Pace::new();
/// `forget-password`: a known address (heavier) or an unknown one.
pub static FORGOT_PASSWORD: Pace = Pace::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_light_branch_waits_as_long_as_the_heavy_one_usually_takes() {
        let pace = Pace::new();
        pace.heavy(Instant::now() - Duration::from_millis(40));
        // One outlier moves the estimate a little, not to itself.
        pace.heavy(Instant::now() - Duration::from_secs(4));
        let estimate = pace.0.load(Ordering::Relaxed);
        assert!((40_000..45_000).contains(&estimate), "{estimate}");
        let light = Instant::now();
        pace.light(light).await;
        assert!(light.elapsed() >= Duration::from_micros(estimate));
        // A light branch slower than that does not wait at all.
        let slow = Instant::now() - Duration::from_millis(80);
        let before = Instant::now();
        pace.light(slow).await;
        assert!(before.elapsed() < Duration::from_millis(20));
    }

    /// Below the timer's millisecond ticks too: the answers this paces take
    /// well under a millisecond in a release build.
    #[tokio::test]
    async fn the_light_branch_is_paced_below_a_millisecond() {
        let pace = Pace::new();
        pace.heavy(Instant::now() - Duration::from_micros(700));
        let estimate = pace.0.load(Ordering::Relaxed);
        let light = Instant::now();
        pace.light(light).await;
        assert!(
            light.elapsed() >= Duration::from_micros(estimate),
            "{:?}",
            light.elapsed()
        );
    }
}
