//! What bounds the HTTP surface, shared by every worker so a limit is the process's:
//! per-address rate limits on the endpoints that anyone may call, per-address shares of
//! what is held while a request body arrives, and the slots for reading webhook bodies,
//! shared fairly among addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use actix_web::http::header;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use tokio::sync::{Notify, Semaphore, SemaphorePermit};

use crate::http::request::client_address;
use crate::platform::config::Settings;

/// How many webhook bodies may be read at once (GitHub sends one delivery at a time per
/// hook; a handful covers several hooks and redeliveries).
pub const WEBHOOK_READS: usize = 8;
/// How many of those one client address may hold: stalled senders from one address leave
/// the rest to GitHub's deliveries, which come from other addresses.
pub const WEBHOOK_READS_PER_ADDRESS: usize = 2;

/// A wait as the whole seconds of a `Retry-After` header: rounded up, at least one (a
/// client told "0" would come straight back).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The limits of one server, registered beside the state for every handler.
#[derive(Debug)]
pub struct Limits {
    /// `/oauth/token`: failed client authentication only.
    pub token: RateLimit,
    pub revoke: RateLimit,
    /// The consent decision and the GitHub callback: each may call Notion or GitHub.
    pub sign_in: RateLimit,
    /// Webhook bodies being read at once (each up to 25 MiB, unverified until read), in all
    /// and per client address.
    pub webhook_reads: FairSlots,
    /// Request bodies still arriving, per client address (`UNFURL_MAX_BODIES_PER_ADDRESS`;
    /// `crate::http::bodies` takes and returns them).
    pub arriving_bodies: PerAddress,
    client_ip_header: Option<header::HeaderName>,
}

impl Limits {
    /// The limits `settings` ask for. `UNFURL_CLIENT_IP_HEADER` names the header a trusted
    /// proxy puts the client's address in; without it the TCP peer is the client.
    pub fn new(settings: &Settings) -> Self {
        let header = settings
            .client_ip_header
            .as_deref()
            .and_then(|h| header::HeaderName::try_from(h).ok());
        Self {
            token: RateLimit::token_endpoint().keyed_by(header.clone()),
            revoke: RateLimit::revoke_endpoint().keyed_by(header.clone()),
            sign_in: RateLimit::sign_in_steps().keyed_by(header.clone()),
            webhook_reads: FairSlots::new(WEBHOOK_READS, WEBHOOK_READS_PER_ADDRESS),
            arriving_bodies: PerAddress::new(settings.max_bodies_per_address),
            client_ip_header: header,
        }
    }

    /// The address `req` is counted under: the one every per-address limit uses.
    pub fn client(&self, req: &HttpRequest) -> IpAddr {
        client_address(req, self.client_ip_header.as_ref())
    }
}

/// A few slots of a shared resource, fewer of which any one client address may hold, so
/// that no address can take them all.
#[derive(Debug)]
pub struct FairSlots {
    all: Semaphore,
    per_address: PerAddress,
}

/// One of [`FairSlots`], given back when dropped.
#[derive(Debug)]
pub struct FairSlot<'a> {
    _slot: SemaphorePermit<'a>,
    _share: Share,
}

impl FairSlots {
    pub fn new(slots: usize, per_address: usize) -> Self {
        Self {
            all: Semaphore::new(slots),
            per_address: PerAddress::new(per_address),
        }
    }

    /// A slot for `address`, waiting up to `within` in all. The address's own share comes
    /// first, so what it asks beyond its share waits behind its own requests, not in the
    /// queue every address shares.
    pub async fn acquire(&self, address: IpAddr, within: Duration) -> Option<FairSlot<'_>> {
        let deadline = tokio::time::Instant::now() + within;
        let share = self.per_address.take(address, within).await?;
        let slot = tokio::time::timeout_at(deadline, self.all.acquire())
            .await
            .ok()?
            .ok()?;
        Some(FairSlot {
            _slot: slot,
            _share: share,
        })
    }

    /// How many slots are free.
    pub fn available(&self) -> usize {
        self.all.available_permits()
    }

    /// How many slots `address` holds or is about to.
    pub fn held_by(&self, address: IpAddr) -> usize {
        self.per_address.held(address)
    }
}

/// What each client address holds of one shared resource at once, at most `limit` each.
///
/// Only addresses holding something are kept, so the map never outgrows what is held at
/// once (which the connection limit bounds); there is nothing to expire.
#[derive(Debug, Clone)]
pub struct PerAddress {
    shares: Arc<Shares>,
}

#[derive(Debug)]
struct Shares {
    limit: usize,
    held: Mutex<HashMap<IpAddr, usize, foldhash::fast::RandomState>>,
    /// Woken whenever a share is given back, for those waiting for one.
    returned: Notify,
    /// How many are waiting: a share given back wakes nobody (and takes no lock for it)
    /// when nobody waits, which is every time on the hot path of request bodies.
    waiting: AtomicUsize,
}

/// One share of a [`PerAddress`] resource, given back when dropped.
#[derive(Debug)]
pub struct Share {
    shares: Arc<Shares>,
    address: IpAddr,
}

impl PerAddress {
    pub fn new(limit: usize) -> Self {
        Self {
            shares: Arc::new(Shares {
                limit,
                held: Mutex::new(HashMap::default()),
                returned: Notify::new(),
                waiting: AtomicUsize::new(0),
            }),
        }
    }

    /// A share for `address`, or `None` when it already holds its limit.
    pub fn try_take(&self, address: IpAddr) -> Option<Share> {
        let mut held = self.lock();
        let count = held.entry(address).or_default();
        if *count >= self.shares.limit {
            // An entry made just now for a limit of zero would otherwise linger.
            if *count == 0 {
                held.remove(&address);
            }
            return None;
        }
        *count += 1;
        Some(Share {
            shares: self.shares.clone(),
            address,
        })
    }

    /// A share for `address`, waiting up to `within` for one of its own to be given back.
    pub async fn take(&self, address: IpAddr, within: Duration) -> Option<Share> {
        let deadline = tokio::time::Instant::now() + within;
        // Counted as waiting until this future ends, however it ends (a caller's timeout
        // drops it mid-wait).
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.shares.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.shares.waiting);
        loop {
            let returned = self.shares.returned.notified();
            tokio::pin!(returned);
            // Registered before trying, so a share given back in between still wakes us.
            returned.as_mut().enable();
            if let Some(share) = self.try_take(address) {
                return Some(share);
            }
            tokio::time::timeout_at(deadline, returned).await.ok()?;
        }
    }

    /// How many shares `address` holds now.
    pub fn held(&self, address: IpAddr) -> usize {
        self.lock().get(&address).copied().unwrap_or(0)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize, foldhash::fast::RandomState>> {
        // A panic while the map was held left a count, not a broken map.
        self.shares
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        {
            let mut held = self
                .shares
                .held
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = held.get_mut(&self.address) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    held.remove(&self.address);
                }
            }
        }
        if self.shares.waiting.load(Ordering::SeqCst) > 0 {
            self.shares.returned.notify_waiters();
        }
    }
}

/// A per-client-address limit on one endpoint. Each refusal says how long to wait.
///
/// IPv6 clients are keyed by their /64, which one subscriber usually holds whole; the
/// address is the TCP peer's, or the trusted proxy's header (`UNFURL_CLIENT_IP_HEADER`).
/// The key map is pruned of idle entries every `RETAIN_EVERY` checks and never grows past
/// `MAX_TRACKED`: beyond it whatever is counted is refused until entries go idle, so a
/// flood of source addresses costs memory only up to that bound.
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses that ran out of failed attempts ([`RateLimit::failed`]), refused unheard
    /// until their budget has room again.
    blocked: moka::sync::Cache<IpAddr, Instant>,
    checks: AtomicU64,
    client_ip_header: Option<header::HeaderName>,
}

const MAX_TRACKED: usize = 65_536;
/// The longest a blocked address waits; also how long a full limiter makes everyone wait.
const MAX_BLOCK: Duration = Duration::from_secs(60);
const RETAIN_EVERY: u64 = 1024;

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("tracked", &self.limiter.len())
            .finish()
    }
}

const fn nonzero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

impl RateLimit {
    pub fn new(quota: Quota) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            blocked: moka::sync::Cache::builder()
                .max_capacity(MAX_TRACKED as u64)
                .time_to_live(MAX_BLOCK)
                .build(),
            checks: AtomicU64::new(0),
            client_ip_header: None,
        }
    }

    fn keyed_by(mut self, client_ip_header: Option<header::HeaderName>) -> Self {
        self.client_ip_header = client_ip_header;
        self
    }

    /// `/oauth/token`: failed attempts only; 30 a minute with a burst of 20 leaves a
    /// client secret guesser one guess every two seconds.
    pub fn token_endpoint() -> Self {
        Self::new(Quota::per_minute(nonzero(30)).allow_burst(nonzero(20)))
    }

    /// `/oauth/revoke`: a refresh token presented there costs a database write, so
    /// unauthenticated callers are limited too, more loosely.
    pub fn revoke_endpoint() -> Self {
        Self::new(Quota::per_minute(nonzero(60)).allow_burst(nonzero(30)))
    }

    /// The consent POST and the GitHub callback: a person links an account in one of
    /// each, so 30 a minute from one address (an office behind one NAT, say) is generous;
    /// past it, nobody gets to make us call Notion or GitHub with made-up codes.
    pub fn sign_in_steps() -> Self {
        Self::new(Quota::per_minute(nonzero(30)).allow_burst(nonzero(30)))
    }

    /// Count one request from `req`'s client; `Err` holds how long to wait once over the
    /// quota.
    pub fn check(&self, req: &HttpRequest) -> Result<(), Duration> {
        self.take(self.key(req))
    }

    /// The key `req` is counted under: its client's address.
    pub fn key(&self, req: &HttpRequest) -> IpAddr {
        client_address(req, self.client_ip_header.as_ref())
    }

    /// Refuse `key` while it is blocked for too many failed attempts.
    pub fn admit(&self, key: IpAddr) -> Result<(), Duration> {
        match self.blocked.get(&key) {
            Some(until) if until > Instant::now() => {
                tracing::info!("rate limited");
                Err(until.saturating_duration_since(Instant::now()))
            }
            _ => Ok(()),
        }
    }

    /// Count a failed attempt by `key`: within the quota `Ok`; beyond it `key` is refused
    /// unheard ([`Self::admit`]) until the quota has room again, so that a guess past the
    /// quota is never judged.
    pub fn failed(&self, key: IpAddr) -> Result<(), Duration> {
        self.take(key).inspect_err(|retry_after| {
            let wait = (*retry_after).min(MAX_BLOCK);
            self.blocked.insert(key, Instant::now() + wait);
        })
    }

    fn take(&self, key: IpAddr) -> Result<(), Duration> {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(RETAIN_EVERY)
        {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        if self.limiter.len() >= MAX_TRACKED {
            tracing::warn!("rate limiter is full; refusing");
            return Err(MAX_BLOCK);
        }
        self.limiter.check_key(&key).map_err(|not_until| {
            tracing::info!("rate limited");
            not_until.wait_time_from(self.limiter.clock().now())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn an_address_holds_at_most_its_limit_and_gets_shares_back_when_dropped() {
        let shares = PerAddress::new(2);
        let first = shares.try_take(A);
        let second = shares.try_take(A);
        assert!(first.is_some() && second.is_some());
        assert!(shares.try_take(A).is_none());
        assert_eq!(shares.held(A), 2);
        let other = shares.try_take(B);
        assert!(other.is_some(), "another address is not held back");
        drop(first);
        assert!(shares.try_take(A).is_some());
        drop((second, other));
        assert_eq!((shares.held(A), shares.held(B)), (0, 0));
        assert!(shares.lock().is_empty(), "idle addresses are not kept");
    }

    #[tokio::test]
    async fn a_waiting_address_gets_the_next_share_given_back() {
        let shares = PerAddress::new(1);
        let held = shares.try_take(A);
        assert!(
            shares.take(A, Duration::from_millis(20)).await.is_none(),
            "no share comes back in time"
        );
        let waiting = tokio::spawn({
            let shares = shares.clone();
            async move { shares.take(A, Duration::from_secs(30)).await.is_some() }
        });
        drop(held);
        assert!(waiting.await.unwrap_or(false));
    }

    #[tokio::test]
    async fn one_address_cannot_take_every_fair_slot() {
        let slots = FairSlots::new(3, 2);
        let quickly = Duration::from_millis(20);
        let first = slots.acquire(A, quickly).await;
        let second = slots.acquire(A, quickly).await;
        assert!(first.is_some() && second.is_some());
        assert!(slots.acquire(A, quickly).await.is_none());
        assert_eq!((slots.held_by(A), slots.available()), (2, 1));
        let other = slots.acquire(B, quickly).await;
        assert!(other.is_some(), "the last slot is left to another address");
        drop((first, second, other));
        assert_eq!((slots.held_by(A), slots.available()), (0, 3));
    }
}
