//! The wall clock as the database stores it: unix seconds or milliseconds in an `i64`.
//! A clock before 1970 reads as 0; one past `i64::MAX` reads as `i64::MAX`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix seconds.
pub fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Now, in unix seconds, unsigned as JWT claims (`iat`, `exp`) count them.
pub fn unix_secs_unsigned() -> u64 {
    unix_secs().unsigned_abs()
}

/// Now, in unix milliseconds.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_agree() {
        let (secs, ms) = (unix_secs(), unix_ms());
        assert!(secs > 1_700_000_000, "{secs}");
        assert!((ms / 1000 - secs).abs() <= 1, "{ms} ms against {secs} s");
    }
}
