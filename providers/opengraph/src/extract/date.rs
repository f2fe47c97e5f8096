//! Dates as pages write them, turned into one comparable type. Kept apart from the
//! document walk because pages use dozens of spellings and the tests pin each one.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use notion_unfurl_sdk::Url;

/// Parse the date forms pages use and return them with their offset; times without one
/// are taken as UTC. A bare ISO day (`2024-03-09`) is midnight UTC, the reading
/// ECMAScript gives it, so we agree with other readers of the same markup; a day written
/// for people ("May 3, 2016") has no standard reading and is taken as noon UTC
/// (`day_at_noon`).
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
            return day_at_noon(date);
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

/// A date in a short text written for people: "Thursday, May 26, 2016",
/// "November 5th, 2020 | 01:19:54", "Aug 14, 2020". Each part between `|`, `·` or `•`
/// is tried, without a leading weekday and with ordinals ("5th") as plain numbers.
pub(super) fn date_in_text(text: &str) -> Option<DateTime<FixedOffset>> {
    text.split(['|', '·', '•']).find_map(|part| {
        let part = part.trim().trim_end_matches([',', '.', ' ']);
        let part = without_weekday(part);
        parse_date(&without_ordinals(part))
    })
}

/// `text` without a leading English weekday and the comma after it.
fn without_weekday(text: &str) -> &str {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let Some((first, rest)) = text.split_once([',', ' ']) else {
        return text;
    };
    let first = first.trim_end_matches('.').to_ascii_lowercase();
    let is_day = first.len() >= 3 && DAYS.iter().any(|d| d.starts_with(first.as_str()));
    if is_day {
        rest.trim_start_matches([',', ' '])
    } else {
        text
    }
}

/// "5th", "1st", "22nd", "3rd" as "5", "1", "22", "3".
fn without_ordinals(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let (digits, suffix) = word.split_at(
                word.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(word.len()),
            );
            let suffix_lower = suffix.to_ascii_lowercase();
            let ordinal = ["st", "nd", "rd", "th"]
                .iter()
                .any(|o| suffix_lower == *o || suffix_lower == format!("{o},"));
            if !digits.is_empty() && ordinal {
                format!("{digits}{}", &suffix[2..])
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
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
        day_at_noon(date)
    })
}

/// A day written without a time and not in ISO form (for people, or in a URL path), as
/// noon UTC: the same calendar day in every zone from UTC-11 to UTC+11, where midnight
/// UTC would be the day before in all of the Americas.
pub(super) fn day_at_noon(date: NaiveDate) -> Option<DateTime<FixedOffset>> {
    Some(date.and_hms_opt(12, 0, 0)?.and_utc().fixed_offset())
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
            ("September 3, 2025", "2025-09-03T12:00:00+00:00"),
            ("3 Sep 2025", "2025-09-03T12:00:00+00:00"),
            ("20250903", "2025-09-03T12:00:00+00:00"),
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
    fn dates_written_for_people_are_read_from_short_texts() {
        let cases = [
            ("Thursday, May 26, 2016 ", "2016-05-26T12:00:00+00:00"),
            ("Thu, May 26, 2016", "2016-05-26T12:00:00+00:00"),
            (
                "November 5th, 2020  | 01:19:54 | E117",
                "2020-11-05T12:00:00+00:00",
            ),
            ("Aug 14, 2020", "2020-08-14T12:00:00+00:00"),
            ("Posted | 1st March 2021", "2021-03-01T12:00:00+00:00"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                date_in_text(raw).map(|d| d.to_rfc3339()).as_deref(),
                Some(want),
                "{raw}"
            );
        }
        for no_date in [
            "Friday",
            "5th Avenue",
            "Comments (3)",
            "Updated 2 hours ago",
        ] {
            assert_eq!(date_in_text(no_date), None, "{no_date}");
        }
    }

    #[test]
    fn a_date_in_the_url_path_is_the_last_resort() {
        let page = "<html><head><title>t</title></head></html>";
        let meta = from_html(page, &url("https://blog.example/2016/05/16/some-post/"));
        assert_eq!(
            meta.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2016-05-16T12:00:00+00:00")
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
