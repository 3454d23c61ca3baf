//! Token buckets in moka, keyed by (route family, ip | account). Each
//! instance counts on its own: with N instances an attacker gets at most N
//! times the budget, which keeps every guessable secret out of reach.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

use crate::domain::ids::ClientId;

pub use crate::config::RateLimitSettings;

/// What is being limited; each family has its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    SignIn,
    SignUp,
    Registration,
    /// User codes typed on `/device` (34 bits must not be guessable).
    DeviceCode,
    /// Requests that send mail (reset, verification): no mail bombing.
    Mail,
    /// Magic-link requests, per address and per account (seed 003: 5/min).
    MagicLink,
    /// TOTP and backup codes (a million 6-digit codes must stay out of reach).
    SecondFactor,
    /// Passkey sign-in ceremonies (each stores a challenge).
    Passkey,
    /// Device authorization requests per address (each stores a row).
    DeviceAuthorization,
    /// Device authorization requests per client.
    DeviceAuthorizationClient,
    /// 6-digit email codes tried (each code also allows only five guesses).
    EmailCode,
    /// Fetches of one client ID metadata document.
    DocumentFetch,
    /// Fetches of all metadata documents together, per instance.
    DocumentFetchTotal,
    /// Fetches of metadata documents caused by one client address.
    DocumentFetchAddress,
    /// Sign-ins started at an upstream provider (each stores a row).
    Upstream,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: f64,
}

/// The request must wait this many seconds (for `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

pub struct RateLimiter {
    buckets: Cache<(Family, String), Arc<Mutex<Bucket>>>,
    limits: RateLimitSettings,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(RateLimitSettings::default())
    }
}

impl RateLimiter {
    pub fn new(limits: RateLimitSettings) -> Self {
        RateLimiter {
            buckets: Cache::builder()
                .max_capacity(200_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            limits,
        }
    }

    /// Requests per minute for a family; the burst is the same number.
    fn per_minute(&self, family: Family) -> f64 {
        let l = &self.limits;
        match family {
            Family::SignIn => l.sign_in,
            Family::SignUp => l.sign_up,
            Family::Registration => l.registration,
            Family::DeviceCode => l.device_code,
            Family::Mail => l.mail,
            Family::MagicLink => l.magic_link,
            Family::SecondFactor => l.second_factor,
            Family::Passkey => l.passkey,
            Family::DeviceAuthorization => l.device_authorization,
            Family::DeviceAuthorizationClient => l.device_authorization_client,
            Family::EmailCode => l.email_code,
            Family::DocumentFetch => l.document_fetch,
            Family::DocumentFetchTotal => l.document_fetch_total,
            Family::DocumentFetchAddress => l.document_fetch_address,
            Family::Upstream => l.upstream,
        }
    }

    /// Takes one token for `key` in `family` at time `now` (seconds, may be
    /// fractional), or says how long to wait.
    pub fn check(&self, family: Family, key: &str, now: f64) -> Result<(), RetryAfter> {
        let per_minute = self.per_minute(family).max(1.0);
        let burst = per_minute;
        let rate = per_minute / 60.0;
        let bucket = self.buckets.get_with((family, key.to_string()), || {
            Arc::new(Mutex::new(Bucket {
                tokens: burst,
                updated: now,
            }))
        });
        let Ok(mut b) = bucket.lock() else {
            return Ok(());
        };
        b.tokens = (b.tokens + (now - b.updated).max(0.0) * rate).min(burst);
        b.updated = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(RetryAfter(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64))
        }
    }

    /// Takes one token from each key's bucket in `family` at `now`; the
    /// longest wait if any is empty.
    pub fn check_all(&self, family: Family, keys: &[String], now: f64) -> Result<(), RetryAfter> {
        let mut verdict = Ok(());
        for k in keys {
            if let Err(RetryAfter(w)) = self.check(family, k, now) {
                let longest = match verdict {
                    Err(RetryAfter(prev)) => w.max(prev),
                    Ok(()) => w,
                };
                verdict = Err(RetryAfter(longest));
            }
        }
        verdict
    }
}

/// The bucket key of a client address. IPv6 is keyed by its /64: one
/// customer line or host is usually given a whole /64, so per-address
/// buckets would give it 2^64 of them.
pub fn ip_key(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("ip:{net}/64")
        }
        Ok(IpAddr::V4(v4)) => format!("ip:{v4}"),
        Err(_) => format!("ip:{ip}"),
    }
}

/// The bucket key of a client.
pub fn client_key(client_id: &ClientId) -> String {
    format!("client:{client_id}")
}

/// The bucket key of an account, by the address typed (normalised).
pub fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let l = RateLimiter::default();
        for _ in 0..10 {
            assert!(l.check(Family::Registration, "ip", 0.0).is_ok());
        }
        let wait = l.check(Family::Registration, "ip", 0.0).unwrap_err();
        assert_eq!(wait, RetryAfter(6));
        assert!(l.check(Family::Registration, "other-ip", 0.0).is_ok());
        assert!(l.check(Family::Registration, "ip", 6.0).is_ok());
    }

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_bucket() {
        assert_eq!(
            ip_key("2001:db8:1:2::1"),
            ip_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(ip_key("2001:db8:1:2::1"), ip_key("2001:db8:1:3::1"));
        assert_eq!(ip_key("::ffff:192.0.2.1"), ip_key("192.0.2.1"));
        assert_ne!(ip_key("192.0.2.1"), ip_key("192.0.2.2"));
        let l = RateLimiter::default();
        for i in 0..10 {
            let key = ip_key(&format!("2001:db8::{i:x}"));
            assert!(l.check(Family::Registration, &key, 0.0).is_ok());
        }
        let key = ip_key("2001:db8::ffff:1");
        assert!(l.check(Family::Registration, &key, 0.0).is_err());
    }
}
