//! Dates as pages write them, turned into one comparable type. Kept apart from the
//! document walk because pages use dozens of spellings and the tests pin each one.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use notion_unfurl_sdk::Url;

/// Parse the date forms pages use and return them with their offset; dates without one
/// are taken as UTC.
pub fn parse_date(raw: &str) -> Option<DateTime<FixedOffset>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    const WITH_OFFSET: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M%z",
    ];
    for format in WITH_OFFSET {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return Some(dt);
        }
    }
    const NAIVE: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    let utc = FixedOffset::east_opt(0)?;
    for format in NAIVE {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, format) {
            return Some(utc.from_utc_datetime(&naive));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?));
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt);
    }
    // Dates written for people ("September 3, 2025") and compact ones ("20250903").
    const CALENDAR: [&str; 5] = ["%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y%m%d"];
    for format in CALENDAR {
        if let Ok(date) = NaiveDate::parse_from_str(s, format)
            && (1990..=2100).contains(&date.year())
        {
            return Some(utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?));
        }
    }
    // Unix timestamps in seconds, as some CMSs write them; only plausible ones.
    if s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs = s.parse::<i64>().ok()?;
        return Utc
            .timestamp_opt(secs, 0)
            .single()
            .map(|dt| dt.fixed_offset());
    }
    None
}

/// A `/YYYY/MM/DD/` date in a URL's path, as news and blog URLs often carry.
pub(super) fn date_in_path(url: &Url) -> Option<DateTime<FixedOffset>> {
    let segments: Vec<&str> = url.path_segments()?.collect();
    segments.windows(3).find_map(|w| {
        let all_digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
            len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !(all_digits(w[0], 4..=4) && all_digits(w[1], 1..=2) && all_digits(w[2], 1..=2)) {
            return None;
        }
        let date =
            NaiveDate::from_ymd_opt(w[0].parse().ok()?, w[1].parse().ok()?, w[2].parse().ok()?)?;
        (1990..=2100).contains(&date.year()).then_some(())?;
        Some(date.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::from_html;
    use crate::extract::test_support::url;

    #[test]
    fn dates_are_normalised() {
        let cases = [
            ("2024-03-09T10:00:00Z", "2024-03-09T10:00:00+00:00"),
            (
                "2024-03-09T10:00:00.123+02:00",
                "2024-03-09T10:00:00.123+02:00",
            ),
            ("2024-03-09T10:00:00+0200", "2024-03-09T10:00:00+02:00"),
            ("2024-03-09 10:00:00", "2024-03-09T10:00:00+00:00"),
            ("2024-03-09T10:00:00", "2024-03-09T10:00:00+00:00"),
            ("2024-03-09T10:00", "2024-03-09T10:00:00+00:00"),
            ("2024-03-09T10:00:00.5", "2024-03-09T10:00:00.500+00:00"),
            (" 2024-03-09 ", "2024-03-09T00:00:00+00:00"),
            ("Sat, 09 Mar 2024 10:00:00 GMT", "2024-03-09T10:00:00+00:00"),
            ("1710000000", "2024-03-09T16:00:00+00:00"),
            ("September 3, 2025", "2025-09-03T00:00:00+00:00"),
            ("3 Sep 2025", "2025-09-03T00:00:00+00:00"),
            ("20250903", "2025-09-03T00:00:00+00:00"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse_date(raw).map(|d| d.to_rfc3339()).as_deref(),
                Some(want),
                "{raw}"
            );
        }
        for bad in ["", "yesterday", "2024-13-01", "12345", "99999999"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_date_in_the_url_path_is_the_last_resort() {
        let page = "<html><head><title>t</title></head></html>";
        let meta = from_html(page, &url("https://blog.example/2016/05/16/some-post/"));
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2016-05-16T00:00:00+00:00")
        );
        for no_date in [
            "https://x.test/2016/05/post",
            "https://x.test/1234/56/78/",
            "https://x.test/p/2016/13/01/",
        ] {
            assert_eq!(from_html(page, &url(no_date)).published, None, "{no_date}");
        }
    }
}
