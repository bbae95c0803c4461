//! `pipit ui` in real headless Chromium: the runs table loads, sorts on a
//! click and filters as one types; a run opens; the registry shows the
//! current model; the reports are served and nothing else is.

use serde_json::json;

use crate::harness::registered_churn;
use crate::page::Browser;
use crate::serve::Server;

/// A stage whose metric is twice `lr`.
const PIPELINE: &str = r#"stages:
  train:
    cmd: >-
      printf '{"acc": %s}' "$(awk '/lr:/ {print $2 * 2}' params.yaml)" > metrics.json &&
      printf 'step,loss\n0,1\n1,0.5\n' > loss.csv &&
      mkdir -p reports && printf '<h1>compare</h1>' > reports/compare.html
    params:
      - lr
    outs:
      - reports/compare.html
    metrics:
      - metrics.json:
          cache: false
    plots:
      - loss.csv:
          cache: false
"#;

/// Waits (at most 10 s) until `done` holds: a click's page loads after it.
fn wait_for(done: impl Fn() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "never shown: {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_ui_shows_sorts_and_filters_runs_opens_one_and_shows_the_registry() {
    let repo = registered_churn();
    repo.write("pipeline.yaml", PIPELINE);
    for lr in ["0.2", "0.4", "0.1"] {
        repo.write("params.yaml", &format!("lr: {lr}\n"));
        let run = repo.pipit(["repro"]);
        assert_eq!(run.code, 0, "{run}");
        if lr == "0.2" {
            repo.commit("the pipeline, run once");
        }
    }
    let server = Server::start_command(&repo, "ui", &[]);
    let client = reqwest::blocking::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", server.url)).send().unwrap();
    assert_eq!(get("/reports/compare.html").text().unwrap(), "<h1>compare</h1>");
    assert_eq!(get("/reports/../pipeline.yaml").status(), 404);
    assert_eq!(get("/reports/..%2F..%2F..%2Fetc%2Fpasswd").status(), 404);
    assert_eq!(get("/reports/..%2Fpipeline.yaml").status(), 404);
    assert_eq!(get("/runs/nope").status(), 404);
    let home = get("/").text().unwrap();
    assert!(!home.contains("src=\"http") && !home.contains("href=\"http"), "nothing fetched");
    let Some(browser) = Browser::start() else { return };
    browser.call("POST", "/url", &json!({"url": server.url}));
    assert_eq!(browser.text("#count"), "3");
    let first_acc = || browser.text("#runs tbody tr:first-child td:nth-child(7)");
    assert_eq!(first_acc(), "0.2", "newest first");
    // A click sorts by the column, smallest first; a second, largest first.
    browser.click("#runs th:nth-child(7)");
    assert_eq!(first_acc(), "0.2");
    assert_eq!(browser.text("#runs tbody tr:last-child td:nth-child(7)"), "0.8");
    browser.click("#runs th:nth-child(7)");
    assert_eq!(first_acc(), "0.8");
    browser.screenshot(&repo, "ui-runs.png");
    // Filtering keeps the rows that say what is typed: a run's name.
    let name = browser.text("#runs tbody tr:last-child td:first-child");
    browser.type_into("#filter", &name);
    assert_eq!(browser.text("#count"), "1");
    // The run left opens on a click: the worst, acc 0.2.
    browser.click("#runs tbody tr:not([hidden]) a");
    wait_for(|| browser.text("h1").starts_with("Run "), "a run's page");
    let metrics = browser.text("table");
    assert!(metrics.contains("metrics.json:acc 0.2"), "{metrics}");
    browser.screenshot(&repo, "ui-run.png");
    // Its plots, as they were at its commit.
    browser.click("p a[href^='/plots?rev=']");
    wait_for(|| browser.text("h1") == "Plots", "the run's plots");
    browser.find("svg path");
    browser.screenshot(&repo, "ui-plots.png");
    browser.click("nav a:nth-child(3)");
    wait_for(|| browser.text("h1") == "Registry", "the registry");
    assert!(browser.text("h2").contains("churn"), "the registry");
    assert!(browser.text("body").contains("current: v1"), "{}", browser.text("body"));
    browser.screenshot(&repo, "ui-registry.png");
}
