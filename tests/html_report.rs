//! `coalmine report --format html` in a real browser: a history ingested with the binary (a
//! broken test, a flaky one, a quarantined one, a stable one and two with hostile names over
//! two lanes), the page written, then opened in headless Chromium, and what a person sees is
//! checked: the lanes and tests, the flaky row's cells in run order, the broken and
//! quarantined sections, a test's page opened from its link, the hostile names shown as text
//! with nothing run, no script error, no CSP violation and no network request.
//!
//! Chromium is driven two ways, neither with a dev-dependency. Its command line
//! (`--dump-dom`, `--screenshot`, `--log-net-log`) gives the DOM after the page's own script
//! ran, the screenshots, and Chromium's own net log of every request (the page's are told from
//! the browser's background ones by their initiator; a control page with an image shows that
//! the check sees one). The DevTools protocol on `--remote-debugging-pipe` (NUL-separated
//! JSON on fds 3 and 4: no port, no WebSocket) gives the click: a mouse press and release at
//! the link's box, then what shows (the test's page displayed, the report hidden), and every
//! exception, console error and request the page made. A DevTools crate (`headless_chrome`,
//! `chromiumoxide`) would bring a WebSocket stack, an async runtime or a Chromium downloader
//! for the five commands used here, and be one more thing to keep in step with Chromium; the
//! pipe needs only `libc::dup2` in the child, which the crate already depends on.

//! Without Chromium (`chromium`, `chromium-browser`, `google-chrome`, or `COALMINE_CHROMIUM`)
//! the test says it skips; with `COALMINE_REQUIRE_ALL=1` (as CI sets it) it fails instead.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-20T12:00:00Z";
const HOSTILE_IMG: &str = "<img src=x onerror=\"document.title='pwned'\">";
const HOSTILE_SCRIPT: &str = "</script><script>document.title='pwned2'</script>";

fn coalmine(dir: &Path, args: &[&str]) -> Output {
    common::coalmine_in(dir, args)
}

fn ok(output: Output) -> String {
    common::succeeded(output)
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

/// The flags of every Chromium this test starts: headless, as root, and with none of the
/// background connections that this machine's closed network refuses.
const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",
];

/// Runs headless Chromium on `url` with a fresh profile and the given extra flags; returns
/// its standard output and error. Fails the test after two minutes.
fn headless(chromium: &Path, work: &Path, url: &str, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir_in(work).unwrap();
    let mut command = Command::new(chromium);
    command
        .args(CHROMIUM_FLAGS)
        .args([
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
    // The flakiest-tests table, highest rate first: the hostile pair (25 %) before the
    // quarantined one (22 %) before the flaky one (17 %).
    let flakiest = dom.find("id=\"flakiest-list\"").expect("no flakiest tests");
    let table = &dom[flakiest..dom[flakiest..].find("</table>").unwrap() + flakiest];
    let old = table.find(">e2e::old flake<").expect("no old flake");
    let migrate = table.find(">e2e::vm migrates<").expect("no vm migrates");
    assert!(old < migrate, "{table}");
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

    // The same click with the mouse, over the DevTools protocol: the page shows, the report
    // hides, no error, no request; and back.
    click_opens_the_test_page(&chromium, &work, &url);

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

/// Headless Chromium driven over the DevTools protocol on `--remote-debugging-pipe` (fd 3
/// for commands, fd 4 for answers and events, each message ended by NUL): no WebSocket, no
/// port, no crate; only the few commands the click needs.
struct DevTools {
    child: std::process::Child,
    to_browser: std::io::PipeWriter,
    from_browser: std::sync::mpsc::Receiver<serde_json::Value>,
    next_id: u64,
    session: Option<String>,
    /// Every event received so far, in order.
    events: Vec<serde_json::Value>,
    _profile: tempfile::TempDir,
}

impl DevTools {
    fn launch(chromium: &Path, work: &Path) -> DevTools {
        use std::io::Read as _;
        use std::os::fd::AsRawFd as _;
        use std::os::unix::process::CommandExt as _;

        let profile = tempfile::tempdir_in(work).unwrap();
        let (commands_read, commands_write) = std::io::pipe().unwrap();
        let (answers_read, answers_write) = std::io::pipe().unwrap();
        let (read_fd, write_fd) = (commands_read.as_raw_fd(), answers_write.as_raw_fd());
        let mut command = Command::new(chromium);
        command
            .args(CHROMIUM_FLAGS)
            .args(["--remote-debugging-pipe", "--window-size=1400,1600"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.join("devtools-stderr.txt")).unwrap());
        // SAFETY: between fork and exec only fcntl and dup2, which are async-signal-safe, are
        // called; they put the pipe ends where Chromium's --remote-debugging-pipe expects
        // them, by way of copies above 10 so that neither end is overwritten if it is fd 3 or
        // 4 already (dup2 clears close-on-exec on the final copies).
        unsafe {
            command.pre_exec(move || {
                let read = libc::fcntl(read_fd, libc::F_DUPFD_CLOEXEC, 10);
                let write = libc::fcntl(write_fd, libc::F_DUPFD_CLOEXEC, 10);
                if read < 0 || write < 0 || libc::dup2(read, 3) < 0 || libc::dup2(write, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        drop(commands_read);
        drop(answers_write);
        let (sender, from_browser) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(answers_read);
            let mut bytes = Vec::new();
            let mut buffer = [0u8; 1 << 16];
            loop {
                let n = match reader.read(&mut buffer) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                bytes.extend_from_slice(&buffer[..n]);
                while let Some(end) = bytes.iter().position(|&b| b == 0) {
                    let message: Vec<u8> = bytes.drain(..=end).collect();
                    if let Ok(value) = serde_json::from_slice(&message[..end])
                        && sender.send(value).is_err()
                    {
                        return;
                    }
                }
            }
        });
        DevTools {
            child,
            to_browser: commands_write,
            from_browser,
            next_id: 0,
            session: None,
            events: Vec::new(),
            _profile: profile,
        }
    }

    /// Sends a command (to the attached page, once attached) and waits for its answer.
    fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        use std::io::Write as _;
        self.next_id += 1;
        let id = self.next_id;
        let mut message = serde_json::json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            message["sessionId"] = serde_json::Value::String(session.clone());
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to_browser.write_all(&bytes).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let value = self
                .from_browser
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no answer to {method} within a minute"));
            if value["id"].as_u64() == Some(id) {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
            self.events.push(value);
        }
    }

    /// Waits until an event named `method` has been received.
    fn wait_for(&mut self, method: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.events.iter().any(|event| event["method"] == method) {
            let left = deadline.saturating_duration_since(Instant::now());
            let value = self
                .from_browser
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {method} within a minute"));
            self.events.push(value);
        }
    }

    /// Evaluates `expression` in the page; its value.
    fn eval(&mut self, expression: &str) -> serde_json::Value {
        let result = self.call(
            "Runtime.evaluate",
            serde_json::json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Lets the page run for a while (collecting its events).
    fn settle(&mut self, time: Duration) {
        let until = Instant::now() + time;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self.from_browser.recv_timeout(left) {
                Ok(value) => self.events.push(value),
                Err(_) => break,
            }
        }
    }
}

impl Drop for DevTools {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens the page in Chromium over the DevTools protocol, clicks the flaky test's link with
/// the mouse, and checks that its page is what shows, with no exception, no console error
/// and no request.
fn click_opens_the_test_page(chromium: &Path, work: &Path, url: &str) {
    let mut browser = DevTools::launch(chromium, work);
    let target = browser.call(
        "Target.createTarget",
        serde_json::json!({"url": "about:blank"}),
    );
    let attached = browser.call(
        "Target.attachToTarget",
        serde_json::json!({"targetId": target["targetId"], "flatten": true}),
    );
    browser.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
    for domain in [
        "Page.enable",
        "Runtime.enable",
        "Log.enable",
        "Network.enable",
    ] {
        browser.call(domain, serde_json::json!({}));
    }
    browser.call("Page.navigate", serde_json::json!({"url": url}));
    browser.wait_for("Page.loadEventFired");
    let at = browser.eval(
        "(() => { const link = [...document.querySelectorAll('main a')]
             .find(a => a.textContent === 'e2e::vm migrates');
           link.scrollIntoView({block: 'center'});
           const box = link.getClientRects()[0];
           return {x: box.x + box.width / 2, y: box.y + box.height / 2,
                   href: link.getAttribute('href')}; })()",
    );
    let href = at["href"].as_str().unwrap().to_owned();
    // What a person would click at that point is the link itself.
    let there = browser.eval(&format!(
        "(() => {{ const e = document.elementFromPoint({}, {}); const a = e && e.closest('a'); return a ? a.outerHTML.slice(0, 200) : (e ? e.outerHTML.slice(0, 200) : 'nothing'); }})()",
        at["x"], at["y"]
    ));
    assert!(
        there
            .as_str()
            .unwrap_or_default()
            .starts_with("<a href=\"#test-"),
        "{there} at {at}"
    );
    for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
        browser.call(
            "Input.dispatchMouseEvent",
            serde_json::json!({"type": kind, "x": at["x"], "y": at["y"],
                               "button": "left", "clickCount": 1}),
        );
    }
    browser.settle(Duration::from_millis(500));
    let anchor = href.trim_start_matches('#');
    let seen = browser.eval(&format!(
        "(() => {{ const page = document.getElementById('{anchor}');
             return {{hash: location.hash, open: document.documentElement.dataset.open,
                     title: document.title,
                     page: getComputedStyle(page).display,
                     main: getComputedStyle(document.getElementById('main')).display,
                     heading: page.querySelector('h2').textContent,
                     errors: document.documentElement.dataset.errors || null,
                     violations: document.documentElement.dataset.cspViolations || null}}; }})()"
    ));
    assert_eq!(seen["hash"], href, "{seen}");
    assert_eq!(seen["open"], anchor, "{seen}");
    assert_ne!(seen["page"], "none", "the test's page is not shown: {seen}");
    assert_eq!(
        seen["main"], "none",
        "the report still shows over the test page: {seen}"
    );
    assert!(
        seen["heading"]
            .as_str()
            .unwrap()
            .starts_with("e2e::vm migrates"),
        "{seen}"
    );
    assert!(
        seen["title"]
            .as_str()
            .unwrap()
            .starts_with("e2e::vm migrates"),
        "{seen}"
    );
    assert_eq!(seen["errors"], serde_json::Value::Null, "{seen}");
    assert_eq!(seen["violations"], serde_json::Value::Null, "{seen}");
    // Back to the report with the page's own link.
    browser.eval(&format!(
        "document.getElementById('{anchor}').querySelector('a[href=\"#main\"]').click()"
    ));
    browser.settle(Duration::from_millis(300));
    assert_eq!(browser.eval("document.documentElement.dataset.open"), "");
    assert_ne!(
        browser.eval("getComputedStyle(document.getElementById('main')).display"),
        "none"
    );
    let mut problems = Vec::new();
    for event in &browser.events {
        let params = &event["params"];
        match event["method"].as_str().unwrap_or_default() {
            "Runtime.exceptionThrown" => problems.push(format!("exception: {params}")),
            "Runtime.consoleAPICalled" if params["type"] == "error" => {
                problems.push(format!("console error: {params}"))
            }
            "Log.entryAdded" if params["entry"]["level"] == "error" => {
                problems.push(format!("log error: {params}"))
            }
            "Network.requestWillBeSent" => {
                let url = params["request"]["url"].as_str().unwrap_or_default();
                if !url.starts_with("file:") && !url.starts_with("data:") {
                    problems.push(format!("request: {url}"));
                }
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
