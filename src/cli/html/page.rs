//! The page itself: one HTML document with its style and script inline and its charts as
//! inline SVG. Every string from the history goes through [`escape`](super::escape); the
//! Content-Security-Policy meta tag allows the page's own `<style>` and `<script>` by their
//! SHA-256 hashes (not `'unsafe-inline'`: an injected `<script>` or `onerror=` attribute would
//! not run even if escaping had a hole), no `style="..."` attribute (the page has none), images
//! only as `data:` URLs, and no connection, font, frame, form or base URL. Test pages are
//! sections shown by CSS `:target` (`#test-N`), so they open without script; the script only
//! names the open page in the title and in `data-open`, and records script errors and CSP
//! violations in `data-errors` and `data-csp-violations` on the root element.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::collect::{self, Gathered, cell};
use super::escape::{attr, script_json, test_anchor, text as e};
use super::{HARNESS_SOURCE, PageData};
use crate::cli::analysis::{entry_of, flakiest, status};
use crate::quarantine::calendar::show_time;
use crate::quarantine::{FailingTest, percent};

const CSS: &str = r#"
:root{--p:#2e7d32;--f:#c62828;--e:#6a1b9a;--k:#ef6c00;--s:#78909c;--n:#eceff1;--bg:#fff;--fg:#1a1a1a;--mu:#5f6368;--ln:#dadce0}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header,main,section.tp{padding:12px 20px}
header{border-bottom:1px solid var(--ln);background:#f8f9fa}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid var(--ln);padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
nav a{margin-right:12px}
a{color:#1a56c4}
.mu{color:var(--mu)}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid var(--ln);border-radius:6px;padding:8px 12px;min-width:180px}
.card b{font-size:20px;display:block}
.ok{color:var(--p)}.bad{color:var(--f)}
table{border-collapse:collapse;margin:4px 0 8px}
td,th{border:1px solid var(--ln);padding:2px 6px;text-align:left;vertical-align:top}
table.grid td,table.grid th{padding:0 2px;text-align:center;font:12px/16px ui-monospace,Menlo,Consolas,monospace}
table.grid th.t{text-align:left;max-width:420px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-family:inherit}
table.grid th.run{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;white-space:nowrap;vertical-align:bottom;padding:2px 0}
td.p{background:#c8e6c9;color:#1b5e20}td.f{background:var(--f);color:#fff}td.e{background:var(--e);color:#fff}
td.k{background:#ffcc80;color:#5d2c00}td.s{background:#cfd8dc;color:#37474f}td.x{background:#fff;color:#90a4ae}
td.n{background:var(--n);color:#b0bec5}
td.rate{text-align:right;white-space:nowrap}
.badge{display:inline-block;border-radius:3px;padding:0 4px;font-size:11px;border:1px solid currentColor;margin-left:4px}
.b-quarantined{color:#6a1b9a}.b-broken{color:var(--f)}.b-quarantine-now{color:#b71c1c}.b-next-batch{color:#e65100}.b-watch{color:var(--mu)}
table.heat td{text-align:center;font:11px/15px ui-monospace,Menlo,Consolas,monospace;min-width:22px}
table.heat th.d{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:11px}
td.h0{background:#fff;color:#b0bec5}td.h1{background:#e8f5e9}td.h2{background:#fff3e0}td.h3{background:#ffcc80}td.h4{background:#ef9a9a}td.h5{background:#c62828;color:#fff}
pre{background:#f6f8fa;border:1px solid var(--ln);padding:8px;white-space:pre-wrap;word-break:break-word;max-width:1100px}
svg{vertical-align:middle}
.bar-bg{fill:#eceff1}.bar-p{fill:#66bb6a}.bar-f{fill:#e53935}.goal{stroke:#1a56c4;stroke-dasharray:3 2}
section.tp{display:none}
section.tp:target{display:block}
body:has(section.tp:target) main{display:none}
.legend td{min-width:18px;text-align:center}
"#;

const JS: &str = r#"
(function () {
  var root = document.documentElement;
  var count = function (name) {
    root.setAttribute(name, String(Number(root.getAttribute(name) || 0) + 1));
  };
  window.addEventListener('error', function () { count('data-errors'); });
  document.addEventListener('securitypolicyviolation', function () { count('data-csp-violations'); });
  var base = document.title;
  var open = function () {
    var id = decodeURIComponent(location.hash.slice(1));
    var page = id ? document.getElementById(id) : null;
    if (page && page.classList.contains('tp')) {
      root.setAttribute('data-open', id);
      document.title = page.getAttribute('data-title') + ' \u2014 ' + base;
    } else {
      root.setAttribute('data-open', '');
      document.title = base;
    }
  };
  window.addEventListener('hashchange', open);
  open();
  root.setAttribute('data-ready', '1');
})();
"#;

/// The `'sha256-...'` source of a CSP for this exact element content.
fn csp_hash(content: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(content.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The page's Content-Security-Policy.
pub(crate) fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; connect-src 'none'; \
         font-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'",
        csp_hash(CSS),
        csp_hash(JS)
    )
}

/// `1917` as `1,917`.
fn thousands(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn short_commit(commit: &str) -> &str {
    match commit.char_indices().nth(10) {
        Some((end, _)) => &commit[..end],
        None => commit,
    }
}

fn short_time(at: Timestamp) -> String {
    at.strftime("%m-%d %H:%M").to_string()
}

/// How a cell reads: its class, its letter and its word.
fn cell_view(bits: u8) -> (&'static str, &'static str, &'static str) {
    let failed = bits & (cell::FAIL | cell::ERROR) != 0;
    if bits == 0 {
        ("n", "\u{b7}", "no result")
    } else if bits & cell::FLAKY != 0 || (failed && bits & cell::PASS != 0) {
        ("k", "R", "passed on a retry")
    } else if bits & cell::ERROR != 0 {
        ("e", "E", "error")
    } else if bits & cell::FAIL != 0 {
        ("f", "F", "failed")
    } else if bits & cell::PASS != 0 {
        ("p", "P", "passed")
    } else if bits & cell::SKIP != 0 {
        ("s", "S", "skipped")
    } else {
        ("x", "N", "not run")
    }
}

struct Page<'d, 'a> {
    data: &'d PageData<'a>,
    out: String,
    anchors: HashMap<usize, String>,
    rates: HashMap<&'a str, &'a FailingTest>,
    quarantined: Vec<bool>,
}

/// Renders the page.
pub(crate) fn render(data: &PageData<'_>) -> String {
    let plan = &data.analysis.plan;
    let anchors = data
        .pages
        .iter()
        .map(|&test| (test, test_anchor(test)))
        .collect();
    let rates = plan
        .failing
        .iter()
        .map(|failing| (failing.test.as_str(), failing))
        .collect();
    let quarantined = data
        .analysis
        .tests
        .iter()
        .map(|test| entry_of(data.config, &test.name).is_some())
        .collect();
    let mut page = Page {
        data,
        out: String::with_capacity(1 << 20),
        anchors,
        rates,
        quarantined,
    };
    page.document();
    page.out
}

impl<'a> Page<'_, 'a> {
    fn w(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn name(&self, test: usize) -> &'a str {
        self.data.analysis.tests[test].name.as_str()
    }

    /// A test's name as text, linked to its page when it has one.
    fn link(&self, name: &str) -> String {
        match self
            .data
            .index
            .get(name)
            .and_then(|test| self.anchors.get(test))
        {
            Some(anchor) => format!("<a href=\"#{anchor}\">{}</a>", e(name)),
            None => e(name),
        }
    }

    fn owner(&self, name: &str) -> Option<String> {
        entry_of(self.data.config, name)
            .map(|entry| entry.owner.clone())
            .or_else(|| super::analysis::owner(&self.data.analysis.tests, self.data.config, name))
    }

    fn owner_cell(&self, owner: Option<&str>) -> String {
        match owner {
            Some(owner) => e(owner),
            None => "<b class=\"bad\">none</b>".to_owned(),
        }
    }

    fn badge(&self, name: &str) -> String {
        let status = status(&self.data.analysis.plan, self.data.config, name);
        format!("<span class=\"badge b-{status}\">{status}</span>")
    }

    fn document(&mut self) {
        let plan = &self.data.analysis.plan;
        let title = format!("coalmine report \u{b7} {}", show_time(plan.now));
        let _ = write!(
            self.out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
             <meta name=\"referrer\" content=\"no-referrer\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
            attr(&content_security_policy()),
            e(&title)
        );
        self.header();
        self.w("<main id=\"main\">\n");
        self.headline();
        self.attention();
        self.flakiest();
        self.grids();
        self.heat();
        self.quarantine();
        self.canaries();
        self.w("</main>\n");
        self.test_pages();
        self.data_block();
        let _ = write!(self.out, "<script>{JS}</script>\n</body>\n</html>\n");
    }

    fn header(&mut self) {
        let plan = &self.data.analysis.plan;
        let gathered = self.data.gathered;
        let latest = gathered.runs.last().map(|run| show_time(run.started_at));
        let _ = write!(
            self.out,
            "<header><h1>coalmine report</h1><div class=\"mu\">As of {} \u{b7} policy {} \u{b7} \
             data up to {} \u{b7} {} run(s) in the last {} days</div>\n<nav><a href=\"#headline\">\
             Headline</a><a href=\"#attention\">Needs a person</a><a href=\"#flakiest\">Flakiest</a>\
             <a href=\"#grid\">Grid</a>\
             <a href=\"#heat\">Lane health</a><a href=\"#quarantine\">Quarantine</a>\
             <a href=\"#canaries\">Canaries</a></nav></header>\n",
            e(&show_time(plan.now)),
            e(&plan.preset.to_string()),
            e(latest.as_deref().unwrap_or("(no run)")),
            thousands(gathered.runs.len() as u64),
            self.data.config.policy.horizon_days()
        );
    }

    fn headline(&mut self) {
        let plan = &self.data.analysis.plan;
        let stability = &plan.stability;
        self.w("<section id=\"headline\"><h2>Headline</h2><div class=\"cards\">");
        let met = |met: bool| if met { "ok" } else { "bad" };
        let _ = write!(
            self.out,
            "<div class=\"card\">Projected pass rate<b class=\"{}\">{}</b>goal {} \u{b7} {} \
             once the plan's candidates are quarantined</div>",
            met(stability.projected_met),
            e(&percent(stability.projected)),
            e(&percent(stability.goal)),
            e(&percent(stability.projected_after_plan))
        );
        match stability.measured {
            Some(measured) => {
                let _ = write!(
                    self.out,
                    "<div class=\"card\">Measured pass rate<b class=\"{}\">{}</b>{} trusted \
                     run(s), {} failed ({} by a broken test)</div>",
                    met(measured >= stability.goal),
                    e(&percent(measured)),
                    thousands(stability.measured_runs),
                    thousands(stability.measured_failed_runs),
                    thousands(stability.broken_failed_runs)
                );
            }
            None => self.w(
                "<div class=\"card\">Measured pass rate<b>none</b>no trusted, non-systemic run \
                 in the window</div>",
            ),
        }
        let counts = &plan.counts;
        let _ = write!(
            self.out,
            "<div class=\"card\">Counts<b>{} runs</b>{} tests \u{b7} {} lanes \u{b7} {} \
             quarantined \u{b7} {} results read</div></div>",
            thousands(counts.runs_in_windows),
            thousands(counts.tests),
            thousands(self.data.gathered.lanes.len() as u64),
            thousands(self.data.config.quarantine.len() as u64),
            thousands(counts.results)
        );
        let _ = write!(
            self.out,
            "<p class=\"mu\">Stability over the last {} days. Below: the share of trusted, \
             non-systemic runs each day with no failed non-quarantined test, as the measured pass \
             rate counts them (the dashed line is the goal).</p>",
            stability.window_days
        );
        self.trend();
        self.w("</section>\n");
    }

    /// Per day: trusted runs with results, and those with no failed non-quarantined test.
    /// Per day, the trusted, non-systemic runs and those without a failed non-quarantined
    /// test: the measured pass rate's runs, day by day.
    fn day_passes(&self) -> Vec<(u32, u32)> {
        let gathered = self.data.gathered;
        let policy = &self.data.config.policy;
        let systemic: HashSet<i64> = self
            .data
            .analysis
            .plan
            .systemic_runs
            .iter()
            .map(|run| run.run_id)
            .collect();
        let mut days = vec![(0u32, 0u32); gathered.days.len()];
        for (run, row) in gathered.runs.iter().enumerate() {
            if !gathered.has_results[run]
                || !policy.is_trusted(row.kind)
                || systemic.contains(&row.id)
            {
                continue;
            }
            let day = &mut days[gathered.run_day[run]];
            day.0 += 1;
            if !self.run_failed(run) {
                day.1 += 1;
            }
        }
        days
    }

    fn run_failed(&self, run: usize) -> bool {
        self.data.gathered.failed_tests[run].iter().any(|&test| {
            !self
                .quarantined
                .get(test as usize)
                .copied()
                .unwrap_or(false)
        })
    }

    fn trend(&mut self) {
        let days = self.day_passes();
        let gathered = self.data.gathered;
        let width = 8 * days.len().max(1) + 40;
        let _ = write!(
            self.out,
            "<svg id=\"trend\" width=\"{width}\" height=\"70\" role=\"img\" \
             aria-label=\"suite pass rate per day\">"
        );
        let goal_y = 60.0 - 60.0 * self.data.config.policy.goal;
        for (i, &(runs, passed)) in days.iter().enumerate() {
            let x = 8 * i;
            let day = gathered.days[i];
            if runs == 0 {
                let _ = write!(
                    self.out,
                    "<rect x=\"{x}\" y=\"58\" width=\"6\" height=\"2\" class=\"bar-bg\">\
                     <title>{day}: no trusted run</title></rect>"
                );
                continue;
            }
            let share = f64::from(passed) / f64::from(runs);
            let height = (60.0 * share).round().max(1.0);
            let _ = write!(
                self.out,
                "<rect x=\"{x}\" y=\"0\" width=\"6\" height=\"60\" class=\"bar-bg\"/>\
                 <rect x=\"{x}\" y=\"{}\" width=\"6\" height=\"{height}\" class=\"{}\">\
                 <title>{day}: {passed} of {runs} trusted run(s) passed ({})</title></rect>",
                60.0 - height,
                if share >= self.data.config.policy.goal {
                    "bar-p"
                } else {
                    "bar-f"
                },
                e(&percent(share))
            );
        }
        let _ = write!(
            self.out,
            "<line x1=\"0\" x2=\"{}\" y1=\"{goal_y:.1}\" y2=\"{goal_y:.1}\" class=\"goal\"/>\
             <text x=\"0\" y=\"70\" font-size=\"9\">{}</text><text x=\"{}\" y=\"70\" \
             font-size=\"9\" text-anchor=\"end\">{}</text></svg>",
            8 * days.len(),
            gathered
                .days
                .first()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            8 * days.len(),
            gathered
                .days
                .last()
                .map(|d| d.to_string())
                .unwrap_or_default()
        );
    }

    fn attention(&mut self) {
        let plan = &self.data.analysis.plan;
        let policy = &self.data.config.policy;
        self.w("<section id=\"attention\"><h2>Needs a person</h2>\n");
        let mut any = false;
        if policy.broken_min_runs > 0 {
            self.w("<h3 id=\"broken\">Broken (failing every run since a commit: fix or revert, never quarantined)</h3>");
            if plan.broken.is_empty() {
                self.w("<p>No broken test.</p>");
            } else {
                any = true;
                self.w(
                    "<table id=\"broken-list\"><tr><th>Test</th><th>Owner</th><th>Failing since</th>\
                     <th>Last pass</th><th>Failed runs</th><th>Latest failure</th></tr>",
                );
                for broken in &plan.broken {
                    let row = format!(
                        "<tr><td>{}</td><td>{}</td><td>{} ({}, {})</td><td>{}</td><td>{}</td>\
                         <td>{}</td></tr>",
                        self.link(&broken.test),
                        self.owner_cell(broken.owner.as_deref()),
                        e(&broken.since_commit),
                        e(&broken.since_lane),
                        e(&show_time(broken.since)),
                        e(broken
                            .last_pass_commit
                            .as_deref()
                            .unwrap_or("never in the history read")),
                        broken.failed_runs,
                        e(first_line(
                            broken.latest_failure_message.as_deref().unwrap_or("")
                        ))
                    );
                    self.w(&row);
                }
                self.w("</table>");
            }
        }
        for (id, title, list) in [
            ("quarantine-now", "Quarantine now", &plan.quarantine_now),
            (
                "next-batch",
                "Quarantine in the next batch",
                &plan.next_batch,
            ),
        ] {
            let heading = if id == "next-batch" {
                format!(
                    "{title} (batch of {}, grace until {})",
                    plan.batch.date, plan.batch.grace_ends
                )
            } else {
                title.to_owned()
            };
            let _ = write!(self.out, "<h3 id=\"{id}\">{}</h3>", e(&heading));
            if list.is_empty() {
                self.w("<p>None.</p>");
                continue;
            }
            any = true;
            let _ = write!(
                self.out,
                "<table id=\"{id}-list\"><tr><th>Test</th><th>Owner</th><th>Rate</th>\
                 <th>Failed/executions</th><th>Flipped commits</th><th>Why</th></tr>"
            );
            for candidate in list {
                let row = format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}/{}</td><td>{}</td></tr>",
                    self.link(&candidate.test),
                    self.owner_cell(candidate.owner.as_deref()),
                    e(&percent(candidate.rate)),
                    candidate.failed,
                    candidate.failed + candidate.passed,
                    candidate.flipped_commits,
                    candidate.commits,
                    e(&candidate.reason)
                );
                self.w(&row);
            }
            self.w("</table>");
        }
        if !plan.missing_owner.is_empty() {
            any = true;
            self.w("<h3 id=\"missing-owner\">Candidates without an owner (block <code>apply</code>)</h3><ul>");
            for test in &plan.missing_owner {
                let item = format!(
                    "<li>{}: tag it <code>[sig-...]</code> or add a pattern to [owners]</li>",
                    self.link(test)
                );
                self.w(&item);
            }
            self.w("</ul>");
        }
        if !plan.escalations.is_empty() {
            any = true;
            self.w("<h3 id=\"escalations\">Release-blocker escalations</h3><ul>");
            for issue in &plan.escalations {
                let item = format!(
                    "<li>{} \u{2014} {} (assign from {})</li>",
                    self.link(&issue.test),
                    e(&issue.title),
                    self.owner_cell(issue.owner.as_deref())
                );
                self.w(&item);
            }
            self.w("</ul>");
        }
        if !plan.release.is_empty() || !plan.grace_released.is_empty() {
            any = true;
            self.w("<h3 id=\"releases\">Releases</h3><ul>");
            for release in &plan.release {
                let item = format!(
                    "<li>{} ({}): {}</li>",
                    self.link(&release.test),
                    e(&release.owner),
                    e(&release.reason)
                );
                self.w(&item);
            }
            for release in &plan.grace_released {
                let item = format!(
                    "<li>{} leaves the batch of {}: {}</li>",
                    self.link(&release.test),
                    release.batch_date,
                    e(&release.reason)
                );
                self.w(&item);
            }
            self.w("</ul>");
        }
        let optional: Vec<_> = plan
            .lanes
            .iter()
            .filter(|lane| lane.optional_candidate)
            .collect();
        if !optional.is_empty() {
            any = true;
            self.w("<h3 id=\"optional-lanes\">Required lanes that are candidates to be made optional</h3><ul>");
            for lane in optional {
                let item = format!(
                    "<li>{}: {} of {} runs failed ({}), {} failing tests{}</li>",
                    e(&lane.lane),
                    lane.failed_runs,
                    lane.runs,
                    e(&percent(lane.rate)),
                    lane.distinct_failing_tests,
                    lane.deadline
                        .map(|date| format!("; its team's fix is due {date}"))
                        .unwrap_or_default()
                );
                self.w(&item);
            }
            self.w("</ul>");
        }
        let held: Vec<_> = plan.deferred.iter().chain(&plan.not_shown_flaky).collect();
        if !held.is_empty() {
            self.w("<h3>Held back</h3><ul>");
            for candidate in held {
                let item = format!(
                    "<li>{}: {}</li>",
                    self.link(&candidate.test),
                    e(&candidate.reason)
                );
                self.w(&item);
            }
            self.w("</ul>");
        }
        if !any {
            self.w("<p class=\"ok\">Nothing needs a person.</p>");
        }
        self.w("</section>\n");
    }

    /// The tests of a lane's shown runs, worst first: broken, then by the plan's rate, then
    /// by failures in the shown runs, then by name; each with its failing cells count.
    fn lane_rows(&self, lane: &collect::LaneRuns) -> Vec<(usize, usize)> {
        let gathered = self.data.gathered;
        let mut failures: HashMap<usize, usize> = HashMap::new();
        for &run in &lane.shown {
            if let Some(cells) = gathered.cells.get(&run) {
                for (test, &bits) in cells.iter().enumerate() {
                    if bits != 0 {
                        *failures.entry(test).or_default() += usize::from(collect::failed(bits));
                    }
                }
            }
        }
        let broken: HashSet<&str> = self
            .data
            .analysis
            .plan
            .broken
            .iter()
            .map(|broken| broken.test.as_str())
            .collect();
        let mut rows: Vec<(usize, usize)> = failures.into_iter().collect();
        let key = |test: usize| {
            let name = self.name(test);
            (
                !broken.contains(name),
                self.rates.get(name).map_or(0.0, |rate| rate.rate),
            )
        };
        rows.sort_by(|a, b| {
            let (a_not_broken, a_rate) = key(a.0);
            let (b_not_broken, b_rate) = key(b.0);
            a_not_broken
                .cmp(&b_not_broken)
                .then(b_rate.total_cmp(&a_rate))
                .then(b.1.cmp(&a.1))
                .then(self.name(a.0).cmp(self.name(b.0)))
        });
        rows
    }

    fn flakiest(&mut self) {
        let data = self.data;
        let plan = &data.analysis.plan;
        let failing = flakiest(plan);
        let shown = failing.len().min(data.caps.flakiest);
        let _ = write!(
            self.out,
            "<section id=\"flakiest\"><h2>Flakiest tests</h2><p class=\"mu\">Tests with a \
             counted failure in the last {} days (trusted, non-systemic runs), highest failure \
             rate first: {} of {} shown. {} of the tests shown on this page have a page of \
             their own (at most {}).</p>",
            data.config.policy.batch_window_days,
            thousands(shown as u64),
            thousands(failing.len() as u64),
            thousands(data.pages.len() as u64),
            data.caps.test_pages
        );
        if shown > 0 {
            self.w(
                "<table id=\"flakiest-list\"><tr><th>Test</th><th>Owner</th><th>Status</th>\
                 <th>Rate</th><th>Failed/executions</th><th>Runs</th><th>Flipped commits</th></tr>",
            );
            for rate in &failing[..shown] {
                let row = format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td>\
                     <td>{}/{}</td></tr>",
                    self.link(&rate.test),
                    self.owner_cell(self.owner(&rate.test).as_deref()),
                    self.badge(&rate.test),
                    e(&percent(rate.rate)),
                    rate.failed,
                    rate.failed + rate.passed,
                    rate.runs,
                    rate.flipped_commits,
                    rate.commits
                );
                self.w(&row);
            }
            self.w("</table>");
        }
        self.w("</section>\n");
    }

    fn grids(&mut self) {
        let data = self.data;
        let caps = data.caps;
        let gathered = data.gathered;
        self.w("<section id=\"grid\"><h2>The grid</h2>");
        self.w(
            "<table class=\"legend grid\"><tr><td class=\"p\">P</td><td>passed</td>\
             <td class=\"f\">F</td><td>failed</td><td class=\"e\">E</td><td>error</td>\
             <td class=\"k\">R</td><td>passed on a retry (flaky)</td><td class=\"s\">S</td>\
             <td>skipped</td><td class=\"x\">N</td><td>not run</td><td class=\"n\">\u{b7}</td>\
             <td>no result in that run</td></tr></table>",
        );
        let mut lanes: Vec<&collect::LaneRuns> = gathered.lanes.iter().collect();
        let failed_runs = |lane: &collect::LaneRuns| {
            lane.shown
                .iter()
                .filter(|&&run| self.run_failed(run))
                .count()
        };
        lanes.sort_by(|a, b| {
            failed_runs(b)
                .cmp(&failed_runs(a))
                .then(a.lane.cmp(&b.lane))
        });
        if lanes.len() > caps.lanes {
            let _ = write!(
                self.out,
                "<p class=\"mu\">Showing the {} lanes with the most failed runs of {}.</p>",
                caps.lanes,
                thousands(lanes.len() as u64)
            );
            lanes.truncate(caps.lanes);
        }
        if lanes.is_empty() {
            self.w("<p>No run in the horizon.</p>");
        }
        for lane in lanes {
            self.grid(lane);
        }
        self.w("</section>\n");
    }

    fn run_header(&mut self, run: usize) {
        let row = &self.data.gathered.runs[run];
        let _ = write!(
            self.out,
            "<th class=\"run\" title=\"run {} \u{b7} {} \u{b7} commit {} \u{b7} {}\">{} {}</th>",
            row.id,
            row.kind.as_str(),
            attr(&row.commit),
            attr(&show_time(row.started_at)),
            e(short_commit(&row.commit)),
            e(&short_time(row.started_at))
        );
    }

    fn grid_row(&mut self, lane: &collect::LaneRuns, test: usize) {
        let name = self.name(test);
        let _ = write!(
            self.out,
            "<tr data-test=\"{}\"><th class=\"t\" title=\"{}\">{}",
            attr(name),
            attr(name),
            self.link(name)
        );
        if self.quarantined[test] {
            self.w(" <span class=\"badge b-quarantined\">Q</span>");
        }
        if self
            .data
            .analysis
            .plan
            .broken
            .iter()
            .any(|broken| broken.test == name)
        {
            self.w(" <span class=\"badge b-broken\">broken</span>");
        }
        self.w("</th>");
        for &run in &lane.shown {
            let (class, letter, _) = cell_view(self.data.gathered.cell(run, test));
            let _ = write!(self.out, "<td class=\"{class}\">{letter}</td>");
        }
        match self.rates.get(name) {
            Some(rate) => {
                let _ = write!(
                    self.out,
                    "<td class=\"rate\" title=\"failed/executions in the batch window\">{} ({}/{})</td>\
                     <td class=\"rate\" title=\"commits it passed and failed on\">{}/{} flips</td>",
                    e(&percent(rate.rate)),
                    rate.failed,
                    rate.failed + rate.passed,
                    rate.flipped_commits,
                    rate.commits
                );
            }
            None => self.w("<td class=\"rate\">0 %</td><td class=\"rate\"></td>"),
        }
        self.w("</tr>\n");
    }

    fn grid_table_start(&mut self, lane: &collect::LaneRuns, lane_anchor: &str) {
        let _ = write!(
            self.out,
            "<table class=\"grid\" data-lane=\"{lane_anchor}\"><tr><th class=\"t\">Test</th>"
        );
        for &run in &lane.shown {
            self.run_header(run);
        }
        self.w("<th>Rate</th><th>Flips</th></tr>\n");
    }

    fn grid(&mut self, lane: &collect::LaneRuns) {
        let caps = self.data.caps;
        let rows = self.lane_rows(lane);
        let (failing, stable): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|&(test, failed)| failed > 0 || self.rates.contains_key(self.name(test)));
        let lane_anchor = attr(&lane.lane);
        let _ = write!(
            self.out,
            "<h3 class=\"lane\" data-lane=\"{lane_anchor}\">{}</h3><p class=\"mu\">Showing the \
             latest {} {} of {} in the horizon, oldest left; {} test(s) with a failure{}.</p>",
            e(&lane.lane),
            thousands(lane.shown.len() as u64),
            if lane.shown.len() == 1 { "run" } else { "runs" },
            thousands(lane.total as u64),
            thousands(failing.len() as u64),
            if failing.len() > caps.rows_per_lane {
                format!(" (the worst {} shown)", caps.rows_per_lane)
            } else {
                String::new()
            }
        );
        // The stable rows get the lane's header only when there is no failing row above them.
        let header_shown = !failing.is_empty();
        if header_shown {
            self.grid_table_start(lane, &lane_anchor);
            for &(test, _) in failing.iter().take(caps.rows_per_lane) {
                self.grid_row(lane, test);
            }
            self.w("</table>");
        }
        if !stable.is_empty() {
            let _ = write!(
                self.out,
                "<details><summary>{} stable test(s): no failure in these runs{}</summary>\
",
                thousands(stable.len() as u64),
                if stable.len() > caps.stable_rows {
                    format!(" (the first {} shown)", caps.stable_rows)
                } else {
                    String::new()
                }
            );
            if header_shown {
                self.w("<table class=\"grid\">");
            } else {
                self.grid_table_start(lane, &lane_anchor);
            }
            let mut stable = stable;
            stable.sort_by(|a, b| self.name(a.0).cmp(self.name(b.0)));
            for &(test, _) in stable.iter().take(caps.stable_rows) {
                self.grid_row(lane, test);
            }
            self.w("</table></details>");
        }
    }

    fn heat(&mut self) {
        let gathered = self.data.gathered;
        self.w(
            "<section id=\"heat\"><h2>Lane health</h2><p class=\"mu\">The share of each lane's \
             runs per day with a failed non-quarantined test, in percent (\u{b7}: no run).</p>\
             <table class=\"heat\"><tr><th>Lane</th>",
        );
        for day in &gathered.days {
            let _ = write!(
                self.out,
                "<th class=\"d\" title=\"{day}\">{}</th>",
                day.strftime("%m-%d")
            );
        }
        self.w("</tr>\n");
        let mut lane_of: HashMap<&str, usize> = HashMap::new();
        for (index, lane) in gathered.lanes.iter().enumerate() {
            lane_of.insert(lane.lane.as_str(), index);
        }
        let mut counts = vec![vec![(0u32, 0u32); gathered.days.len()]; gathered.lanes.len()];
        for (run, row) in gathered.runs.iter().enumerate() {
            if !gathered.has_results[run] {
                continue;
            }
            if let Some(&lane) = lane_of.get(row.lane.as_str()) {
                let cell = &mut counts[lane][gathered.run_day[run]];
                cell.0 += 1;
                cell.1 += u32::from(self.run_failed(run));
            }
        }
        for (lane, days) in gathered.lanes.iter().zip(counts) {
            let _ = write!(self.out, "<tr><th>{}</th>", e(&lane.lane));
            for (day, (runs, failed)) in gathered.days.iter().zip(days) {
                if runs == 0 {
                    let _ = write!(
                        self.out,
                        "<td class=\"h0\" title=\"{day}: no run\">\u{b7}</td>"
                    );
                    continue;
                }
                let share = f64::from(failed) / f64::from(runs);
                let class = match share {
                    s if s <= 0.0 => 1,
                    s if s < 0.1 => 2,
                    s if s < 0.25 => 3,
                    s if s < 0.5 => 4,
                    _ => 5,
                };
                let _ = write!(
                    self.out,
                    "<td class=\"h{class}\" title=\"{day}: {failed} of {runs} run(s) failed\">{}</td>",
                    (share * 100.0).round()
                );
            }
            self.w("</tr>\n");
        }
        self.w("</table></section>\n");
    }

    fn quarantine(&mut self) {
        let data = self.data;
        let plan = &data.analysis.plan;
        self.w("<section id=\"quarantine\"><h2>The quarantine list</h2>");
        if data.config.quarantine.is_empty() {
            self.w("<p>No test is quarantined.</p></section>\n");
            return;
        }
        self.w(
            "<table id=\"quarantine-list\"><tr><th>Test</th><th>Owner</th><th>Since</th>\
             <th>Stable by</th><th>Release progress</th><th>Why it is quarantined</th></tr>",
        );
        for entry in &data.config.quarantine {
            let name = crate::ingest::normalise(&entry.test).0;
            let name = if data.index.contains_key(entry.test.as_str()) {
                entry.test.clone()
            } else {
                name
            };
            let explanation = data
                .index
                .get(name.as_str())
                .and_then(|test| data.explanations.get(test));
            let progress = match explanation.and_then(|explanation| explanation.quarantine.as_ref())
            {
                Some(progress) => {
                    let done = progress.clean_days.min(progress.needed_days.max(1));
                    let width = (100 * done)
                        .checked_div(progress.needed_days)
                        .unwrap_or(100);
                    format!(
                        "<svg width=\"100\" height=\"8\" role=\"img\" aria-label=\"{} of {} clean days\">\
                         <rect width=\"100\" height=\"8\" class=\"bar-bg\"/><rect width=\"{width}\" \
                         height=\"8\" class=\"bar-p\"/></svg> {} of {} clean days{}; {}",
                        progress.clean_days,
                        progress.needed_days,
                        progress.clean_days,
                        progress.needed_days,
                        progress
                            .earliest_release
                            .map(|date| format!(", earliest release {date}"))
                            .unwrap_or_default(),
                        e(&progress.reason)
                    )
                }
                None => match (
                    plan.release.iter().find(|release| release.test == name),
                    plan.keep.iter().find(|keep| keep.test == name),
                ) {
                    (Some(release), _) => format!("to release: {}", e(&release.reason)),
                    (None, Some(keep)) => e(&keep.reason),
                    (None, None) => "not in the history read".to_owned(),
                },
            };
            let row = format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                self.link(&name),
                e(&entry.owner),
                entry.since,
                entry
                    .stable_by
                    .map(|date| date.to_string())
                    .unwrap_or_else(|| "(none: stays)".to_owned()),
                progress,
                e(&entry.reason)
            );
            self.w(&row);
        }
        self.w("</table></section>\n");
    }

    fn canaries(&mut self) {
        let data = self.data;
        let gathered = data.gathered;
        let canaries = canaries(data.analysis, gathered, data.caps);
        self.w("<section id=\"canaries\"><h2>Canaries</h2>");
        if canaries.is_empty() {
            self.w("<p>No canary run (runs recorded by the coalmine harness) in the horizon.</p></section>\n");
            return;
        }
        let _ = write!(
            self.out,
            "<p class=\"mu\">Each canary's latest {} runs recorded by the harness, oldest left.</p>\
             <table class=\"grid\" id=\"canary-list\"><tr><th class=\"t\">Canary</th><th>Latest</th>\
             <th>Runs</th><th>Verdict over them</th><th>Latest FLAKY or failed tries</th></tr>",
            data.caps.canary_runs
        );
        let runs = harness_runs(gathered);
        for test in canaries {
            let cells: Vec<(usize, u8)> = runs
                .iter()
                .map(|&run| (run, gathered.cell(run, test)))
                .filter(|&(_, bits)| bits != 0)
                .collect();
            let skip = cells.len().saturating_sub(data.caps.canary_runs);
            let cells = &cells[skip..];
            let latest = cells
                .last()
                .map_or("no result", |&(_, bits)| cell_view(bits).2);
            let count = |class: &str| {
                cells
                    .iter()
                    .filter(|&&(_, bits)| cell_view(bits).0 == class)
                    .count()
            };
            let name = self.name(test);
            let _ = write!(
                self.out,
                "<tr data-test=\"{}\"><th class=\"t\">{}</th><td>{}</td><td><table class=\"grid\"><tr>",
                attr(name),
                self.link(name),
                e(latest)
            );
            for &(_, bits) in cells {
                let (class, letter, _) = cell_view(bits);
                let _ = write!(self.out, "<td class=\"{class}\">{letter}</td>");
            }
            let _ = write!(
                self.out,
                "</tr></table></td><td>{} passed, {} flaky, {} failed, {} error(s) of {}</td><td>",
                count("p"),
                count("k"),
                count("f"),
                count("e"),
                cells.len()
            );
            for message in data.messages.get(&test).into_iter().flatten() {
                let run = &gathered.runs[message.run];
                let _ = write!(
                    self.out,
                    "<div>{}: {}</div>",
                    e(&short_time(run.started_at)),
                    e(first_line(&message.text))
                );
            }
            self.w("</td></tr>\n");
        }
        self.w("</table></section>\n");
    }

    fn test_pages(&mut self) {
        let data = self.data;
        for &test in &data.pages {
            self.test_page(test);
        }
    }

    fn test_page(&mut self, test: usize) {
        let data = self.data;
        let gathered = data.gathered;
        let name = self.name(test);
        let owner = self.owner(name);
        let _ = write!(
            self.out,
            "<section class=\"tp\" id=\"{}\" data-title=\"{}\"><p><a href=\"#main\">\u{2190} the \
             report</a></p><h2>{}{}</h2><p>Owner: {}",
            test_anchor(test),
            attr(name),
            e(name),
            self.badge(name),
            self.owner_cell(owner.as_deref())
        );
        if let Some(rate) = self.rates.get(name) {
            let _ = write!(
                self.out,
                " \u{b7} failed {} of {} executions ({}) in the last {} days, in {} run(s); \
                 passed and failed on {} of {} commits",
                rate.failed,
                rate.failed + rate.passed,
                e(&percent(rate.rate)),
                data.config.policy.batch_window_days,
                rate.runs,
                rate.flipped_commits,
                rate.commits
            );
        }
        self.w("</p>");
        // Outcomes per day.
        if let Some(test_days) = &gathered.test_days {
            let n = gathered.days.len();
            let days: Vec<[u32; 2]> = (0..n)
                .map(|day| test_days.get(test * n + day).copied().unwrap_or([0, 0]))
                .collect();
            let most = days.iter().map(|d| d[0] + d[1]).max().unwrap_or(0).max(1);
            let _ = write!(
                self.out,
                "<h3>Executions per day</h3><svg width=\"{}\" height=\"50\" role=\"img\" \
                 aria-label=\"executions per day\">",
                8 * n + 8
            );
            for (i, [passed, failed]) in days.into_iter().enumerate() {
                let x = 8 * i;
                let total = passed + failed;
                let height = |count: u32| 40.0 * f64::from(count) / f64::from(most);
                let _ = write!(
                    self.out,
                    "<g><title>{}: {passed} passed, {failed} failed</title>\
                     <rect x=\"{x}\" y=\"0\" width=\"6\" height=\"40\" class=\"bar-bg\"/>",
                    gathered.days[i]
                );
                if total > 0 {
                    let f = height(failed);
                    let p = height(passed);
                    let _ = write!(
                        self.out,
                        "<rect x=\"{x}\" y=\"{:.1}\" width=\"6\" height=\"{p:.1}\" class=\"bar-p\"/>\
                         <rect x=\"{x}\" y=\"{:.1}\" width=\"6\" height=\"{f:.1}\" class=\"bar-f\"/>",
                        40.0 - p - f,
                        40.0 - f
                    );
                }
                self.w("</g>");
            }
            let _ = write!(
                self.out,
                "<text x=\"0\" y=\"50\" font-size=\"9\">{}</text></svg>",
                gathered
                    .days
                    .first()
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            );
        }
        // Its cells in each lane's shown runs.
        self.w("<h3>Latest runs, by lane</h3>");
        for lane in &gathered.lanes {
            let runs: Vec<usize> = lane
                .shown
                .iter()
                .copied()
                .filter(|&run| gathered.cell(run, test) != 0)
                .collect();
            if runs.is_empty() {
                continue;
            }
            // No run headers here (the lane's grid has them): a test page stays small.
            let (first, last) = (
                &gathered.runs[runs[0]],
                &gathered.runs[runs[runs.len() - 1]],
            );
            let _ = write!(
                self.out,
                "<p>{}: in {} of its latest {} runs, from {} (commit {}) to {} (commit {}), \
                 oldest left</p><table class=\"grid\" data-strip=\"{}\"><tr>",
                e(&lane.lane),
                runs.len(),
                lane.shown.len(),
                e(&show_time(first.started_at)),
                e(&first.commit),
                e(&show_time(last.started_at)),
                e(&last.commit),
                attr(&lane.lane)
            );
            for &run in &runs {
                let (class, letter, _) = cell_view(gathered.cell(run, test));
                let _ = write!(self.out, "<td class=\"{class}\">{letter}</td>");
            }
            self.w("</tr></table>");
        }
        // Latest failure messages.
        if let Some(messages) = data.messages.get(&test) {
            let _ = write!(
                self.out,
                "<h3>Latest failures</h3><p class=\"mu\">The latest {} in each lane's shown \
                 runs, newest first.</p>",
                data.caps.messages_per_test
            );
            for message in messages {
                let run = &gathered.runs[message.run];
                let text: String = message.text.chars().take(4000).collect();
                let _ = write!(
                    self.out,
                    "<p class=\"mu\">run {} \u{b7} {} \u{b7} commit {} \u{b7} {}</p><pre>{}</pre>",
                    run.id,
                    e(&run.lane),
                    e(&run.commit),
                    e(&show_time(run.started_at)),
                    e(&text)
                );
            }
        }
        if let Some(explanation) = data.explanations.get(&test) {
            let text = explanation.text(&data.config.policy);
            let lines: Vec<&str> = text.lines().collect();
            let cap = data.caps.explanation_lines;
            let shown = lines[..lines.len().min(cap)].join("\n");
            let _ = write!(
                self.out,
                "<h3>Why (as <code>coalmine quarantine explain</code> says)</h3><pre class=\"explain\">{}</pre>",
                e(&shown)
            );
            if lines.len() > cap {
                let _ = write!(
                    self.out,
                    "<p class=\"mu\">The first {cap} lines of {}: <code>coalmine quarantine \
                     explain {} --now {}</code> prints them all.</p>",
                    lines.len(),
                    e(&shell_word(name)),
                    e(&show_time(data.analysis.plan.now))
                );
            }
        }
        self.w("</section>\n");
    }

    fn data_block(&mut self) {
        let data = self.data;
        let plan = &data.analysis.plan;
        let caps = data.caps;
        let tests: Vec<serde_json::Value> = data
            .pages
            .iter()
            .map(|&test| {
                serde_json::json!({
                    "test": self.name(test),
                    "anchor": test_anchor(test),
                    "status": status(plan, data.config, self.name(test)),
                })
            })
            .collect();
        let summary = serde_json::json!({
            "now": show_time(plan.now),
            "preset": plan.preset.to_string(),
            "counts": plan.counts,
            "stability": plan.stability,
            "broken": plan.broken.iter().map(|b| &b.test).collect::<Vec<_>>(),
            "flakiest": flakiest(plan).iter().take(caps.test_pages).map(|f| &f.test).collect::<Vec<_>>(),
            "lanes": data.gathered.lanes.iter().map(|lane| serde_json::json!({
                "lane": lane.lane, "runs": lane.total, "shown": lane.shown.len()
            })).collect::<Vec<_>>(),
            "pages": tests,
            "caps": {
                "runs_per_lane": caps.runs_per_lane,
                "rows_per_lane": caps.rows_per_lane,
                "lanes": caps.lanes,
                "test_pages": caps.test_pages,
            },
        });
        let json = serde_json::to_string(&summary).unwrap_or_else(|_| "{}".to_owned());
        let _ = write!(
            self.out,
            "<script type=\"application/json\" id=\"coalmine-data\">{}</script>",
            script_json(&json)
        );
    }
}

/// `word` quoted for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/@+=".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn first_line(text: &str) -> &str {
    let line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    match line.char_indices().nth(300) {
        Some((end, _)) => &line[..end],
        None => line,
    }
}

/// The shown runs recorded by the canary harness, oldest first.
fn harness_runs(gathered: &Gathered) -> Vec<usize> {
    let mut runs: Vec<usize> = gathered
        .lanes
        .iter()
        .flat_map(|lane| lane.shown.iter().copied())
        .filter(|&run| gathered.runs[run].source == HARNESS_SOURCE)
        .collect();
    runs.sort_unstable();
    runs
}

/// The canaries: tests with an execution in a shown run recorded by the harness, by name, at
/// most [`Caps::canaries`](super::Caps::canaries).
pub(crate) fn canaries(
    analysis: &super::Analysis,
    gathered: &Gathered,
    caps: &super::Caps,
) -> Vec<usize> {
    let mut tests: Vec<usize> = Vec::new();
    let mut seen = HashSet::new();
    for run in harness_runs(gathered) {
        if let Some(cells) = gathered.cells.get(&run) {
            for (test, &bits) in cells.iter().enumerate() {
                if bits != 0 && seen.insert(test) {
                    tests.push(test);
                }
            }
        }
    }
    tests.retain(|&test| test < analysis.tests.len());
    tests.sort_by(|&a, &b| analysis.tests[a].name.cmp(&analysis.tests[b].name));
    tests.truncate(caps.canaries);
    tests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_thousands() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(thousands(0u64), "0");
        assert_eq!(thousands(1917u64), "1,917");
        assert_eq!(thousands(10_000_000u64), "10,000,000");
    }

    #[test]
    fn the_policy_allows_only_the_page_own_style_and_script() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; "));
        assert!(csp.contains("connect-src 'none'"));
        assert!(csp.contains("img-src data:"));
        assert!(!csp.contains("unsafe"));
        assert!(csp.contains(&csp_hash(JS)) && csp.contains(&csp_hash(CSS)));
    }
}
