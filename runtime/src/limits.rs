//! The rate limits of the issuer: how often one key (a client address, an offer's pre-authorised
//! code) may do something in a window of time, counted in memory by this instance.
//!
//! It exists so that a public endpoint cannot be hammered: the token endpoint per code and per
//! client address, and failed admin authentications per client address. It is pure (no HTTP,
//! no clock of its own: callers pass `now`) and bounded: at most [`RateLimiter::capacity`] keys
//! are remembered, windows that ended are forgotten, and a key that finds the table full is let
//! through uncounted rather than refused (another limit, per address, still holds). Replicas
//! each count their own; what must hold across replicas (wrong transaction codes) is counted in
//! the store instead.

use std::collections::HashMap;
use std::sync::Mutex;

/// How many events a key may have per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Events allowed per window; 0 turns the limit off.
    pub events: u32,
    /// The window, in seconds (at least 1).
    pub per_seconds: i64,
}

impl Rate {
    /// `events` per minute.
    pub const fn per_minute(events: u32) -> Rate {
        Rate {
            events,
            per_seconds: 60,
        }
    }

    /// Whether this rate limits nothing.
    pub fn is_off(&self) -> bool {
        self.events == 0
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.per_seconds {
            60 => write!(f, "{} per minute", self.events),
            1 => write!(f, "{} per second", self.events),
            s => write!(f, "{} per {s} s", self.events),
        }
    }
}

/// A refusal: the key used up its window; it may try again after this many seconds (≥ 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl RetryAfter {
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }
}

/// The operator's limits of one instance. [`Limits::default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Token requests per client address (`--token-rate-per-address`).
    pub token_per_address: Rate,
    /// Token requests per pre-authorised code (its offer): a wallet asks once, and again after a
    /// lost answer or a mistyped transaction code.
    pub token_per_code: Rate,
    /// Failed admin API authentications per client address (`--admin-failure-rate`).
    pub admin_failures_per_address: Rate,
    /// The request header whose last value is the client's address, set by the operator's
    /// reverse proxy (`--client-address-header`, e.g. `X-Forwarded-For`); `None`: the TCP peer.
    pub client_address_header: Option<String>,
    /// Most keys each limiter remembers.
    pub capacity: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            token_per_address: Rate::per_minute(120),
            token_per_code: Rate::per_minute(10),
            admin_failures_per_address: Rate::per_minute(10),
            client_address_header: None,
            capacity: 65_536,
        }
    }
}

/// The key a client address is counted under: an IPv4 address as it is (an IPv4-mapped IPv6
/// address too), an IPv6 address by its /64 prefix, since one subscriber gets a whole /64 and
/// could otherwise take a new address for each request. Anything that is not an address (a
/// proxy's header may hold a name) is counted as written.
pub fn client_key(address: &str) -> String {
    use std::net::IpAddr;
    match address.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => address.trim().to_owned(),
    }
}

/// The window of one key.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: i64,
    events: u32,
}

/// A fixed-window counter per key, bounded in memory.
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    capacity: usize,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    windows: HashMap<String, Window>,
    /// When ended windows were last swept (at most once a second when the table is full).
    swept_at: i64,
}

impl RateLimiter {
    pub fn new(rate: Rate, capacity: usize) -> RateLimiter {
        RateLimiter {
            rate: Rate {
                events: rate.events,
                per_seconds: rate.per_seconds.max(1),
            },
            capacity: capacity.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// The most keys remembered.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counts one event of `key` at `now` (Unix seconds), or refuses it when the key's window is
    /// used up, saying when the next window starts.
    pub fn check(&self, key: &str, now: i64) -> Result<(), RetryAfter> {
        self.count(key, now, true)
    }

    /// Whether `key` is refused at `now`, without counting an event (for limits on failures:
    /// look first, [`RateLimiter::check`] when one happens).
    pub fn blocked(&self, key: &str, now: i64) -> Result<(), RetryAfter> {
        self.count(key, now, false)
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.lock().windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock leaves counters only: keep using them.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn count(&self, key: &str, now: i64, counting: bool) -> Result<(), RetryAfter> {
        if self.rate.is_off() {
            return Ok(());
        }
        let per = self.rate.per_seconds;
        let mut table = self.lock();
        if let Some(window) = table.windows.get_mut(key) {
            if now >= window.started + per || now < window.started {
                *window = Window {
                    started: now,
                    events: 0,
                };
            }
            if window.events >= self.rate.events {
                let left = (window.started + per - now).max(1);
                return Err(RetryAfter(left as u64));
            }
            if counting {
                window.events += 1;
            }
            return Ok(());
        }
        if !counting {
            return Ok(());
        }
        if table.windows.len() >= self.capacity && table.swept_at != now {
            table.swept_at = now;
            table
                .windows
                .retain(|_, w| now < w.started + per && now >= w.started);
        }
        if table.windows.len() >= self.capacity {
            // Full of live windows: let this key through uncounted rather than refuse everyone.
            tracing::debug!(capacity = self.capacity, "rate limiter full");
            return Ok(());
        }
        table.windows.insert(
            key.to_owned(),
            Window {
                started: now,
                events: 1,
            },
        );
        Ok(())
    }
}

/// The rate limiters of one instance, made from its [`Limits`].
#[derive(Debug)]
pub struct RateLimits {
    pub token_per_address: RateLimiter,
    pub token_per_code: RateLimiter,
    pub admin_failures_per_address: RateLimiter,
}

impl RateLimits {
    pub fn new(limits: &Limits) -> RateLimits {
        RateLimits {
            token_per_address: RateLimiter::new(limits.token_per_address, limits.capacity),
            token_per_code: RateLimiter::new(limits.token_per_code, limits.capacity),
            admin_failures_per_address: RateLimiter::new(
                limits.admin_failures_per_address,
                limits.capacity,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;

    #[test]
    fn a_key_gets_its_events_per_window_then_waits_for_the_next() {
        let limiter = RateLimiter::new(Rate::per_minute(3), 10);
        for _ in 0..3 {
            assert_eq!(limiter.check("a", NOW), Ok(()));
        }
        assert_eq!(limiter.check("a", NOW + 20), Err(RetryAfter(40)));
        assert_eq!(limiter.check("b", NOW + 20), Ok(()), "keys count apart");
        assert_eq!(limiter.check("a", NOW + 60), Ok(()), "a new window");
    }

    #[test]
    fn looking_counts_nothing() {
        let limiter = RateLimiter::new(Rate::per_minute(1), 10);
        assert_eq!(limiter.blocked("a", NOW), Ok(()));
        assert_eq!(limiter.blocked("a", NOW), Ok(()));
        assert!(limiter.is_empty());
        assert_eq!(limiter.check("a", NOW), Ok(()));
        assert_eq!(limiter.blocked("a", NOW + 59), Err(RetryAfter(1)));
    }

    #[test]
    fn a_clock_moved_back_starts_a_new_window() {
        let limiter = RateLimiter::new(Rate::per_minute(1), 10);
        assert_eq!(limiter.check("a", NOW), Ok(()));
        assert_eq!(limiter.check("a", NOW - 5), Ok(()));
    }

    #[test]
    fn memory_is_bounded_and_ended_windows_are_forgotten() {
        let limiter = RateLimiter::new(Rate::per_minute(1), 3);
        for key in ["a", "b", "c"] {
            assert_eq!(limiter.check(key, NOW), Ok(()));
        }
        // Full of live windows: a new key passes uncounted, and is not remembered.
        assert_eq!(limiter.check("d", NOW), Ok(()));
        assert_eq!(limiter.check("d", NOW), Ok(()));
        assert_eq!(limiter.len(), 3);
        // Once those windows ended, they make room.
        assert_eq!(limiter.check("d", NOW + 60), Ok(()));
        assert_eq!(limiter.len(), 1);
        assert_eq!(limiter.check("d", NOW + 61), Err(RetryAfter(59)));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_bit_prefix() {
        assert_eq!(client_key("192.0.2.1"), "192.0.2.1");
        assert_eq!(client_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(client_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            client_key("2001:db8:1:2:bbbb::9"),
            client_key("2001:db8:1:2:aaaa::1")
        );
        assert_ne!(client_key("2001:db8:1:3::1"), client_key("2001:db8:1:2::1"));
        assert_eq!(client_key(" proxy-name "), "proxy-name");
    }

    #[test]
    fn a_rate_of_zero_is_off() {
        let limiter = RateLimiter::new(Rate::per_minute(0), 3);
        for _ in 0..100 {
            assert_eq!(limiter.check("a", NOW), Ok(()));
        }
        assert!(limiter.is_empty());
    }
}
