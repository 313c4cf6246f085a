//! The declaration macros: [`canary!`](macro@crate::canary) registers a canary, and
//! [`main!`](macro@crate::main) writes the test binary's entry point.

/// Declares a canary and registers it with the harness.
///
/// Fields, `name` first and then in any order:
/// - `name: "good-simple"` (required): unique, matching `[a-z0-9][a-z0-9._-]*`;
/// - `recipe: "custom-html-tiny"`, `rev: "435df8fc"` (required): the pinned target;
/// - `expect: Green` or `expect: Red` (required): the verdict the recipe CI must reach;
/// - `checks: [ ... ]`: semantic checks ([`tier`](crate::check::tier),
///   [`stage`](crate::check::stage), [`flag`](crate::check::flag),
///   [`exit_code`](crate::check::exit_code), [`no_tier_failed`](crate::check::no_tier_failed),
///   [`output_matches`](crate::check::output_matches), [`custom`](crate::check::custom); the
///   statuses `Pass`, `Fail`, `Skip`, `Unver` are in scope);
/// - `timeout: "20m"`, `env: { "KEY": "value" }`, `description: "..."`, `owner: "sig-x"`
///   (optional). Doc comments before `name` become the description.
/// - `ci: "pytest"` (optional): run with the recipe CI of `[profiles.pytest]` instead of `[ci]`;
/// - `retries: 2` (optional): tries again after a failure, overriding `[run] retries`;
/// - `exit_code_only: true` (optional): accept checks that look at nothing but the exit code;
///   without it the canary's teeth trial fails, since an exit code alone hides false greens.
///
/// ```
/// coalmine::canary! {
///     /// The smallest recipe: one static site.
///     name: "good-simple",
///     recipe: "custom-html-tiny",
///     rev: "435df8fc",
///     expect: Green,
///     checks: [
///         tier("install").is(Pass),
///         no_tier_failed(),
///         flag("clean_teardown"),
///         flag("no_secret_leak"),
///         stage("install").test("test_serving").passed(),
///     ],
///     timeout: "5m",
///     env: { "REFERENCE_CI_RACE_PROBABILITY": "0" },
///     owner: "sig-ci",
/// }
/// # fn main() {}
/// ```
///
/// # Where to write it
/// Put `canary!` declarations in the test target itself (e.g. `tests/regression/canaries.rs`),
/// or in a module of it. Registrations live in a linker section: a library crate that nothing
/// in the final binary references is dropped by the linker, and its canaries with it, silently.
/// The same holds for `inventory::submit!` in general.
///
/// The macro is sugar over [`Canary`](crate::Canary) and [`Harness`](crate::Harness); generate
/// canaries with those when a list is computed.
///
/// `name` must come first:
/// ```compile_fail
/// coalmine::canary! {
///     recipe: "custom-html-tiny",
///     name: "good-simple",
/// }
/// ```
#[macro_export]
macro_rules! canary {
    (
        $(#[doc = $doc:expr])*
        name: $name:literal $(, $($field:tt)*)?
    ) => {
        $crate::__private::inventory::submit! {
            $crate::__private::Registration::new($name, ::core::file!(), ::core::line!(), ::core::column!(), {
                fn build() -> $crate::Canary {
                    #[allow(unused_imports)]
                    use $crate::__private::dsl::*;
                    let canary = $crate::Canary::at(
                        $name,
                        $crate::SourceLocation {
                            file: ::core::file!(),
                            line: ::core::line!(),
                            column: ::core::column!(),
                        },
                    );
                    $( let canary = canary.describe_line($doc); )*
                    $crate::__canary_fields!(canary; $($($field)*)?)
                }
                build
            })
        }
    };
    (
        $(#[$meta:meta])*
        name: $name:expr $(, $($field:tt)*)?
    ) => {
        ::core::compile_error!(
            "canary!: `name` must be a string literal, e.g. `name: \"good-simple\"`; \
             to compute names, build canaries with coalmine::Canary::new and coalmine::Harness"
        );
    };
    ($($other:tt)*) => {
        ::core::compile_error!(
            "canary!: start with `name: \"...\",` then give `recipe`, `rev`, `expect: Green | Red` and \
             `checks: [...]`, e.g. canary! { name: \"good-simple\", recipe: \"custom-html-tiny\", \
             rev: \"435df8fc\", expect: Green, checks: [no_tier_failed()] }"
        );
    };
}

/// Applies `canary!` fields to the builder, one at a time. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __canary_fields {
    ($canary:expr;) => { $canary };
    ($canary:expr; recipe: $value:expr $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.recipe($value); $($($rest)*)?)
    };
    ($canary:expr; rev: $value:expr $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.rev($value); $($($rest)*)?)
    };
    ($canary:expr; expect: Green $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.expect($crate::Expect::Green); $($($rest)*)?)
    };
    ($canary:expr; expect: Red $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.expect($crate::Expect::Red); $($($rest)*)?)
    };
    ($canary:expr; expect: $value:ident $(, $($rest:tt)*)?) => {
        ::core::compile_error!(::core::concat!(
            "canary!: `expect: ", ::core::stringify!($value), "` is not a verdict; write `expect: Green` or `expect: Red`"
        ));
    };
    ($canary:expr; expect: $value:expr $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.expect($value); $($($rest)*)?)
    };
    ($canary:expr; checks: [$($check:expr),* $(,)?] $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary $(.check($check))*; $($($rest)*)?)
    };
    ($canary:expr; timeout: $value:expr $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.timeout($value); $($($rest)*)?)
    };
    ($canary:expr; env: { $($key:literal : $value:expr),* $(,)? } $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary $(.env($key, $value))*; $($($rest)*)?)
    };
    ($canary:expr; ci: $value:expr $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.ci($value); $($($rest)*)?)
    };
    ($canary:expr; retries: $value:expr $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.retries($value); $($($rest)*)?)
    };
    ($canary:expr; exit_code_only: $value:expr $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.exit_code_only($value); $($($rest)*)?)
    };
    ($canary:expr; description: $value:expr $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.description($value); $($($rest)*)?)
    };
    ($canary:expr; owner: $value:expr $(, $($rest:tt)*)?) => {
        $crate::__canary_fields!($canary.owner($value); $($($rest)*)?)
    };
    ($canary:expr; name: $($rest:tt)*) => {
        ::core::compile_error!("canary!: `name` is given twice");
    };
    ($canary:expr; $field:ident : $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "canary!: unknown field `", ::core::stringify!($field),
            "`; expected one of: recipe, rev, expect, checks, timeout, env, description, owner, retries, exit_code_only, ci"
        ));
    };
    ($canary:expr; $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "canary!: expected `field: value`, found `", ::core::stringify!($($rest)*), "`"
        ));
    };
}

/// Writes `fn main() -> ExitCode` for a test target with `harness = false`, running every
/// registered canary: `coalmine::main!();`
#[macro_export]
macro_rules! main {
    () => {
        fn main() -> ::std::process::ExitCode {
            $crate::run()
        }
    };
}
