//! What the history commands print: aligned text tables, Markdown, and the plan in both.
//!
//! The plan's Markdown ([`plan_markdown`]) is the pull-request description `quarantine apply
//! --pr-body` writes: the changes grouped by owner, each line starting with `[QUARANTINE]`
//! (for a test being quarantined) and the owner's `[sig-…]` marker, then release-blocker issue
//! drafts, errors, lanes to make optional, and suite stability.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::civil::Date;

use super::show_time;
use crate::quarantine::{Candidate, Plan, Policy, percent};

/// A text table: a header and rows, columns padded to their widest cell (in characters).
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|header| (*header).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as aligned text, each line indented by `indent` spaces.
    pub fn text(&self, indent: usize) -> String {
        let columns = self.headers.len();
        let cell = |row: &[String], column: usize| row.get(column).cloned().unwrap_or_default();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (column, width) in widths.iter_mut().enumerate() {
                *width = (*width).max(cell(row, column).chars().count());
            }
        }
        let mut out = String::new();
        let lines = std::iter::once(&self.headers).chain(&self.rows);
        for row in lines {
            let mut line = " ".repeat(indent);
            for (column, width) in widths.iter().enumerate() {
                let text = cell(row, column);
                line.push_str(&text);
                if column + 1 < columns {
                    let pad = width - text.chars().count() + 2;
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// The table in Markdown (`|` in cells escaped).
    pub fn markdown(&self) -> String {
        let escape = |text: &str| text.replace('|', "\\|").replace('\n', " ");
        let mut out = String::new();
        let line = |cells: &[String]| {
            let cells: Vec<String> = (0..self.headers.len())
                .map(|column| escape(cells.get(column).map_or("", String::as_str)))
                .collect();
            format!("| {} |\n", cells.join(" | "))
        };
        out.push_str(&line(&self.headers));
        out.push_str(&format!("|{}\n", "---|".repeat(self.headers.len())));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// Inline code in Markdown, with a fence long enough for any backticks inside.
pub fn code(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if longest > 0 || text.starts_with(' ') || text.ends_with(' ') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// `failed/executions`.
fn ratio(failed: u64, executions: u64) -> String {
    format!("{failed}/{executions}")
}

fn owner_text(owner: Option<&str>) -> String {
    owner.unwrap_or("(none)").to_owned()
}

fn candidate_table(candidates: &[Candidate]) -> Table {
    let mut table = Table::new(&[
        "TEST",
        "OWNER",
        "RATE",
        "FAILED/EXECUTIONS",
        "RUNS",
        "FLIPPED",
        "WINDOW",
        "NOTES",
    ]);
    for candidate in candidates {
        let mut notes = Vec::new();
        if candidate.release_blocker {
            notes.push("release-blocker".to_owned());
        }
        if candidate.score != candidate.rate {
            notes.push(format!("score {}", percent(candidate.score)));
        }
        if let Some(fix) = &candidate.fix {
            notes.push(format!(
                "fix {}: {}/{} passes",
                fix.commit, fix.consecutive_passes, fix.needed
            ));
        }
        if let Some(lane) = candidate.lanes.first() {
            let apart = lane
                .newest_recent_failure
                .duration_since(lane.oldest_recent_failure);
            notes.push(format!(
                "lane {}: {} recent failures, {} h apart",
                lane.lane,
                lane.recent_failures,
                apart.as_hours()
            ));
        }
        table.row(vec![
            candidate.test.clone(),
            owner_text(candidate.owner.as_deref()),
            percent(candidate.rate),
            ratio(candidate.failed, candidate.failed + candidate.passed),
            candidate.runs.to_string(),
            format!(
                "{}/{} commits",
                candidate.flipped_commits, candidate.commits
            ),
            format!("{} days", candidate.window_days),
            notes.join(", "),
        ]);
    }
    table
}

/// Broken tests, one row each: the culprit range, the streak and the latest failure.
fn broken_table(plan: &Plan) -> Table {
    let mut table = Table::new(&[
        "TEST",
        "OWNER",
        "BROKE BETWEEN",
        "SINCE",
        "FAILED RUNS",
        "LATEST FAILURE",
    ]);
    for broken in &plan.broken {
        table.row(vec![
            broken.test.clone(),
            owner_text(broken.owner.as_deref()),
            format!(
                "{} and {}",
                broken
                    .last_pass_commit
                    .as_deref()
                    .unwrap_or("(no pass in the history read)"),
                broken.since_commit
            ),
            format!("{} ({})", show_time(broken.since), broken.since_lane),
            broken.failed_runs.to_string(),
            broken
                .latest_failure_message
                .as_deref()
                .map(first_line)
                .unwrap_or_else(|| format!("run {}", broken.latest_failure_run_id)),
        ]);
    }
    table
}

/// The first line of a message, at most 80 characters.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(80) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line.to_owned(),
    }
}

/// The broken section of a plan or report: first, since quarantine would hide a regression.
pub fn broken_section(out: &mut String, plan: &Plan, policy: &Policy) {
    if policy.broken_min_runs == 0 {
        return;
    }
    section(
        out,
        &format!(
            "Broken, not flaky (failed every trusted run since a commit, at least {} runs over \
             more than one commit; never quarantined: fix or revert the culprit)",
            policy.broken_min_runs
        ),
        &broken_table(plan),
    );
}

fn section(out: &mut String, title: &str, table: &Table) {
    if table.is_empty() {
        let _ = writeln!(out, "{title}: none\n");
    } else {
        let _ = writeln!(out, "{title}:");
        out.push_str(&table.text(2));
        out.push('\n');
    }
}

/// What a plan's `now` rule and batch rule are, in words.
fn rule_titles(policy: &Policy) -> (String, String) {
    let now = format!(
        "over {} in the last {} days",
        percent(policy.now_rate),
        policy.now_window_days
    );
    let batch = format!(
        "over {} in the last {} days",
        percent(policy.batch_rate),
        policy.batch_window_days
    );
    if policy.is_per_lane() {
        // KubeVirt's robot: lane by lane, at once, up to the limit.
        return (
            format!(
                " (auto-quarantine of at most {} per plan, the most recent failures first: on \
                 one lane, failed in at least {} of its runs in the last {} days, and at least {} \
                 times in the last {} hours, at least {} hours apart)",
                policy.auto_quarantine_max_per_run,
                percent(policy.batch_rate),
                policy.batch_window_days,
                policy.min_recent_failures,
                policy.max_failure_age_hours,
                policy.min_failure_interval_hours
            ),
            String::new(),
        );
    }
    if policy.is_auto() {
        // No batches: either rule quarantines at once, up to the limit.
        (
            format!(
                " (auto-quarantine of at most {} per plan: {now}, or {batch})",
                policy.auto_quarantine_max_per_run
            ),
            String::new(),
        )
    } else {
        (format!(" ({now})"), format!(" ({batch})"))
    }
}

/// The plan as text tables for a terminal.
pub fn plan_text(plan: &Plan, policy: &Policy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Quarantine plan as of {} (policy {}; {} runs in the windows, {} tests)\n",
        show_time(plan.now),
        plan.preset,
        plan.counts.runs_in_windows,
        plan.counts.tests
    );
    for note in &plan.notes {
        let _ = writeln!(out, "Note: {note}.\n");
    }
    broken_section(&mut out, plan, policy);
    let (now_rule, batch_rule) = rule_titles(policy);
    section(
        &mut out,
        &format!("Quarantine now{now_rule}"),
        &candidate_table(&plan.quarantine_now),
    );
    if !policy.is_auto() {
        let batch = &plan.batch;
        let batch_title = format!(
            "Quarantine in the next batch, {}{batch_rule}; grace period until {}{}",
            batch.date,
            batch.grace_ends,
            if batch.in_grace {
                " (running: `apply` adds these now)"
            } else {
                " (`apply` adds these from the batch day)"
            }
        );
        section(&mut out, &batch_title, &candidate_table(&plan.next_batch));
    }
    if !plan.deferred.is_empty() {
        section(
            &mut out,
            "Deferred to a later run (auto-quarantine limit)",
            &candidate_table(&plan.deferred),
        );
    }
    if policy.require_flip {
        section(
            &mut out,
            "Failing, not shown to be flaky (over a threshold, never passed and failed on one \
             commit; `require_flip` holds them back)",
            &candidate_table(&plan.not_shown_flaky),
        );
    }

    let mut grace = Table::new(&["TEST", "OWNER", "FIX", "PASSES", "BATCH", "IN QUARANTINE"]);
    for release in &plan.grace_released {
        grace.row(vec![
            release.test.clone(),
            owner_text(release.owner.as_deref()),
            release.fix.commit.clone(),
            format!("{}/{}", release.fix.consecutive_passes, release.fix.needed),
            release.batch_date.to_string(),
            if release.was_quarantined {
                "yes: apply removes it"
            } else {
                "no: not proposed"
            }
            .to_owned(),
        ]);
    }
    section(&mut out, "Grace: fixed, leaves the batch", &grace);

    let mut release = Table::new(&["TEST", "OWNER", "STABLE BY", "FAILED/EXECUTIONS"]);
    for entry in &plan.release {
        release.row(vec![
            entry.test.clone(),
            entry.owner.clone(),
            entry.stable_by.to_string(),
            ratio(entry.failed, entry.executions),
        ]);
    }
    section(&mut out, "Release from quarantine", &release);

    let mut keep = Table::new(&["TEST", "OWNER", "SINCE", "STABLE BY", "EARLIEST", "WHY"]);
    for entry in &plan.keep {
        keep.row(vec![
            entry.test.clone(),
            entry.owner.clone(),
            entry.since.to_string(),
            entry.stable_by.map(|d| d.to_string()).unwrap_or_default(),
            entry
                .earliest_release
                .map(|d| d.to_string())
                .unwrap_or_default(),
            entry.reason.clone(),
        ]);
    }
    section(&mut out, "Stays quarantined", &keep);

    if plan.escalations.is_empty() {
        out.push_str("Escalations: none\n\n");
    } else {
        out.push_str("Escalations: release-blocker issues to open\n");
        for draft in &plan.escalations {
            let _ = writeln!(
                out,
                "  {} (assign: {})",
                draft.title,
                owner_text(draft.owner.as_deref())
            );
            for line in draft.body.lines() {
                let _ = writeln!(out, "{}", format!("    {line}").trim_end());
            }
        }
        out.push('\n');
    }

    if plan.missing_owner.is_empty() {
        out.push_str("Missing owners: none\n\n");
    } else {
        out.push_str("Missing owners (errors: `apply` refuses until each has an owner):\n");
        for error in plan.errors() {
            let _ = writeln!(out, "  error: {error}");
        }
        out.push('\n');
    }

    let mut lanes = Table::new(&[
        "LANE",
        "REQUIRED",
        "TEAM",
        "FAILED RUNS",
        "RATE",
        "FAILING TESTS",
        "OPTIONAL CANDIDATE",
    ]);
    for lane in &plan.lanes {
        lanes.row(vec![
            lane.lane.clone(),
            if lane.required { "yes" } else { "no" }.to_owned(),
            lane.team.clone().unwrap_or_default(),
            ratio(lane.failed_runs, lane.runs),
            percent(lane.rate),
            lane.distinct_failing_tests.to_string(),
            match lane.deadline {
                Some(deadline) => format!("yes: team's fix due {deadline}"),
                None => "no".to_owned(),
            },
        ]);
    }
    section(
        &mut out,
        &format!("Lanes (last {} days)", policy.lane_window_days),
        &lanes,
    );

    if !plan.unknown_quarantine_entries.is_empty() {
        out.push_str(
            "Unknown quarantine entries (no such test in the history: fix the name or remove \
             the entry from harness.toml):\n",
        );
        for (test, closest) in &plan.unknown_quarantine_closest {
            let _ = writeln!(out, "  {test}{}", closest_names(closest));
        }
        out.push('\n');
    }
    if !plan.duplicate_quarantine_entries.is_empty() {
        out.push_str("Tests with more than one [[quarantine]] entry (the first is used):\n");
        for test in &plan.duplicate_quarantine_entries {
            let _ = writeln!(out, "  {test}");
        }
        out.push('\n');
    }
    out.push_str(&stability_text(plan));
    if !plan.systemic_runs.is_empty() {
        let _ = writeln!(
            out,
            "\n{} systemic run(s) (too many failed tests: an infrastructure failure) were left \
             out of per-test rates.",
            plan.systemic_runs.len()
        );
    }
    out
}

/// Suite stability in one paragraph. Without a trusted run in the window nothing was measured,
/// and the projection over no test is no evidence: neither says the goal is met.
pub fn stability_text(plan: &Plan) -> String {
    let stability = &plan.stability;
    let heading = format!(
        "Suite stability over the last {} days (goal: at least {} of runs pass, i.e. at most {} \
         fail):\n",
        stability.window_days,
        percent(stability.goal),
        percent(1.0 - stability.goal),
    );
    let Some(measured) = stability.measured else {
        return format!("{heading}  {NOTHING_MEASURED}\n");
    };
    let verdict = |met: bool| if met { "meets" } else { "misses" };
    let mut text = format!(
        "{heading}  projected {} ({} the goal), {} after this plan's quarantines\n  measured {} \
         of {} trusted runs passed ({} the goal)\n",
        percent(stability.projected),
        verdict(stability.projected_met),
        percent(stability.projected_after_plan),
        percent(measured),
        stability.measured_runs,
        verdict(measured >= stability.goal)
    );
    if !plan.broken.is_empty() {
        let _ = writeln!(
            text,
            "  broken tests failed {} of the {} failed runs; fixed, the projection would be {}",
            stability.broken_failed_runs,
            stability.measured_failed_runs,
            percent(stability.projected_without_broken)
        );
    }
    text
}

/// What the stability texts say without a trusted run in the window.
pub const NOTHING_MEASURED: &str = "no trusted, non-systemic run in the window: nothing was \
    measured or projected, so this says nothing about the goal";

/// One line of the pull-request description.
struct Change {
    owner: Option<String>,
    line: String,
}

fn marker(owner: Option<&str>) -> String {
    match owner {
        Some(owner) => format!("[{owner}]"),
        None => "[no owner]".to_owned(),
    }
}

/// The plan as a pull-request description in Markdown, grouped by owner.
pub fn plan_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let mut changes: Vec<Change> = Vec::new();
    let candidates = [
        (&plan.quarantine_now, "quarantine now"),
        (&plan.next_batch, "next batch"),
    ];
    for (list, when) in candidates {
        for candidate in list {
            changes.push(Change {
                owner: candidate.owner.clone(),
                line: format!(
                    "[QUARANTINE] {} {}: {when}; {}{}",
                    marker(candidate.owner.as_deref()),
                    code(&candidate.test),
                    candidate.reason,
                    blocker_note(candidate)
                ),
            });
        }
    }
    for release in &plan.grace_released {
        let action = if release.was_quarantined {
            "leaves quarantine in the grace period"
        } else {
            "leaves the batch"
        };
        changes.push(Change {
            owner: release.owner.clone(),
            line: format!(
                "{} {}: {action}; fix {} passed {} consecutive executions",
                marker(release.owner.as_deref()),
                code(&release.test),
                release.fix.commit,
                release.fix.consecutive_passes
            ),
        });
    }
    for release in &plan.release {
        changes.push(Change {
            owner: Some(release.owner.clone()),
            line: format!(
                "{} {}: release from quarantine; {}",
                marker(Some(&release.owner)),
                code(&release.test),
                release.reason
            ),
        });
    }

    let title = if plan.next_batch.is_empty() {
        "Quarantine update".to_owned()
    } else {
        format!("Quarantine update (batch of {})", plan.batch.date)
    };
    let _ = writeln!(out, "## {title}\n");
    let _ = writeln!(
        out,
        "Computed by `coalmine quarantine plan` as of {} (policy `{}`): {} quarantined now, {} \
         in the batch, {} released.\n",
        show_time(plan.now),
        plan.preset,
        plan.quarantine_now.len(),
        plan.next_batch.len(),
        plan.release.len() + plan.grace_released.len()
    );
    for note in &plan.notes {
        let _ = writeln!(out, "Note: {note}.\n");
    }
    if changes.is_empty() {
        out.push_str("No test to quarantine or release.\n\n");
    }
    let mut by_owner: BTreeMap<(bool, String), Vec<&Change>> = BTreeMap::new();
    for change in &changes {
        let key = match &change.owner {
            Some(owner) => (false, owner.clone()),
            None => (true, String::new()),
        };
        by_owner.entry(key).or_default().push(change);
    }
    for ((no_owner, owner), changes) in &by_owner {
        if *no_owner {
            out.push_str("### No owner (blocks `coalmine quarantine apply`)\n\n");
        } else {
            let _ = writeln!(out, "### {owner}\n");
        }
        for change in changes {
            let _ = writeln!(out, "- {}", change.line);
        }
        out.push('\n');
    }
    if !plan.broken.is_empty() {
        out.push_str(
            "### Broken, not quarantined\n\nThese fail on every run since a commit: quarantine \
             would hide a regression. Fix or revert the culprit.\n\n",
        );
        for broken in &plan.broken {
            let _ = writeln!(
                out,
                "- {} {}: {}",
                marker(broken.owner.as_deref()),
                code(&broken.test),
                broken.reason
            );
        }
        out.push('\n');
    }
    if !plan.missing_owner.is_empty() {
        out.push_str("### Errors\n\n");
        for error in plan.errors() {
            let _ = writeln!(out, "- {error}");
        }
        out.push('\n');
    }
    if !plan.escalations.is_empty() {
        out.push_str("### Release blockers\n\n");
        for draft in &plan.escalations {
            let _ = writeln!(
                out,
                "#### {}\n\nAssign: {}\n",
                draft.title,
                owner_text(draft.owner.as_deref())
            );
            for line in draft.body.lines() {
                if line.is_empty() {
                    out.push_str(">\n");
                } else {
                    let _ = writeln!(out, "> {line}");
                }
            }
            out.push('\n');
        }
    }
    let optional: Vec<_> = plan
        .lanes
        .iter()
        .filter(|lane| lane.optional_candidate)
        .collect();
    if !optional.is_empty() {
        out.push_str("### Lanes to make optional unless fixed in time\n\n");
        for lane in optional {
            let _ = writeln!(
                out,
                "- {} {}: {} of runs failed ({}/{}), {} distinct failing tests; the team's fix is \
                 due {}",
                marker(lane.team.as_deref()),
                code(&lane.lane),
                percent(lane.rate),
                lane.failed_runs,
                lane.runs,
                lane.distinct_failing_tests,
                lane.deadline
                    .map(|d: Date| d.to_string())
                    .unwrap_or_default()
            );
        }
        out.push('\n');
    }
    if !plan.unknown_quarantine_entries.is_empty() {
        out.push_str("### Unknown quarantine entries\n\n");
        for (test, closest) in &plan.unknown_quarantine_closest {
            let _ = writeln!(
                out,
                "- {}: no such test in the history; fix the name or remove the entry{}",
                code(test),
                closest_names(closest)
            );
        }
        out.push('\n');
    }
    let stability = &plan.stability;
    let _ = match stability.measured {
        Some(measured) => writeln!(
            out,
            "### Suite stability\n\nOver the last {} days, goal {}: projected pass rate {} ({} \
             after this change); measured {} over {} runs.",
            stability.window_days,
            percent(stability.goal),
            percent(stability.projected),
            percent(stability.projected_after_plan),
            percent(measured),
            stability.measured_runs
        ),
        None => writeln!(
            out,
            "### Suite stability\n\nOver the last {} days, goal {}: {NOTHING_MEASURED}.",
            stability.window_days,
            percent(stability.goal),
        ),
    };
    out
}

fn blocker_note(candidate: &Candidate) -> &'static str {
    if candidate.release_blocker {
        "; **release blocker**: see the issue below"
    } else {
        ""
    }
}

/// "; closest: a, b" for an unknown name's closest known ones (nothing when there are none).
fn closest_names(closest: &[String]) -> String {
    if closest.is_empty() {
        String::new()
    } else {
        format!("; closest: {}", closest.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_escape() {
        let mut table = Table::new(&["A", "LONGER"]);
        table.row(vec!["wide cell".to_owned(), "x|y".to_owned()]);
        table.row(vec!["é".to_owned()]);
        assert_eq!(table.text(1), " A          LONGER\n wide cell  x|y\n é\n");
        assert_eq!(
            table.markdown(),
            "| A | LONGER |\n|---|---|\n| wide cell | x\\|y |\n| é |  |\n"
        );
    }

    #[test]
    fn code_spans() {
        assert_eq!(code("a::b"), "`a::b`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
