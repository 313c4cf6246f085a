//! Days, windows and batch days. Every day is a UTC calendar day and every window a run of
//! 24-hour days ending at `now`.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::plan::BatchInfo;
use super::policy::Policy;

/// `n` days of 24 hours.
pub fn days(n: u32) -> SignedDuration {
    SignedDuration::from_hours(i64::from(n) * 24)
}

/// The instant `n` days before `now` (the excluded, older edge of an `n`-day window).
pub fn days_before(now: Timestamp, n: u32) -> Timestamp {
    now.checked_sub(days(n)).unwrap_or(Timestamp::MIN)
}

/// Whether `at` is in the `n`-day window ending at `now`: `now - n days < at <= now`. A run
/// exactly `n` days old is out, a run at `now` is in, a run after `now` is out.
pub fn in_window(at: Timestamp, now: Timestamp, n: u32) -> bool {
    at > days_before(now, n) && at <= now
}

/// The UTC calendar day of an instant.
pub fn utc_date(at: Timestamp) -> Date {
    at.to_zoned(TimeZone::UTC).date()
}

/// 00:00 UTC of a day.
pub fn start_of_day(date: Date) -> Timestamp {
    date.to_zoned(TimeZone::UTC)
        .map_or(Timestamp::MAX, |zoned| zoned.timestamp())
}

/// The day `n` days after `date` (before, when negative).
pub fn add_days(date: Date, n: i64) -> Date {
    date.saturating_add(SignedDuration::from_hours(n.saturating_mul(24)))
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    from.duration_until(to).as_hours() / 24
}

/// The batch of the plan at `now`: batch days are `batch_anchor + k * batch_every_days` for
/// any integer `k` (the anchor may be in the future). The batch is today's (or the latest
/// past one's) while its grace period runs, i.e. while `today < batch day + grace_days`, and
/// on the batch day itself even with `grace_days = 0`; otherwise it is the next batch day.
pub fn batch_at(policy: &Policy, now: Timestamp) -> BatchInfo {
    let today = utc_date(now);
    let every = i64::from(policy.batch_every_days.max(1));
    let grace = i64::from(policy.grace_days);
    let offset = days_between(policy.batch_anchor, today).rem_euclid(every);
    let latest = add_days(today, -offset);
    let date = if offset == 0 || offset < grace {
        latest
    } else {
        add_days(latest, every)
    };
    let grace_ends = add_days(date, grace);
    BatchInfo {
        date,
        grace_ends,
        in_grace: date <= today && today < grace_ends,
    }
}

/// A time as the commands print it: `2026-11-20T03:00:00Z`, rounded to the second.
pub fn show_time(at: Timestamp) -> String {
    at.round(jiff::Unit::Second)
        .unwrap_or(at)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
