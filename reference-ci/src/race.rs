//! The one deliberate source of randomness: whether a service with a declared cold start
//! actually has one when an upgrade restarts it. The probability comes from
//! `REFERENCE_CI_RACE_PROBABILITY` (default 0, so runs are deterministic unless asked
//! otherwise) and the draws from a splitmix64 generator seeded by `REFERENCE_CI_SEED` (or the
//! clock and pid), so a failing draw can be replayed.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;

/// Env var holding the probability (0..=1) that a cold-starting service is slow.
pub const PROBABILITY_VAR: &str = "REFERENCE_CI_RACE_PROBABILITY";
/// Env var holding the u64 seed of the draws.
pub const SEED_VAR: &str = "REFERENCE_CI_SEED";

/// The splitmix64 generator (Steele, Lea, Flood 2014): tiny, fast, statistically fine for
/// coin flips, and fully determined by its seed.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)` from the top 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A seed for runs that did not ask for one: differs between runs and processes.
pub fn clock_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// The race configuration of a run.
#[derive(Debug, Clone)]
pub struct Race {
    probability: f64,
    rng: SplitMix64,
}

impl Race {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Race::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads the configuration through `lookup` (so tests need not touch the environment).
    /// Unset or empty variables take their defaults; anything unparsable is an error.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let probability = match lookup(PROBABILITY_VAR).filter(|value| !value.trim().is_empty()) {
            None => 0.0,
            Some(value) => match value.trim().parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => p,
                _ => {
                    return Err(Error::InvalidEnv {
                        var: PROBABILITY_VAR,
                        value,
                        expected: "a number between 0 and 1, e.g. 0.25",
                    });
                }
            },
        };
        let seed = match lookup(SEED_VAR).filter(|value| !value.trim().is_empty()) {
            None => clock_seed(),
            Some(value) => value.trim().parse::<u64>().map_err(|_| Error::InvalidEnv {
                var: SEED_VAR,
                value,
                expected: "an unsigned 64-bit integer",
            })?,
        };
        Ok(Race {
            probability,
            rng: SplitMix64::new(seed),
        })
    }

    /// The configured probability.
    pub fn probability(&self) -> f64 {
        self.probability
    }

    /// Draws once: true with the configured probability. Probability 0 never strikes because
    /// draws are strictly below 1 and never below 0; probability 1 always strikes.
    pub fn strikes(&mut self) -> bool {
        self.rng.next_f64() < self.probability
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn race(probability: &str, seed: &str) -> Result<Race, Error> {
        Race::from_lookup(|var| match var {
            PROBABILITY_VAR => Some(probability.to_owned()),
            SEED_VAR => Some(seed.to_owned()),
            _ => None,
        })
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn floats_stay_in_the_unit_interval() {
        let mut rng = SplitMix64::new(42);
        assert!(
            (0..10_000)
                .map(|_| rng.next_f64())
                .all(|x| (0.0..1.0).contains(&x))
        );
    }

    #[test]
    fn extremes_are_certain() {
        let mut never = race("0", "7").unwrap();
        let mut always = race("1", "7").unwrap();
        assert!((0..1000).all(|_| !never.strikes()));
        assert!((0..1000).all(|_| always.strikes()));
    }

    #[test]
    fn same_seed_same_draws() {
        let draws = |seed| {
            let mut race = race("0.5", seed).unwrap();
            (0..64).map(|_| race.strikes()).collect::<Vec<_>>()
        };
        assert_eq!(draws("123"), draws("123"));
        assert_ne!(draws("123"), draws("124"));
        let hits = draws("99").iter().filter(|hit| **hit).count();
        assert!((16..=48).contains(&hits), "{hits}");
    }

    #[test]
    fn invalid_values_are_errors() {
        for bad in ["-0.1", "1.5", "NaN", "often", "inf"] {
            assert!(race(bad, "1").is_err(), "{bad}");
        }
        assert!(race("0.5", "-3").is_err());
        assert!(race("", "").is_ok());
    }
}
