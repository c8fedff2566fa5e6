//! Errors of the calendar crate. Building a calendar can fail on bad
//! configuration or bad yearly data; the date arithmetic itself never fails.

use chrono::NaiveDate;

/// Why a calendar, a rule set or a yearly decision was rejected.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// Work periods must be non-empty, each `start < end`, sorted and not overlapping.
    #[error("invalid work periods: {0}")]
    InvalidPeriods(String),
    /// Every weekday was declared weekend, so no deadline could ever be reached.
    #[error("the weekend must leave at least one working weekday")]
    InvalidWeekend,
    /// A yearly decision file is inconsistent (duplicate or conflicting dates, wrong year).
    #[error("invalid year decision for {year}: {reason}")]
    InvalidDecision { year: i32, reason: String },
    /// Two decisions were supplied for the same year; which one wins would be arbitrary.
    #[error("more than one year decision for {0}")]
    DuplicateDecision(i32),
    /// One date was declared both a day off and a working day by different sources.
    #[error("conflicting day overrides for {0}")]
    ConflictingOverride(NaiveDate),
    /// The JSON of a yearly decision could not be parsed.
    #[error("cannot parse year decision JSON: {0}")]
    Json(#[from] serde_json::Error),
}
