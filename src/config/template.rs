//! Placeholder templates such as `"{artifacts}/results.json"`: parsed once when harness.toml is
//! loaded (so an unknown placeholder is a config error with its column), expanded per run.
//! `{{` and `}}` stand for literal braces.

use std::fmt;

/// A value known only when a canary runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{recipe}`: the canary's recipe.
    Recipe,
    /// `{rev}`: the canary's pinned revision.
    Rev,
    /// `{canary}`: the canary's name.
    Canary,
    /// `{run_id}`: the run's unique id.
    RunId,
    /// `{artifacts}`: the run's own artifact folder.
    Artifacts,
}

impl Placeholder {
    /// Every placeholder, as written in harness.toml.
    pub const NAMES: &'static [&'static str] =
        &["{recipe}", "{rev}", "{canary}", "{run_id}", "{artifacts}"];

    fn parse(name: &str) -> Option<Placeholder> {
        Some(match name {
            "recipe" => Placeholder::Recipe,
            "rev" => Placeholder::Rev,
            "canary" => Placeholder::Canary,
            "run_id" => Placeholder::RunId,
            "artifacts" => Placeholder::Artifacts,
            _ => return None,
        })
    }
}

/// The values placeholders expand to for one run.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// `{recipe}`.
    pub recipe: &'a str,
    /// `{rev}`.
    pub rev: &'a str,
    /// `{canary}`.
    pub canary: &'a str,
    /// `{run_id}`.
    pub run_id: &'a str,
    /// `{artifacts}`.
    pub artifacts: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Value(Placeholder),
}

/// A parsed template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
}

/// Why a template does not parse, with the byte offset in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset of the offending `{` or `}` in the template.
    pub offset: usize,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl Template {
    /// Parses a template, rejecting unknown placeholders and unbalanced braces.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut text = String::new();
        let mut rest = source.char_indices().peekable();
        while let Some((offset, c)) = rest.next() {
            match c {
                '{' if rest.peek().map(|(_, c)| *c) == Some('{') => {
                    rest.next();
                    text.push('{');
                }
                '}' if rest.peek().map(|(_, c)| *c) == Some('}') => {
                    rest.next();
                    text.push('}');
                }
                '{' => {
                    let Some(close) = source[offset..].find('}') else {
                        return Err(TemplateError {
                            offset,
                            message: "unclosed `{`: close the placeholder or write `{{` for a literal brace".to_owned(),
                        });
                    };
                    let name = &source[offset + 1..offset + close];
                    let Some(placeholder) = Placeholder::parse(name) else {
                        return Err(TemplateError {
                            offset,
                            message: format!(
                                "unknown placeholder `{{{name}}}`; valid placeholders: {}",
                                Placeholder::NAMES.join(", ")
                            ),
                        });
                    };
                    if !text.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut text)));
                    }
                    segments.push(Segment::Value(placeholder));
                    while rest.peek().is_some_and(|(at, _)| *at <= offset + close) {
                        rest.next();
                    }
                }
                '}' => {
                    return Err(TemplateError {
                        offset,
                        message: "unmatched `}`: write `}}` for a literal brace".to_owned(),
                    });
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        Ok(Template {
            source: source.to_owned(),
            segments,
        })
    }

    /// A template without placeholders.
    pub fn literal(text: &str) -> Template {
        Template {
            source: text.replace('{', "{{").replace('}', "}}"),
            segments: vec![Segment::Text(text.to_owned())],
        }
    }

    /// Substitutes the run's values. Values are inserted verbatim: a recipe named `x; rm -rf /`
    /// stays one literal string, and no shell ever sees it.
    pub fn expand(&self, vars: &Vars<'_>) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Value(placeholder) => out.push_str(match placeholder {
                    Placeholder::Recipe => vars.recipe,
                    Placeholder::Rev => vars.rev,
                    Placeholder::Canary => vars.canary,
                    Placeholder::RunId => vars.run_id,
                    Placeholder::Artifacts => vars.artifacts,
                }),
            }
        }
        out
    }

    /// Whether the template uses this placeholder.
    pub fn uses(&self, placeholder: Placeholder) -> bool {
        self.segments.contains(&Segment::Value(placeholder))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: Vars<'static> = Vars {
        recipe: "x; rm -rf /",
        rev: "435df8fc",
        canary: "good-simple",
        run_id: "good-simple-1",
        artifacts: "/tmp/runs/good-simple-1",
    };

    #[test]
    fn expands_every_placeholder() {
        let template =
            Template::parse("{artifacts}/r.json|{recipe}@{rev}|{canary}|{run_id}|{{literal}}")
                .unwrap();
        assert_eq!(
            template.expand(&VARS),
            "/tmp/runs/good-simple-1/r.json|x; rm -rf /@435df8fc|good-simple|good-simple-1|{literal}"
        );
        assert!(template.uses(Placeholder::Artifacts));
        assert_eq!(Template::literal("a{b}").expand(&VARS), "a{b}");
        assert_eq!(Template::parse("plain").unwrap().expand(&VARS), "plain");
        assert_eq!(
            Template::parse("é{rev}ü").unwrap().expand(&VARS),
            "é435df8fcü"
        );
    }

    #[test]
    fn rejects_unknown_and_unbalanced() {
        let error = Template::parse("--ref {revision}").unwrap_err();
        assert_eq!(error.offset, 6);
        assert!(
            error.message.contains("unknown placeholder `{revision}`"),
            "{}",
            error.message
        );
        assert!(
            error
                .message
                .contains("{recipe}, {rev}, {canary}, {run_id}, {artifacts}")
        );
        assert_eq!(Template::parse("ab{rev").unwrap_err().offset, 2);
        assert!(
            Template::parse("ab}")
                .unwrap_err()
                .message
                .contains("unmatched")
        );
    }
}
