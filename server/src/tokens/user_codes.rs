//! User codes (RFC 8628 §6.1) as a keyed permutation of a sequence number.
//!
//! A code people type must be hard to guess: eight characters of a 20-letter
//! alphabet, 20^8 ≈ 2^34.6 values, tried at a rate-limited page. Drawn at
//! random and stored as they are, each new code lands on a random page of its
//! unique index: a page written to SQLite's WAL and, at the next checkpoint,
//! to the database, for every device authorization. That was the largest cost
//! of the request, and it grew with the table (figures: tests/perf/RESULTS.md,
//! "Design notes").
//!
//! So the database stores a sequence number, which grows with the clock, and
//! its index only appends. The code is that number under a secret permutation
//! of [0, 20^8): a 12-round Feistel network on 36 bits, cycle-walked into the
//! range. Its round function is AES-128 under a key every instance shares
//! (`server_secrets`). This is how format-preserving encryption is built
//! (NIST SP 800-38G's FF1 is a 10-round Feistel network of AES). Without the
//! key, the live codes are a pseudorandom subset of the space and no easier
//! to guess than random ones. A typed code is decrypted to the sequence number
//! to look up.
//!
//! Sequence numbers, per process: the larger of (milliseconds since the epoch
//! × 32 + a few low bits of the nanosecond clock) and (the last one + 1). They
//! are never reused: the column keeps them whole, and its unique index refuses
//! a number another instance (or an earlier run of this one, ahead of the
//! clock) took; the caller then [`UserCodes::skip`]s past it and tries again.
//! The permutation covers one lap of 20^8 numbers, about 9.26 days of the
//! clock, and the lap's number is an input of every round: were it not, the
//! code of a millisecond would come back a lap later, and someone who asked
//! for codes around the clock could collect the codes of the next lap's
//! devices in advance. A typed code is looked up in the lap under way and
//! the two beside it, so a device code may live a day at most
//! ([`MAX_TTL_SECS`]).
//!
//! A lookup takes a few microseconds more or less with the number of cycle
//! walks its code needs; next to a database round trip and a rate limit of
//! ten guesses a minute, that tells nothing useful.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::quic::{AES_128, HeaderProtectionKey};

use crate::error::Error;
use crate::tokens::opaque;

/// Consonants only (RFC 8628 §6.1), so codes spell no words and survive case.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const LEN: u32 = 8;
/// How many codes there are: 20^8.
const SPACE: u64 = 20u64.pow(LEN);
/// Each half of the Feistel network; 2^36 ≥ [`SPACE`], so on average 2.7
/// rounds of the network land a value in range.
const HALF_BITS: u32 = 18;
const HALF_MASK: u64 = (1 << HALF_BITS) - 1;
const ROUNDS: u8 = 12;
/// Sequence numbers per millisecond before the sequence runs ahead of the
/// clock: 32,000 device authorizations a second per instance. One lap of the
/// permutation lasts 20^8 / 32 ms ≈ 9.26 days.
const PER_MS: u64 = 32;
/// How far past a refused number [`UserCodes::skip`] jumps: about half a
/// minute of numbers.
const SKIP: u64 = 1 << 20;
/// The longest a device code may live: well inside a lap.
pub const MAX_TTL_SECS: i64 = crate::config::MAX_DEVICE_CODE_TTL_SECS;
/// The `server_secrets` row holding the key.
pub const SECRET_NAME: &str = "device_user_codes";

/// A user code: eight characters of [`ALPHABET`], shown as `XXXX-XXXX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl UserCode {
    /// Accepts what people type: any case, with or without dashes and spaces.
    pub fn parse(input: &str) -> Option<UserCode> {
        let s: String = input
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '\t'))
            .collect::<String>()
            .to_ascii_uppercase();
        (s.len() == LEN as usize && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(UserCode(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }

    /// The code's place in [0, [`SPACE`]): its letters as base-20 digits.
    fn value(&self) -> u64 {
        self.0.bytes().fold(0, |v, c| {
            // `parse` let in only letters of the alphabet.
            let digit = ALPHABET.iter().position(|&a| a == c).unwrap_or(0);
            v * 20 + digit as u64
        })
    }

    fn spell(mut value: u64) -> UserCode {
        let mut letters = [0u8; LEN as usize];
        for letter in letters.iter_mut().rev() {
            *letter = ALPHABET[(value % 20) as usize];
            value /= 20;
        }
        UserCode(letters.iter().map(|&b| b as char).collect())
    }
}

/// The permutation between sequence numbers and user codes, and the sequence.
pub struct UserCodes {
    key: HeaderProtectionKey,
    /// The last sequence number handed out, before the modulo.
    last: AtomicU64,
}

impl UserCodes {
    /// A fresh key, as stored (sealed, `secrets`) in `server_secrets`.
    pub fn new_secret() -> String {
        URL_SAFE_NO_PAD.encode(opaque::random_bytes::<16>())
    }

    pub fn from_secret(secret: &str) -> Result<UserCodes, Error> {
        let bad = || Error::internal(format!("server secret {SECRET_NAME} is not a 128-bit key"));
        let key = URL_SAFE_NO_PAD.decode(secret).map_err(|_| bad())?;
        Ok(UserCodes {
            key: HeaderProtectionKey::new(&AES_128, &key).map_err(|_| bad())?,
            last: AtomicU64::new(0),
        })
    }

    /// The next sequence number (see the module documentation).
    pub fn next_seq(&self) -> u64 {
        // The nanoseconds' low bits start each millisecond at a different
        // place, so that instances seldom pick the same number.
        let clock = crate::clock::since_epoch();
        let now = clock.as_millis() as u64 * PER_MS + u64::from(clock.subsec_nanos()) % PER_MS;
        let next = |last: u64| now.max(last + 1);
        self.last
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| Some(next(l)))
            .map_or_else(next, next)
    }

    /// Moves the sequence past `refused`, a number the database already holds.
    pub fn skip(&self, refused: u64) {
        self.last.fetch_max(refused + SKIP, Ordering::Relaxed);
    }

    /// The code people see for sequence number `seq`.
    pub fn code(&self, seq: u64) -> UserCode {
        let lap = seq / SPACE;
        UserCode::spell(walk(seq % SPACE, |x| self.permute(lap, x)))
    }

    /// The sequence numbers a typed code can stand for: one in the lap under
    /// way and one in each lap beside it.
    pub fn seqs(&self, code: &UserCode) -> Vec<u64> {
        let position = (crate::clock::wall_ms() * PER_MS).max(self.last.load(Ordering::Relaxed));
        let lap = position / SPACE;
        (lap.saturating_sub(1)..=lap + 1)
            .map(|lap| lap * SPACE + walk(code.value(), |x| self.unpermute(lap, x)))
            .collect()
    }

    fn permute(&self, lap: u64, x: u64) -> u64 {
        let (mut left, mut right) = (x >> HALF_BITS, x & HALF_MASK);
        for round in 0..ROUNDS {
            (left, right) = (right, left ^ self.round(round, lap, right));
        }
        (left << HALF_BITS) | right
    }

    fn unpermute(&self, lap: u64, y: u64) -> u64 {
        let (mut left, mut right) = (y >> HALF_BITS, y & HALF_MASK);
        for round in (0..ROUNDS).rev() {
            (left, right) = (right ^ self.round(round, lap, left), left);
        }
        (left << HALF_BITS) | right
    }

    /// The round function: AES-128 of (round, half, lap) under the key, cut
    /// to 18 bits. ring exposes single AES blocks as QUIC header protection,
    /// whose mask is the first five bytes of AES(key, sample).
    fn round(&self, round: u8, lap: u64, half: u64) -> u64 {
        let mut block = [0u8; 16];
        block[0] = round;
        block[1..4].copy_from_slice(&half.to_be_bytes()[5..]);
        block[4..12].copy_from_slice(&lap.to_be_bytes());
        block[12..].copy_from_slice(b"ucod");
        // A 16-byte sample is what AES-128 header protection takes: this
        // cannot fail.
        #[allow(clippy::expect_used)]
        let mask = self.key.new_mask(&block).expect("a 16-byte sample");
        u64::from_be_bytes([0, 0, 0, 0, 0, mask[0], mask[1], mask[2]]) & HALF_MASK
    }
}

/// Cycle walking: applies `step`, a permutation of [0, 2^36), until the value
/// is back in [0, 20^8). A permutation restricted this way is a permutation of
/// the smaller range.
fn walk(mut x: u64, step: impl Fn(u64) -> u64) -> u64 {
    loop {
        x = step(x);
        if x < SPACE {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> UserCodes {
        UserCodes::from_secret(&UserCodes::new_secret()).expect("a fresh key loads")
    }

    #[test]
    fn codes_normalise() {
        let c = codes().code(12345);
        assert_eq!(c.as_str().len(), 8);
        assert_eq!(
            UserCode::parse(&c.display().to_lowercase()),
            Some(c.clone())
        );
        assert_eq!(UserCode::parse("bcdf ghjk"), UserCode::parse("BCDF-GHJK"));
        assert_eq!(
            UserCode::parse("BCDF-GHJA"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(UserCode::parse("BCDF-GHJ"), None);
    }

    #[test]
    fn spelling_round_trips_at_both_ends() {
        for v in [0, 1, 19, 20, SPACE / 2, SPACE - 1] {
            assert_eq!(UserCode::spell(v).value(), v);
        }
        assert_eq!(UserCode::spell(0).as_str(), "BBBBBBBB");
        assert_eq!(UserCode::spell(SPACE - 1).as_str(), "ZZZZZZZZ");
    }

    #[test]
    fn every_code_decrypts_to_its_sequence_number() {
        let c = codes();
        let start = c.next_seq();
        let lap_start = start / SPACE * SPACE;
        // This lap's numbers from now on, and both edges of the lap.
        let near = (start..start + 2000).chain([lap_start, lap_start + SPACE - 1]);
        for seq in near {
            let code = c.code(seq);
            assert_eq!(UserCode::parse(&code.display()), Some(code.clone()));
            assert!(c.seqs(&code).contains(&seq), "{seq} {}", code.as_str());
        }
        // The permutation of any lap, across the whole range.
        for lap in [0, 7, u64::MAX / SPACE] {
            for x in [0, 1, 12_345_678, SPACE - 2, SPACE - 1] {
                let y = walk(x, |v| c.permute(lap, v));
                assert!(y < SPACE);
                assert_eq!(walk(y, |v| c.unpermute(lap, v)), x, "lap {lap}");
            }
        }
    }

    #[test]
    fn a_number_a_lap_later_gets_another_code() {
        // Else codes collected now would be the codes handed out 9.26 days on.
        let c = codes();
        let start = c.next_seq();
        let same = (start..start + 1000)
            .filter(|&s| c.code(s) == c.code(s + SPACE))
            .count();
        assert!(same < 3, "{same} of 1000 codes repeat a lap later");
    }

    #[test]
    fn consecutive_numbers_give_unrelated_codes() {
        let c = codes();
        let start = c.next_seq();
        let all: Vec<String> = (start..start + 5000)
            .map(|s| c.code(s).as_str().to_string())
            .collect();
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "a permutation repeats no code");
        // Sequential inputs must not show through: each letter position
        // should take all 20 letters, and neighbours should rarely share a
        // leading half (1 in 160,000 by chance).
        for pos in 0..8 {
            let letters: std::collections::HashSet<u8> =
                all.iter().map(|s| s.as_bytes()[pos]).collect();
            assert_eq!(letters.len(), 20, "position {pos}");
        }
        let shared = all.windows(2).filter(|w| w[0][..4] == w[1][..4]).count();
        assert!(shared < 3, "{shared} neighbours share their first half");
    }

    #[test]
    fn another_key_gives_other_codes() {
        let (a, b) = (codes(), codes());
        let same = (0..1000).filter(|&s| a.code(s) == b.code(s)).count();
        assert!(same < 3, "{same} of 1000 codes equal under two keys");
    }

    #[test]
    fn sequence_increases_and_skips() {
        let c = codes();
        let a = c.next_seq();
        let b = c.next_seq();
        assert!(b > a, "{a} then {b}");
        assert!(
            a >= (crate::clock::wall_ms() - 1000) * PER_MS,
            "follows the clock"
        );
        c.skip(b);
        c.skip(b);
        let d = c.next_seq();
        assert_eq!(d, b + SKIP + 1, "skipping past one number twice jumps once");
    }

    #[test]
    fn rejects_a_key_of_the_wrong_size() {
        assert!(UserCodes::from_secret("c2hvcnQ").is_err());
        assert!(UserCodes::from_secret("not base64 !").is_err());
    }
}
