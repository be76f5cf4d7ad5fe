//! The `Date` (a UTC calendar day, `2027-01-31`) and `Time` (RFC 3339 in UTC) scalars.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// A UTC calendar day, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar day such as "2027-01-31", in UTC.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        parse_date(text)
            .map(Date)
            .ok_or_else(|| InputValueError::custom("expected a calendar date like 2027-01-31"))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// Strict `YYYY-MM-DD` (no signs, no single digits, no time part).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

/// An instant, as an RFC 3339 timestamp in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub DateTime<Utc>);

/// An RFC 3339 timestamp in UTC, such as "2027-01-31T09:30:00.000Z".
#[Scalar(name = "Time")]
impl ScalarType for Time {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        DateTime::parse_from_rfc3339(text)
            .map(|time| Time(time.to_utc()))
            .map_err(|_| InputValueError::custom("expected an RFC 3339 timestamp"))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_parsed_strictly() {
        assert_eq!(
            parse_date("2027-01-31"),
            NaiveDate::from_ymd_opt(2027, 1, 31)
        );
        for bad in [
            "2027-1-31",
            "2027-02-30",
            "+2027-01-31",
            "2027-01-31T00:00:00Z",
            "",
            "２０２７-01-31",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
