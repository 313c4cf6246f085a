//! Which values are secret for one canary run: the values of the variables named in
//! `[ci] secrets` (as the CI will see them: the canary's env, else `[ci.env]`, else the
//! harness's own environment) plus the `[ci] secret_patterns` regexes.

use crate::canary::ValidCanary;
use crate::config::{CiConfig, Config, Template, Vars};
use crate::execute::redact::Redactor;

/// The secrets of one run: the redactor, and the variable each of its values came from.
pub struct Secrets {
    /// Redacts every value and pattern.
    pub redactor: Redactor,
    /// The variable of each value given to the redactor, by its index.
    pub variables: Vec<String>,
}

/// The secrets of one run of `canary` with the recipe CI `ci` (`config` is named in messages),
/// or why their redactor cannot be built.
pub fn secrets(
    config: &Config,
    ci: &CiConfig,
    canary: &ValidCanary<'_>,
    vars: &Vars<'_>,
) -> Result<Secrets, String> {
    let found: Vec<(&str, String)> = ci
        .secrets
        .iter()
        .filter_map(|name| {
            let value = if let Some(value) = canary.canary().env_vars().get(name) {
                Template::parse(value)
                    .map_or_else(|_| value.clone(), |template| template.expand(vars))
            } else if let Some(template) = ci.env.get(name) {
                template.expand(vars)
            } else {
                std::env::var(name).ok()?
            };
            Some((name.as_str(), value))
        })
        .collect();
    let redactor = Redactor::new(
        found.iter().map(|(_, value)| value.clone()),
        &ci.secret_patterns,
    )
    .map_err(|error| {
        format!(
            "cannot set up secret redaction: {error}; fix `[ci] secret_patterns` in {}",
            config.path.display()
        )
    })?;
    for ignored in redactor.ignored() {
        let name = found.get(ignored.index).map_or("?", |(name, _)| *name);
        eprintln!("warning: the secret in ${name} is not redacted: {ignored}");
    }
    Ok(Secrets {
        redactor,
        variables: found.into_iter().map(|(name, _)| name.to_owned()).collect(),
    })
}
