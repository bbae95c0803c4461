//! `pipit serve`: the real server on a free port of 127.0.0.1, driven by a
//! real HTTP client.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::harness::{Repo, registered_churn, train_and_register};

/// A running `pipit serve`, stopped (SIGKILL) when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Starts `pipit serve --addr 127.0.0.1:0 ARGS` in `repo` and waits for
    /// the line that names its address.
    pub fn start(repo: &Repo, args: &[&str]) -> Self {
        Self::start_command(repo, "serve", args)
    }

    /// Starts `pipit COMMAND --addr 127.0.0.1:0 ARGS` (`serve`, `ui`) in
    /// `repo` and waits for the line that names its address.
    pub fn start_command(repo: &Repo, command: &str, args: &[&str]) -> Self {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin!("pipit"))
            .args([command, "--addr", "127.0.0.1:0"])
            .args(args)
            .current_dir(repo.path())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Self { child, url }
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code and the
    /// rest of standard output and standard error.
    fn terminate(mut self) -> (i32, String) {
        let status =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        let mut rest = String::new();
        if let Some(out) = self.child.stdout.as_mut() {
            std::io::Read::read_to_string(out, &mut rest).unwrap();
        }
        if let Some(err) = self.child.stderr.as_mut() {
            std::io::Read::read_to_string(err, &mut rest).unwrap();
        }
        (code, rest)
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = client().post(format!("{}{path}", self.url)).json(body).send().unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap())
    }

    /// Returns the version `/health` says is served for churn.
    fn version(&self) -> Value {
        let (_, health) = self.get("/health");
        serde_json::from_str::<Value>(&health).unwrap()["models"]["churn"]["version"].clone()
    }

    /// Waits (at most 10 s) until churn is served by `version`.
    fn wait_for_version(&self, version: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.version() != version {
            assert!(Instant::now() < deadline, "v{version} was never served");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let response = client().get(format!("{}{path}", self.url)).send().unwrap();
        (response.status().as_u16(), response.text().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// The rows of a CSV file as JSON records: numbers where a cell parses as
/// one, `null` for an empty cell, text otherwise; without `skip`.
pub fn records(csv: &str, skip: &str) -> Vec<Value> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            let record: Map<String, Value> = header
                .iter()
                .zip(line.split(','))
                .filter(|(name, _)| **name != skip)
                .map(|(name, cell)| {
                    let value = match cell.parse::<f64>() {
                        _ if cell.is_empty() => Value::Null,
                        Ok(x) => json!(x),
                        Err(_) => json!(cell),
                    };
                    ((*name).to_owned(), value)
                })
                .collect();
            Value::Object(record)
        })
        .collect()
}

#[test]
fn predictions_over_http_equal_the_batch_stage_and_are_logged() {
    let repo = registered_churn();
    let run = repo.pipit([
        "stage",
        "predict",
        "--dataset",
        "churn",
        "--data",
        "prepared/test.csv",
        "--out",
        "p.csv",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let expected: Vec<Vec<String>> = repo
        .read("p.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let rows = records(&repo.read("prepared/test.csv"), "Churn");
    let server = Server::start(&repo, &[]);

    let (status, health) = server.get("/health");
    assert_eq!(status, 200, "{health}");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["models"]["churn"]["version"], 1);
    assert!(health["models"]["churn"]["metrics"]["f1"].is_number(), "{health}");

    let (status, batch) = server.post("/predict", &Value::Array(rows.clone()));
    assert_eq!(status, 200, "{batch}");
    let answers = batch["predictions"].as_array().unwrap();
    assert_eq!(answers.len(), expected.len());
    for (answer, row) in answers.iter().zip(&expected) {
        assert_eq!(answer["prediction"], row[0].as_str(), "{answer} against {row:?}");
        let yes: f64 = row[2].parse().unwrap();
        let served = answer["probabilities"]["Yes"].as_f64().unwrap();
        assert!((served - yes).abs() < 1e-9, "{answer} against {row:?}");
    }
    let response = client()
        .post(format!("{}/predict/churn", server.url))
        .header("X-Request-Id", "req-42")
        .json(&rows[3])
        .send()
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-42");
    let single: Value = response.json().unwrap();
    assert_eq!(single["request_id"], "req-42");
    assert_eq!(single["model_version"], 1);
    assert_eq!(single["prediction"], expected[3][0].as_str(), "{single}");

    let (code, rest) = server.terminate();
    assert_eq!(code, 0, "{rest}");
    let log = repo.read("logs/predictions.jsonl");
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), rows.len() + 1, "one line per predicted record");
    let last = lines.last().unwrap();
    assert_eq!(last["request_id"], "req-42");
    assert_eq!(last["model_version"], 1);
    assert_eq!(last["input"], rows[3]);
    assert_eq!(last["output"]["prediction"], expected[3][0].as_str());
    assert!(last["latency_ms"].as_f64().unwrap() > 0.0 && last["time"].is_string());

    // The log is drift's current data.
    let drift = repo.pipit([
        "stage",
        "drift",
        "--reference",
        "prepared/train.csv",
        "--current",
        "logs/predictions.jsonl",
        "--last",
        "50",
        "--ignore",
        "Churn",
        "--out",
        "drift.json",
    ]);
    assert_eq!(drift.code, 0, "{drift}");
    let report: Value = serde_json::from_str(&repo.read("drift.json")).unwrap();
    assert_eq!(report["columns"]["tenure"]["current_rows"], 50, "{report}");
}

#[test]
fn every_bad_field_gets_422_with_its_name_and_why() {
    let repo = registered_churn();
    let rows = records(&repo.read("prepared/test.csv"), "Churn");
    let server = Server::start(&repo, &["--dataset", "churn"]);
    let mut bad = rows[0].clone();
    bad["tenure"] = json!("long");
    bad["Contract"] = json!("Lifetime");
    bad.as_object_mut().unwrap().remove("gender");
    bad["MonthlyCharges"] = json!(["a list"]);
    let (status, answer) = server.post("/predict", &bad);
    assert_eq!(status, 422, "{answer}");
    let detail = answer["detail"].as_array().unwrap();
    let find = |field: &str| {
        detail
            .iter()
            .find(|d| d["loc"] == json!(["body", field]))
            .unwrap_or_else(|| panic!("{field} is not named: {answer}"))
    };
    assert_eq!(find("gender")["type"], "missing");
    assert_eq!(find("gender")["msg"], "Field required");
    assert_eq!(find("tenure")["type"], "float_type");
    assert_eq!(find("tenure")["input"], "long");
    assert_eq!(find("MonthlyCharges")["type"], "float_type");
    assert_eq!(find("Contract")["type"], "enum");
    assert_eq!(
        find("Contract")["msg"],
        "Input should be 'Month-to-month', 'One year' or 'Two year'"
    );
    assert_eq!(detail.len(), 4, "{answer}");

    let (status, answer) = server.post("/predict", &json!([rows[0], {"tenure": 3}]));
    assert_eq!(status, 422, "a batch with one bad record is refused whole: {answer}");
    assert!(answer["detail"].as_array().unwrap().iter().all(|d| d["loc"][1] == 1), "{answer}");
    let (status, answer) = server.post("/predict", &Value::Array(vec![json!({}); 10_001]));
    assert_eq!((status, answer["detail"][0]["type"].as_str()), (422, Some("too_long")));
    let (status, answer) = server.post("/predict", &Value::Array(vec![json!({}); 500]));
    assert_eq!(status, 422);
    assert_eq!(answer["detail"].as_array().unwrap().len(), 100, "at most 100 errors are named");
    let (status, answer) = server.post("/predict", &json!("text"));
    assert_eq!((status, answer["detail"][0]["type"].as_str()), (422, Some("model_type")));
    let response =
        client().post(format!("{}/predict", server.url)).body("{\"tenure\": ").send().unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let answer: Value = response.json().unwrap();
    assert_eq!(answer["detail"][0]["type"], "json_invalid");
    let (status, _) = server.post("/predict/housing", &rows[0]);
    assert_eq!(status, 404);

    let mut far = rows[0].clone();
    far["tenure"] = json!(5000);
    let (status, answer) = server.post("/predict", &far);
    assert_eq!(status, 200, "answered, but flagged: {answer}");
    assert_eq!(answer["out_of_range"][0]["field"], "tenure", "{answer}");
}

#[test]
fn metrics_are_valid_prometheus_text() {
    let repo = registered_churn();
    let rows = records(&repo.read("prepared/test.csv"), "Churn");
    let server = Server::start(&repo, &[]);
    for row in rows.iter().take(5) {
        assert_eq!(server.post("/predict", row).0, 200);
    }
    assert_eq!(server.post("/predict", &json!({})).0, 422);
    let (status, text) = server.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        text.contains("pipit_requests_total{endpoint=\"/predict\",status=\"200\"} 5\n"),
        "{text}"
    );
    assert!(
        text.contains("pipit_requests_total{endpoint=\"/predict\",status=\"422\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("pipit_request_duration_seconds_count{endpoint=\"/predict\"} 6\n"),
        "{text}"
    );
    assert!(text.contains("pipit_model_served{dataset=\"churn\",version=\"1\"} 1\n"), "{text}");
    let classes: u64 = text
        .lines()
        .filter(|l| l.starts_with("pipit_predictions_total{dataset=\"churn\",version=\"1\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(classes, 5, "{text}");
    match Command::new("promtool").args(["check", "metrics"]).stdin(Stdio::piped()).spawn() {
        Ok(mut promtool) => {
            std::io::Write::write_all(promtool.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
            let output = promtool.wait_with_output().unwrap();
            assert!(output.status.success(), "promtool: {output:?}\n{text}");
        }
        Err(_) => assert!(
            std::env::var_os("PIPIT_TEST_SERVERS_REQUIRED").is_none(),
            "promtool (Debian's `prometheus`) is missing: `.ci/test` installs it"
        ),
    }
}

/// Clients send batches until the server stops; SIGTERM comes while
/// requests are being answered. What the server started, it finishes: every
/// record it logged was answered, and every answer was 200.
#[test]
fn sigterm_lets_requests_in_flight_finish_and_writes_the_log() {
    let repo = registered_churn();
    let rows = records(&repo.read("prepared/test.csv"), "Churn");
    let batch = Value::Array(rows.iter().cycle().take(300).cloned().collect());
    let server = Server::start(&repo, &[]);
    let url = format!("{}/predict", server.url);
    let stopping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (url, batch, stopping) = (url.clone(), batch.clone(), stopping.clone());
            std::thread::spawn(move || {
                let client = client();
                let (mut answered, deadline) = (0, Instant::now() + Duration::from_secs(30));
                while Instant::now() < deadline {
                    match client.post(&url).json(&batch).send() {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let body: Value = response.json().unwrap();
                            assert_eq!(status, 200, "no request fails: {body}");
                            answered += body["predictions"].as_array().unwrap().len();
                        }
                        // Once the server stops, new requests cannot get in.
                        Err(_) if stopping.load(std::sync::atomic::Ordering::SeqCst) => {
                            return answered;
                        }
                        Err(error) => panic!("a request failed before SIGTERM: {error}"),
                    }
                }
                panic!("the server did not stop");
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    stopping.store(true, std::sync::atomic::Ordering::SeqCst);
    let (code, rest) = server.terminate();
    assert_eq!(code, 0, "{rest}");
    assert!(rest.contains("stopped"), "{rest}");
    let answered: usize = senders.into_iter().map(|s| s.join().expect("a sender failed")).sum();
    assert!(answered > 0);
    let log = repo.read("logs/predictions.jsonl");
    assert_eq!(log.lines().count(), answered, "the log holds exactly the answered records");
    assert!(log.ends_with('\n'));
}

#[test]
fn without_a_current_model_serve_says_how_to_make_one_and_exits_2() {
    let repo = Repo::with_pipeline("stages: {}\n", "");
    let run = repo.pipit(["serve", "--addr", "127.0.0.1:0"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("no data set has a current model"), "{run}");
    assert!(run.stderr.contains("pipit model register"), "{run}");
    let run = registered_churn().pipit(["serve", "--addr", "127.0.0.1:0", "--dataset", "housing"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("no current model for `housing`"), "{run}");
}

/// [`registered_churn`] plus a logistic model registered as v2, not current.
fn two_versions() -> Repo {
    let repo = registered_churn();
    train_and_register(&repo, "logistic", &["--promote", "never"]);
    repo
}

#[test]
fn promote_and_rollback_reach_a_running_server_without_a_failed_request() {
    let repo = two_versions();
    let rows = records(&repo.read("prepared/test.csv"), "Churn");
    let server = Server::start(&repo, &[]);
    let url = format!("{}/predict", server.url);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (url, row, done) = (url.clone(), rows[0].clone(), done.clone());
        std::thread::spawn(move || {
            let client = client();
            let mut versions: Vec<u64> = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let response = client.post(&url).json(&row).send().expect("no request fails");
                assert_eq!(response.status().as_u16(), 200);
                let answer: Value = response.json().unwrap();
                versions.push(answer["model_version"].as_u64().unwrap());
            }
            versions
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let run = repo.pipit(["model", "promote", "2"]);
    assert_eq!(run.code, 0, "{run}");
    server.wait_for_version(2);
    std::thread::sleep(Duration::from_millis(300));
    let run = repo.pipit(["model", "rollback"]);
    assert_eq!(run.code, 0, "{run}");
    server.wait_for_version(1);
    std::thread::sleep(Duration::from_millis(300));
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut versions = sender.join().expect("every request was answered with 200");
    versions.dedup();
    assert_eq!(versions, [1, 2, 1], "v1, then v2 after the promotion, then v1 again");
    let (code, out) = server.terminate();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("now serving churn v2 (was v1)"), "{out}");
    assert!(out.contains("now serving churn v1 (was v2)"), "{out}");
}

#[test]
fn a_model_file_that_fails_its_checksum_is_never_reloaded() {
    let repo = two_versions();
    let server = Server::start(&repo, &[]);
    let model = repo.path().join("registry/models/2.model");
    let original = fs_err::read(&model).unwrap();
    let mut bytes = original.clone();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    fs_err::write(&model, bytes).unwrap();
    // As if promoted by hand: `pipit model promote` itself refuses a damaged file.
    repo.write("registry/current", "{\"churn\": 2}\n");
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(server.version(), 1, "the damaged v2 is not served");
    // Repaired, it is served.
    std::thread::sleep(Duration::from_millis(20));
    fs_err::write(&model, original).unwrap();
    server.wait_for_version(2);
    let (code, out) = server.terminate();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning: not serving churn v2, still v1"), "{out}");
    assert!(out.contains("BLAKE3 differs"), "{out}");
    assert_eq!(out.matches("warning: not serving").count(), 1, "said once: {out}");
}

#[test]
fn an_ab_split_sends_each_key_to_one_version_in_proportion() {
    let repo = two_versions();
    let rows = records(&repo.read("prepared/test.csv"), "Churn");
    let server = Server::start(&repo, &["--split", "v1=0.8,v2=0.2"]);
    let client = client();
    let url = format!("{}/predict", server.url);
    let version_for = |key: &str| {
        let response = client.post(&url).header("X-Split-Key", key).json(&rows[1]).send().unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json::<Value>().unwrap()["model_version"].as_u64().unwrap()
    };
    let mut counts = [0usize; 3];
    for i in 0..2000 {
        counts[version_for(&format!("user-{i}")) as usize] += 1;
    }
    // 400 expected for v2; the standard deviation is 17.9.
    assert!((340..=460).contains(&counts[2]), "v1 {} / v2 {}", counts[1], counts[2]);
    assert_eq!(counts[1] + counts[2], 2000);
    let first = version_for("user-7");
    assert!((0..5).all(|_| version_for("user-7") == first), "a key sticks to its version");
    let (_, text) = server.get("/metrics");
    for version in ["1", "2"] {
        let label = format!(
            "pipit_prediction_duration_seconds_count{{dataset=\"churn\",version=\"{version}\"}}"
        );
        assert!(text.contains(&label), "{label} in {text}");
        assert!(
            text.contains(&format!(
                "pipit_model_served{{dataset=\"churn\",version=\"{version}\"}} 1"
            ))
        );
    }
    let (_, health) = server.get("/health");
    assert!(health.contains("\"split\""), "{health}");
    let (code, out) = server.terminate();
    assert_eq!(code, 0, "{out}");
    let log = repo.read("logs/predictions.jsonl");
    let v2 = log.lines().filter(|l| l.contains("\"model_version\":2")).count();
    assert_eq!(
        v2,
        counts[2] + if first == 2 { 6 } else { 0 },
        "the log names each record's version"
    );
}

#[test]
fn the_openapi_document_describes_the_served_schema_and_is_valid() {
    let repo = registered_churn();
    let server = Server::start(&repo, &[]);
    let (status, text) = server.get("/openapi.json");
    assert_eq!(status, 200);
    let document: Value = serde_json::from_str(&text).unwrap();
    let record = &document["components"]["schemas"]["record_churn"];
    assert_eq!(record["properties"]["tenure"]["type"], json!(["number", "null"]));
    let range = record["properties"]["tenure"]["x-training-range"].as_array().unwrap();
    assert!(range[0].as_f64().unwrap() <= range[1].as_f64().unwrap());
    let contract = record["properties"]["Contract"]["enum"].as_array().unwrap();
    assert!(contract.contains(&json!("Two year")), "{record}");
    assert_eq!(record["required"].as_array().unwrap().len(), 19, "every feature is required");
    assert!(document["paths"]["/predict/churn"]["post"]["responses"]["422"].is_object());
    let (status, docs) = server.get("/docs");
    assert_eq!(status, 200);
    assert!(docs.contains("/openapi.json") && !docs.contains("https://"), "no CDN");
    let (status, page) = server.get("/");
    assert_eq!(status, 200);
    assert!(!page.contains("https://"), "the page loads nothing from elsewhere");
    match std::env::var("PIPIT_TEST_OPENAPI_VALIDATOR") {
        Ok(validator) => {
            let file = repo.path().join("openapi.json");
            fs_err::write(&file, &text).unwrap();
            let output = Command::new(validator).arg(&file).output().unwrap();
            assert!(output.status.success(), "{output:?}");
        }
        Err(_) => assert!(
            std::env::var_os("PIPIT_TEST_SERVERS_REQUIRED").is_none(),
            "`.ci/test` installs openapi-spec-validator"
        ),
    }
}

/// Returns the value of the metric line that starts with `name` (labels
/// included).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn metrics_show_how_far_the_latest_records_drifted_from_the_training_data() {
    let repo = registered_churn();
    let rows = records(&repo.read("prepared/test.csv"), "Churn");
    let args = ["--reference", "churn=prepared/train.csv", "--drift-every", "0.2"];
    let server = Server::start(&repo, &[&args[..], &["--drift-window", "60"]].concat());
    let wait_for = |condition: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, text) = server.get("/metrics");
            if condition(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // Records like the training data: little drift.
    let (status, _) = server.post("/predict", &Value::Array(rows[..60].to_vec()));
    assert_eq!(status, 200);
    let text =
        wait_for(&|t| metric(t, "pipit_drift_window_records{dataset=\"churn\"}") == Some(60.0));
    let calm = metric(&text, "pipit_drift_share{dataset=\"churn\"}").unwrap();
    assert!(calm < 0.5, "{text}");
    // Long-standing customers on two-year contracts paying a lot: drifted.
    let shifted: Vec<Value> = rows[..60]
        .iter()
        .map(|row| {
            let mut row = row.clone();
            row["tenure"] = json!(70);
            row["MonthlyCharges"] = json!(104.5);
            row["TotalCharges"] = json!(7200);
            row["Contract"] = json!("Two year");
            row["PaymentMethod"] = json!("Mailed check");
            row
        })
        .collect();
    let (status, _) = server.post("/predict", &Value::Array(shifted));
    assert_eq!(status, 200);
    let text = wait_for(&|t| {
        metric(t, "pipit_drift_share{dataset=\"churn\"}").is_some_and(|share| share > calm)
    });
    assert!(metric(&text, "pipit_drifted_columns{dataset=\"churn\"}").unwrap() >= 5.0, "{text}");
}

#[test]
fn a_second_signal_stops_a_server_that_waits_for_a_request_never_finished() {
    let repo = registered_churn();
    let mut server = Server::start(&repo, &[]);
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut stuck = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(&mut stuck, b"POST /predict HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
        .unwrap();
    let signal = |child: &Child| {
        let status =
            Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
    };
    // Once the server has read the head, the request is in flight.
    std::thread::sleep(Duration::from_millis(1000));
    signal(&server.child);
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.child.try_wait().unwrap().is_none(), "the first signal waits for the request");
    let started = Instant::now();
    signal(&server.child);
    let code = server.child.wait().unwrap().code();
    assert_eq!(code, Some(0));
    assert!(started.elapsed() < Duration::from_secs(5), "the second signal stops it");
    let mut out = String::new();
    std::io::Read::read_to_string(server.child.stderr.as_mut().unwrap(), &mut out).unwrap();
    assert!(out.contains("stopped with requests still open"), "{out}");
}
