//! Calendar arithmetic for Asia/Seoul (UTC+9 all year: Korea has no daylight saving time).

/// Asia/Seoul's offset from UTC in milliseconds.
pub const SEOUL_OFFSET_MS: i64 = 9 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift to an era-based calendar that starts on March 1st, so the leap day is last.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365
    let mp = (5 * doy + 2) / 153; // 0..=11, March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The Asia/Seoul calendar day (`YYYY-MM-DD`) of an instant given in milliseconds since the
/// Unix epoch.
pub fn seoul_day(occurred_at_ms: i64) -> String {
    let local = occurred_at_ms.saturating_add(SEOUL_OFFSET_MS);
    let (y, m, d) = civil_from_days(local.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 UTC timestamp with milliseconds (`2026-01-02T03:04:05.678Z`).
pub fn rfc3339_utc(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    let in_day = ms.rem_euclid(DAY_MS);
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1_000, rest % 1_000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// Milliseconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(seoul_day(0), "1970-01-01");
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T12:34:56.789Z
        assert_eq!(rfc3339_utc(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        // 2000-03-01T00:00:00Z
        assert_eq!(rfc3339_utc(951_868_800_000), "2000-03-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn seoul_day_turns_at_15_00_utc() {
        // 2026-03-10T14:59:59.999Z is 23:59:59.999 in Seoul, still the 10th.
        let before = 1_773_154_799_999;
        assert_eq!(rfc3339_utc(before), "2026-03-10T14:59:59.999Z");
        assert_eq!(seoul_day(before), "2026-03-10");
        // One millisecond later it is midnight in Seoul: the 11th.
        assert_eq!(seoul_day(before + 1), "2026-03-11");
        // UTC midnight is 09:00 in Seoul: same day.
        assert_eq!(seoul_day(1_773_100_800_000), "2026-03-10");
    }

    #[test]
    fn year_and_leap_boundaries() {
        // 2024-12-31T15:00:00Z = 2025-01-01T00:00 KST
        assert_eq!(seoul_day(1_735_657_200_000), "2025-01-01");
        assert_eq!(seoul_day(1_735_657_199_999), "2024-12-31");
        // 2024-02-28T15:00:00Z = 2024-02-29T00:00 KST
        assert_eq!(seoul_day(1_709_132_400_000), "2024-02-29");
    }
}
