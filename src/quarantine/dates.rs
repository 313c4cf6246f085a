//! Dates in harness.toml's quarantine tables and policy, written as strings (`"2026-06-01"`) or
//! as bare TOML local dates (`2026-06-01`): both are read, and a wrong one is refused with the
//! spelling to use.

use std::fmt;

use jiff::civil::Date;
use serde::Deserializer;
use serde::de::{self, MapAccess, Visitor};

/// The key under which the toml crate hands over a TOML datetime.
const TOML_DATETIME_FIELD: &str = "$__toml_private_datetime";

/// A date deserialized from either form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlexDate(pub(crate) Date);

impl<'de> serde::Deserialize<'de> for FlexDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DateVisitor).map(FlexDate)
    }
}

struct DateVisitor;

fn parse<E: de::Error>(text: &str) -> Result<Date, E> {
    text.parse::<Date>().map_err(|error| {
        E::custom(format!(
            "`{text}` is not a date (write a day such as 2026-06-15): {error}"
        ))
    })
}

impl<'de> Visitor<'de> for DateVisitor {
    type Value = Date;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date such as 2026-06-15")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Date, E> {
        parse(text)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Date, A::Error> {
        match map.next_key::<String>()? {
            Some(key) if key == TOML_DATETIME_FIELD => {
                let text: String = map.next_value()?;
                parse(&text)
            }
            _ => Err(de::Error::custom("expected a date such as 2026-06-15")),
        }
    }
}

/// For `#[serde(deserialize_with)]` on a `Date`.
pub(crate) fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
    deserializer.deserialize_any(DateVisitor)
}

/// For `#[serde(deserialize_with)]` on an `Option<Date>` (with `default`).
pub(crate) fn optional_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Date>, D::Error> {
    deserializer.deserialize_any(DateVisitor).map(Some)
}
