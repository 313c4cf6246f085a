//! `coalmine report --format html` in a real browser: a history ingested with the binary (a
//! broken test, a flaky one, a quarantined one, a stable one and two with hostile names over
//! two lanes), the page written, then opened in headless Chromium, and what a person sees is
//! checked: the lanes and tests, the flaky row's cells in run order, the broken and
//! quarantined sections, a test's page opened from its link, the hostile names shown as text
//! with nothing run, no script error, no CSP violation and no network request.
//!
//! Chromium is driven from its command line (`--dump-dom`, `--screenshot`, `--log-net-log`),
//! not over the DevTools protocol: no dev-dependency (a DevTools crate brings an async
//! WebSocket stack and a Chromium downloader with it), nothing to keep in step with Chromium's
//! protocol, and what is checked is the DOM after the page's own script ran, which is what a
//! person sees. The click is a link to a fragment: the test reads the link's `href` from the
//! page and loads the file at that fragment, which is what the click does (test pages are
//! `:target` sections, opened by the fragment alone). The network is checked in Chromium's own
//! net log, script errors and CSP violations by the page's listeners (on the root element)
//! and in Chromium's console log.
//!
//! Without Chromium (`chromium`, `chromium-browser`, `google-chrome`, or `COALMINE_CHROMIUM`)
//! the test says it skips; with `COALMINE_REQUIRE_ALL=1` (as CI sets it) it fails instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-20T12:00:00Z";
const HOSTILE_IMG: &str = "<img src=x onerror=\"document.title='pwned'\">";
const HOSTILE_SCRIPT: &str = "</script><script>document.title='pwned2'</script>";

fn coalmine(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coalmine"))
        .args(args)
        .current_dir(dir)
        .env_remove("COALMINE_HISTORY")
        .env_remove("COALMINE_CONFIG")
        .output()
        .unwrap()
}

fn ok(output: Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

const HARNESS: &str = r#"[history]
path = "history.db"

[owners]
"e2e::*" = "sig-compute"

[[quarantine]]
test = "e2e::old flake"
owner = "sig-compute"
reason = "flakes on slow nodes"
since = "2026-11-01"
stable_by = "2026-11-18"
"#;

fn xml_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whether `e2e::vm migrates` fails in run `run` (0-based, oldest first) of `periodic-e2e`:
/// the second run of every third commit.
fn migrate_fails(run: usize) -> bool {
    (run / 2).is_multiple_of(3) && run % 2 == 1
}

/// 36 periodic runs of `periodic-e2e` an hour apart, two per commit, the newest an hour before
/// [`NOW`], and 6 of `periodic-storage`:
/// - `e2e::disk attaches` passes until commit c12 and fails on every run from c13 on;
/// - `e2e::vm migrates` fails as [`migrate_fails`] says;
/// - `e2e::old flake` (quarantined) fails every fifth run;
/// - the two hostile names fail every fourth run, with a hostile message;
/// - `e2e::vm starts` always passes.
fn seed(dir: &Path) {
    std::fs::write(dir.join("harness.toml"), HARNESS).unwrap();
    let now: jiff::Timestamp = NOW.parse().unwrap();
    let ingest = |lane: &str, run: usize, runs: usize, report: String| {
        let file = dir.join(format!("{lane}-{run:02}.xml"));
        std::fs::write(&file, report).unwrap();
        let at = jiff::Timestamp::from_second(now.as_second() - 3600 * (runs - run) as i64)
            .unwrap()
            .to_string();
        ok(coalmine(
            dir,
            &[
                "ingest",
                "--no-env-run-id",
                "--lane",
                lane,
                "--kind",
                "periodic",
                "--commit",
                &format!("c{:02}", run / 2 + 1),
                "--at",
                &at,
                file.to_str().unwrap(),
            ],
        ));
    };
    for run in 0..36usize {
        let commit = run / 2;
        let disk = if commit >= 12 {
            let message = if run == 35 {
                "disk /dev/vdb not found"
            } else {
                "timed out"
            };
            format!("<failure message=\"{message}\">trace</failure>")
        } else {
            String::new()
        };
        let failure = |fails: bool, message: &str| {
            if fails {
                format!("<failure message=\"{}\"/>", xml_attr(message))
            } else {
                String::new()
            }
        };
        let migrate = failure(migrate_fails(run), "lost the migration");
        let old = failure(run.is_multiple_of(5), "slow node");
        let hostile = failure(run.is_multiple_of(4), HOSTILE_SCRIPT);
        let report = format!(
            "<?xml version=\"1.0\"?>\n<testsuite name=\"e2e\">\n  \
             <testcase classname=\"e2e\" name=\"disk attaches\">{disk}</testcase>\n  \
             <testcase classname=\"e2e\" name=\"vm migrates\">{migrate}</testcase>\n  \
             <testcase classname=\"e2e\" name=\"old flake\">{old}</testcase>\n  \
             <testcase classname=\"e2e\" name=\"{}\">{hostile}</testcase>\n  \
             <testcase classname=\"e2e\" name=\"{}\">{hostile}</testcase>\n  \
             <testcase classname=\"e2e\" name=\"vm starts\"/>\n</testsuite>\n",
            xml_attr(HOSTILE_IMG),
            xml_attr(HOSTILE_SCRIPT),
        );
        ingest("periodic-e2e", run, 36, report);
    }
    for run in 0..6usize {
        let report = "<?xml version=\"1.0\"?>\n<testsuite name=\"storage\">\n  \
             <testcase classname=\"storage\" name=\"volume resizes\"/>\n</testsuite>\n"
            .to_owned();
        ingest("periodic-storage", run, 6, report);
    }
}

/// The Chromium binary, if there is one.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("COALMINE_CHROMIUM").filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| which(name))
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on `url` with a fresh profile and the given extra flags; returns
/// its standard output and error. Fails the test after two minutes.
fn headless(chromium: &Path, work: &Path, url: &str, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir_in(work).unwrap();
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1400,1600",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish with {url} in two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (out.join().unwrap(), err.join().unwrap())
}

/// The letters of the cells of the first grid row of `test` in lane `lane`'s grid.
fn row_cells(dom: &str, lane: &str, test: &str) -> Vec<String> {
    let table = dom
        .find(&format!("<table class=\"grid\" data-lane=\"{lane}\">"))
        .unwrap_or_else(|| panic!("no grid of {lane}"));
    let dom = &dom[table..];
    let row = dom
        .find(&format!("<tr data-test=\"{test}\">"))
        .unwrap_or_else(|| panic!("no row of {test} in {lane}"));
    let end = dom[row..].find("</tr>").unwrap() + row;
    let mut cells = Vec::new();
    let mut rest = &dom[row..end];
    while let Some(at) = rest.find("<td class=\"") {
        rest = &rest[at + 11..];
        let class_end = rest.find('"').unwrap();
        let class = &rest[..class_end];
        let text_start = rest.find('>').unwrap() + 1;
        let text_end = rest.find("</td>").unwrap();
        if class.len() == 1 {
            cells.push(rest[text_start..text_end].to_owned());
        }
        rest = &rest[text_end..];
    }
    cells
}

/// The URLs requested by a page (not by the browser itself) in a Chromium net log: the
/// request jobs whose initiator is an origin (a `file://` page's is `null`; the browser's own
/// background requests have `not an origin`).
fn page_requests(net_log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(net_log)
        .unwrap_or_else(|error| panic!("no net log at {}: {error}", net_log.display()));
    // Chromium may stop before closing the JSON; close it.
    let log: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("the net log is not JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64();
    assert!(
        start_job.is_some(),
        "the net log has no URL_REQUEST_START_JOB type"
    );
    let mut urls = Vec::new();
    for event in log["events"].as_array().into_iter().flatten() {
        if event["type"].as_u64() != start_job {
            continue;
        }
        let params = &event["params"];
        let url = params["url"].as_str().unwrap_or_default();
        let initiator = params["initiator"].as_str().unwrap_or("not an origin");
        if initiator != "not an origin" && !url.starts_with("file:") && !url.starts_with("data:") {
            urls.push(url.to_owned());
        }
    }
    urls.sort();
    urls.dedup();
    urls
}

fn the_root_element(dom: &str) -> &str {
    let start = dom.find("<html").expect("no <html> in the DOM");
    let end = dom[start..].find('>').unwrap() + start;
    &dom[start..=end]
}

#[test]
fn the_page_reads_right_in_a_real_browser_and_runs_nothing_it_was_given() {
    let Some(chromium) = chromium() else {
        if std::env::var("COALMINE_REQUIRE_ALL").is_ok_and(|value| value == "1") {
            panic!("COALMINE_REQUIRE_ALL=1 but no Chromium: install Debian's chromium");
        }
        eprintln!(
            "skipping the browser test of the HTML report: no chromium, chromium-browser or \
             google-chrome on PATH (install Debian's chromium, or set COALMINE_CHROMIUM)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    seed(root);
    let page = root.join("out").join("report.html");
    std::fs::create_dir_all(page.parent().unwrap()).unwrap();
    let output = coalmine(
        root,
        &[
            "report",
            "--format",
            "html",
            "--now",
            NOW,
            "--output",
            page.to_str().unwrap(),
        ],
    );
    ok(Output {
        stdout: Vec::new(),
        ..output.clone()
    });
    let progress = String::from_utf8_lossy(&output.stderr);
    assert!(progress.contains("wrote"), "{progress}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(
        !html.contains("<img"),
        "a hostile name reached the page as markup"
    );
    assert!(
        !html.contains("<script>document"),
        "a hostile message reached the page as markup"
    );
    let leftovers: Vec<_> = std::fs::read_dir(page.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "only the page is written: {leftovers:?}"
    );

    let url = format!("file://{}", page.display());
    let work = root.join("browser");
    std::fs::create_dir_all(&work).unwrap();
    let net_log = work.join("net-log.json");
    let (dom, console) = headless(
        &chromium,
        &work,
        &url,
        &[
            "--dump-dom".to_owned(),
            format!("--log-net-log={}", net_log.display()),
        ],
    );
    let root_element = the_root_element(&dom);
    assert!(
        root_element.contains("data-ready=\"1\""),
        "the page's script did not run: {root_element}\n{console}"
    );
    assert!(
        !root_element.contains("data-errors"),
        "{root_element}\n{console}"
    );
    assert!(
        !root_element.contains("data-csp-violations"),
        "{root_element}\n{console}"
    );
    for bad in ["Uncaught", "Refused to", "Content Security Policy"] {
        assert!(!console.contains(bad), "the console says {bad}: {console}");
    }
    // The title is the page's own: no hostile handler or script set it.
    let title = &dom[dom.find("<title>").unwrap()..dom.find("</title>").unwrap()];
    assert!(!title.contains("pwned"), "{title}");
    assert!(title.contains("coalmine report"), "{title}");
    // The CSP is in the DOM, forbidding requests.
    assert!(dom.contains("default-src 'none'"));
    assert!(dom.contains("connect-src 'none'"));
    // The hostile names are text.
    assert!(
        dom.contains("&lt;img src=x onerror=\"document.title='pwned'\"&gt;")
            || dom.contains("&lt;img src=x onerror=\"document.title=&#39;pwned&#39;\"&gt;")
            || dom.contains("&lt;img src=x onerror="),
        "{dom}"
    );
    assert!(
        !dom.contains("<img"),
        "an <img> element was made from a name"
    );
    assert!(
        dom.contains("&lt;/script&gt;&lt;script&gt;"),
        "the hostile name is not shown"
    );

    // Lanes and tests.
    for lane in ["periodic-e2e", "periodic-storage"] {
        assert!(
            dom.contains(&format!("data-lane=\"{lane}\"")),
            "no lane {lane}"
        );
    }
    for test in ["e2e::vm migrates", "e2e::disk attaches", "e2e::old flake"] {
        assert!(
            dom.contains(&format!("<tr data-test=\"{test}\">")),
            "no row of {test}"
        );
    }
    // The flaky row, oldest run first.
    let expected: Vec<String> = (0..36)
        .map(|run| if migrate_fails(run) { "F" } else { "P" }.to_owned())
        .collect();
    assert_eq!(
        row_cells(&dom, "periodic-e2e", "e2e::vm migrates"),
        expected
    );
    // Broken first, then the candidates; the quarantine list.
    let broken = dom.find("id=\"broken-list\"").expect("no broken section");
    let disk = dom[broken..]
        .find("e2e::disk attaches")
        .expect("disk not broken")
        + broken;
    assert!(disk < dom.find("id=\"next-batch\"").unwrap());
    assert!(dom[broken..].contains("disk /dev/vdb not found"));
    let quarantine = dom
        .find("id=\"quarantine-list\"")
        .expect("no quarantine list");
    assert!(dom[quarantine..].contains("e2e::old flake"));
    assert!(dom[quarantine..].contains("clean days"));
    // The flaky test is a candidate with its owner.
    let batch = dom
        .find("id=\"next-batch-list\"")
        .expect("no batch candidates");
    assert!(dom[batch..].contains("e2e::vm migrates"));

    // A click on the flaky test's link opens its page.
    let link_text = ">e2e::vm migrates</a>";
    let link = dom.find(link_text).expect("no link to the flaky test");
    let href = dom[..link].rfind("href=\"#").unwrap() + 7;
    let anchor = &dom[href..link - 1];
    assert!(anchor.starts_with("test-"), "{anchor}");
    let (test_dom, console) = headless(
        &chromium,
        &work,
        &format!("{url}#{anchor}"),
        &["--dump-dom".to_owned()],
    );
    let root_element = the_root_element(&test_dom);
    assert!(
        root_element.contains(&format!("data-open=\"{anchor}\"")),
        "{root_element}\n{console}"
    );
    assert!(!root_element.contains("data-errors"), "{console}");
    let title = &test_dom[test_dom.find("<title>").unwrap()..test_dom.find("</title>").unwrap()];
    assert!(title.contains("e2e::vm migrates"), "{title}");
    let section = test_dom
        .find(&format!("id=\"{anchor}\""))
        .expect("no test page");
    let section = &test_dom[section..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(
        section.contains("lost the migration"),
        "no failure message: {section}"
    );
    assert!(
        section.contains("class=\"explain\""),
        "no explanation: {section}"
    );
    assert!(
        section.contains("next batch") || section.contains("next-batch"),
        "{section}"
    );

    // The hostile test's page shows its hostile message as text.
    let hostile_link = dom
        .find("&lt;/script&gt;&lt;script&gt;document.title=")
        .unwrap();
    let href = dom[..hostile_link].rfind("href=\"#").unwrap() + 7;
    let end = dom[href..].find('"').unwrap() + href;
    let hostile_anchor = &dom[href..end];
    let (hostile_dom, console) = headless(
        &chromium,
        &work,
        &format!("{url}#{hostile_anchor}"),
        &["--dump-dom".to_owned()],
    );
    let root_element = the_root_element(&hostile_dom);
    assert!(
        root_element.contains(&format!("data-open=\"{hostile_anchor}\"")),
        "{console}"
    );
    assert!(!root_element.contains("data-errors"), "{console}");
    assert!(!hostile_dom.contains("pwned2'</script>"));
    let title =
        &hostile_dom[hostile_dom.find("<title>").unwrap()..hostile_dom.find("</title>").unwrap()];
    assert!(!title.contains("pwned2 "), "{title}");

    // No network request from the page in Chromium's net log; and the check is shown to see
    // one, on a page that makes two.
    let requests = page_requests(&net_log);
    assert!(requests.is_empty(), "the page made requests: {requests:?}");
    let control = work.join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><title>control</title><img src=\"http://127.0.0.1:9/x.png\">",
    )
    .unwrap();
    let control_log = work.join("control-net-log.json");
    headless(
        &chromium,
        &work,
        &format!("file://{}", control.display()),
        &[
            "--dump-dom".to_owned(),
            format!("--log-net-log={}", control_log.display()),
        ],
    );
    assert_eq!(
        page_requests(&control_log),
        ["http://127.0.0.1:9/x.png"],
        "the net-log check does not see a page's request"
    );

    // Screenshots, kept in the test's output folder.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, target) in [
        ("report.png", url.clone()),
        ("test-page.png", format!("{url}#{anchor}")),
    ] {
        let shot = shots.join(name);
        let _ = std::fs::remove_file(&shot);
        headless(
            &chromium,
            &work,
            &target,
            &[format!("--screenshot={}", shot.display())],
        );
        let bytes = std::fs::read(&shot).unwrap_or_default();
        assert!(
            bytes.starts_with(b"\x89PNG"),
            "no screenshot at {}",
            shot.display()
        );
        eprintln!("screenshot: {}", shot.display());
    }
}

#[test]
fn a_page_that_cannot_be_written_leaves_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("harness.toml"), HARNESS).unwrap();
    std::fs::write(
        root.join("r.xml"),
        "<testsuite name=\"e2e\"><testcase classname=\"e2e\" name=\"vm starts\"/></testsuite>",
    )
    .unwrap();
    ok(coalmine(
        root,
        &[
            "ingest",
            "--no-env-run-id",
            "--lane",
            "periodic-e2e",
            "--kind",
            "periodic",
            "--commit",
            "c01",
            "--at",
            "2026-11-20T10:00:00Z",
            "r.xml",
        ],
    ));
    // A folder that does not exist: exit 1, the reason, no file anywhere.
    let output = coalmine(
        root,
        &[
            "report",
            "--format",
            "html",
            "--now",
            NOW,
            "--output",
            "missing/report.html",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot write missing/report.html"),
        "{stderr}"
    );
    assert!(!root.join("missing").exists());
    // --output is for the page only.
    let output = coalmine(
        root,
        &[
            "report", "--format", "json", "--now", NOW, "--output", "x.html",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is for --format html"));
    // The default file name, in the current folder; nothing on standard output.
    let output = coalmine(root, &["report", "--format", "html", "--now", NOW]);
    assert_eq!(ok(output), "");
    let page = std::fs::read_to_string(root.join("coalmine-report.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("Showing the latest 1 run of 1 in the horizon"));
    let names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}
