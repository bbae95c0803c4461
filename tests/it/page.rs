//! The prediction page of `pipit serve` in real headless Chromium, driven
//! through chromedriver's W3C WebDriver API: fill the form as a person would,
//! click, read the prediction shown, and save a screenshot.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::registered_churn;
use crate::serve::{Server, records};

/// A chromedriver process with one headless Chromium session.
pub struct Browser {
    driver: Child,
    base: String,
    client: reqwest::blocking::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a session; `None` when chromedriver is not
    /// installed (allowed only outside `.ci/test`).
    pub fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let Ok(driver) = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            assert!(
                std::env::var_os("PIPIT_TEST_SERVERS_REQUIRED").is_none(),
                "chromedriver (Debian's chromium-driver) is missing: `.ci/test` installs it"
            );
            return None;
        };
        let client =
            reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut browser =
            Self { driver, base: format!("http://127.0.0.1:{port}"), client, _profile: profile };
        let deadline = Instant::now() + Duration::from_secs(20);
        while browser.client.get(format!("{}/status", browser.base)).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let session = browser.call(
            "POST",
            "/session",
            &json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
            }}}),
        );
        let id = session["sessionId"].as_str().expect("a session").to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        Some(browser)
    }

    /// Sends a WebDriver command; returns its `value`.
    pub fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.client.get(url),
            _ => self.client.post(url).json(body),
        };
        let answer: Value = request.send().unwrap().json().unwrap();
        answer["value"].clone()
    }

    /// Returns the element `css` selects, waiting for it (at most 10 s).
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found =
                self.call("POST", "/element", &json!({"using": "css selector", "value": css}));
            // W3C WebDriver's key for an element reference.
            if let Some(id) = found["element-6066-11e4-a52e-4f735466cecf"].as_str() {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "no element `{css}`: {found}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Returns the text `css` shows, once it shows some (at most 10 s).
    pub fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let element = self.find(css);
            let text = self.call("GET", &format!("/element/{element}/text"), &Value::Null);
            match text.as_str() {
                Some(shown) if !shown.is_empty() => return shown.to_owned(),
                _ => assert!(Instant::now() < deadline, "`{css}` shows nothing: {text}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Replaces what the input `css` holds with `value`, as typed.
    pub fn type_into(&self, css: &str, value: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/clear"), &json!({}));
        self.call("POST", &format!("/element/{element}/value"), &json!({"text": value}));
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/click"), &json!({}));
    }
}

impl Browser {
    /// Saves what the browser shows as `name` in `repo` (and in the folder
    /// `PIPIT_TEST_SCREENSHOTS` names, to look at).
    pub fn screenshot(&self, repo: &crate::harness::Repo, name: &str) {
        let png = self.call("GET", "/screenshot", &Value::Null);
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        assert_eq!(&bytes[..4], b"\x89PNG");
        let path = repo.path().join(name);
        fs_err::write(&path, bytes).unwrap();
        if let Some(keep) = std::env::var_os("PIPIT_TEST_SCREENSHOTS") {
            fs_err::copy(&path, std::path::Path::new(&keep).join(name)).unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.client.delete(&self.base).send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn the_page_predicts_what_the_form_says_and_shows_it() {
    let repo = registered_churn();
    let rows = records(&repo.read("prepared/test.csv"), "Churn");
    let server = Server::start(&repo, &[]);
    let Some(browser) = Browser::start() else { return };
    browser.call("POST", "/url", &json!({"url": server.url}));
    assert!(browser.text("header").contains("Predict Churn (forest v1)"));
    // The record of a test row, entered field by field.
    let record = rows[5].as_object().unwrap();
    for (field, value) in record {
        match value {
            Value::Number(n) => {
                browser.type_into(&format!("input[name='{field}']"), &n.to_string())
            }
            Value::String(category) => {
                browser.click(&format!("select[name='{field}'] option[value='{category}']"));
            }
            _ => {}
        }
    }
    browser.click("#predict");
    let shown = browser.text("#prediction");
    let (status, expected) = server.post("/predict", &rows[5]);
    assert_eq!(status, 200);
    assert_eq!(shown, expected["prediction"].as_str().unwrap(), "the page shows the API's answer");
    let probability = browser.text("#probability");
    let p = expected["probabilities"][&shown].as_f64().unwrap();
    assert_eq!(probability, format!("probability {:.1}%", p * 100.0));
    assert!(browser.text("#result").contains("model v1"));
    assert!(browser.text("#recent").contains(&shown), "the last predictions list it");

    browser.screenshot(&repo, "serve-page.png");

    browser.call("POST", "/url", &json!({"url": format!("{}/docs", server.url)}));
    assert!(browser.text("main").contains("/predict/churn"), "the API page renders the schema");
}
