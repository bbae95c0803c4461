//! `pipit stage …`: the built-in ML stages through the real binary.

use crate::harness::Repo;

#[test]
fn generate_is_deterministic_and_validates_its_arguments() {
    let repo = Repo::new();
    for (dataset, header) in [
        (
            "housing",
            "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude,MedHouseVal",
        ),
        ("credit", "amount,hour,merchant_category,distance_from_home_km,card_present,"),
        ("churn", "customerID,gender,SeniorCitizen,Partner,Dependents,PhoneService,"),
    ] {
        let write = |name: &str, seed: &str| {
            let out = format!("data/{name}.csv");
            let run = repo.pipit([
                "stage",
                "generate",
                "--dataset",
                dataset,
                "--rows",
                "500",
                "--seed",
                seed,
                "--out",
                &out,
            ]);
            assert_eq!(run.code, 0, "{run}");
            fs_err::read_to_string(repo.path().join(out)).unwrap()
        };
        let first = write(&format!("{dataset}-a"), "1");
        assert!(first.starts_with(header), "{first}");
        assert_eq!(first.lines().count(), 501);
        assert_eq!(first, write(&format!("{dataset}-b"), "1"));
        assert_ne!(first, write(&format!("{dataset}-c"), "2"));
    }
    let bad = repo.pipit(["stage", "generate", "--dataset", "weather", "--out", "x.csv"]);
    assert_eq!(bad.code, 2, "{bad}");
    let bad = repo.pipit([
        "stage",
        "generate",
        "--dataset",
        "credit",
        "--positive-rate",
        "1.5",
        "--out",
        "x.csv",
    ]);
    assert_eq!(bad.code, 1, "{bad}");
    assert!(bad.stderr.contains("--positive-rate must be above 0 and below 1"), "{bad}");
}

#[test]
fn generate_writes_parquet_by_extension() {
    let repo = Repo::new();
    let run = repo.pipit([
        "stage",
        "generate",
        "--dataset",
        "churn",
        "--rows",
        "50",
        "--out",
        "churn.parquet",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let bytes = fs_err::read(repo.path().join("churn.parquet")).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
}

#[test]
fn prepare_cleans_splits_and_describes_the_data() {
    let repo = Repo::new();
    let run = repo.pipit([
        "stage",
        "generate",
        "--dataset",
        "churn",
        "--rows",
        "3000",
        "--out",
        "raw.csv",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let args =
        ["stage", "prepare", "--data", "raw.csv", "--target", "Churn", "--task", "classification"];
    let run = repo.pipit(args.iter().copied().chain(["--out-dir", "prepared"]));
    assert_eq!(run.code, 0, "{run}");
    let train = fs_err::read_to_string(repo.path().join("prepared/train.csv")).unwrap();
    let test = fs_err::read_to_string(repo.path().join("prepared/test.csv")).unwrap();
    assert!(!train.starts_with("customerID"), "an identifier column is dropped");
    let churn_share = |text: &str| {
        let rows: Vec<&str> = text.lines().skip(1).collect();
        rows.iter().filter(|r| r.ends_with(",Yes")).count() as f64 / rows.len() as f64
    };
    assert!((churn_share(&train) - churn_share(&test)).abs() < 0.01, "the split is stratified");
    assert!(
        !train.contains("month to month") && !train.contains("Month-To-Month"),
        "spellings are folded"
    );
    let stats: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(repo.path().join("prepared/stats.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stats["columns"]["Contract"]["type"], "categorical");
    assert_eq!(stats["columns"]["tenure"]["type"], "numeric");
    assert!(stats["rows"]["duplicates_removed"].as_u64().unwrap() > 0);
    let again = repo.pipit(args.iter().copied().chain(["--out-dir", "again"]));
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(
        train,
        fs_err::read_to_string(repo.path().join("again/train.csv")).unwrap(),
        "deterministic"
    );
}

#[test]
fn prepare_reports_failed_checks_and_writes_nothing() {
    let repo = Repo::new();
    repo.write("raw.csv", "age,income,label\n1,,a\n2,,b\n3,,a\n4,5,b\nunknown,6,a\n7,8,b\n");
    repo.write("rules.yaml", "wrong_type: 0.0\nnumeric_share: 0.8\nbounds:\n  age: [0, 5]\n");
    let run = repo.pipit([
        "stage",
        "prepare",
        "--data",
        "raw.csv",
        "--target",
        "label",
        "--task",
        "classification",
        "--out-dir",
        "prepared",
        "--rules",
        "rules.yaml",
    ]);
    assert_eq!(run.code, 1, "{run}");
    for text in [
        "data check failed: 3 problems",
        "column `income`: missing values 50.0% > limit 20.0% (3 rows)",
        "column `age`: values that are not numbers > limit 0.0% (1 rows), e.g. \"unknown\"",
        "column `age`: values outside [0, 5] (1 rows), e.g. \"7\"",
    ] {
        assert!(run.stderr.contains(text), "`{text}` not in:\n{}", run.stderr);
    }
    assert!(!repo.path().join("prepared").exists(), "no partial output");
    let run = repo.pipit([
        "stage",
        "prepare",
        "--data",
        "raw.csv",
        "--target",
        "nope",
        "--task",
        "regression",
        "--out-dir",
        "p",
    ]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("missing column `nope`"), "{run}");
}

#[test]
fn the_demo_pipeline_runs_end_to_end_and_reruns_only_what_changed() {
    let (pipeline, params) = crate::harness::demo();
    let small = params
        .replace("rows: 20640", "rows: 600")
        .replace("rows: 50000, positive-rate: 0.005", "rows: 600, positive-rate: 0.05")
        .replace("rows: 7043", "rows: 600")
        .replace("n_trees: 100", "n_trees: 10")
        .replace("n_trees: 200", "n_trees: 20");
    assert_ne!(small, params, "the demo's params.yaml changed: update this test");
    let repo = Repo::with_pipeline(&pipeline, &small);
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("ran 34, up to date 0"), "{run}");
    assert!(repo.path().join("reports/compare.html").is_file());
    let drift = fs_err::read_to_string(repo.path().join("metrics/drift/housing.json")).unwrap();
    let drift: serde_json::Value = serde_json::from_str(&drift).unwrap();
    assert_eq!(drift["rule"], "evidently");
    assert!(drift["columns"]["MedInc"]["drifted"].as_bool().unwrap(), "incomes drift: {drift}");
    assert!(drift["columns"].get("MedHouseVal").is_none(), "the target is left out");
    let report = fs_err::read_to_string(repo.path().join("reports/drift/churn.html")).unwrap();
    assert!(report.contains("<h2>tenure"), "every column has a section");
    for dataset in ["housing", "credit", "churn"] {
        for file in ["train.csv", "test.csv", "stats.json"] {
            let path = format!("data/{dataset}/prepared/{file}");
            assert!(repo.path().join(&path).is_file(), "{path}");
        }
        for model in ["linear", "tree", "forest", "gbm", "tuned"] {
            assert!(repo.path().join(format!("models/{dataset}/{model}.model")).is_file());
            assert!(repo.path().join(format!("metrics/train/{dataset}-{model}.json")).is_file());
        }
    }
    let list = repo.pipit(["model", "list", "--json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(entries.len(), 15, "{list}");

    let again = repo.pipit(["repro"]);
    assert_eq!(again.code, 0, "{again}");
    assert!(again.stdout.contains("everything is up to date (34 stages)"), "{again}");
    let status = repo.pipit(["status"]);
    assert_eq!(
        (status.code, status.stdout.as_str()),
        (0, "everything is up to date\n"),
        "{status}"
    );

    // A lost registry is registered again: its receipts went with it.
    fs_err::remove_dir_all(repo.path().join("registry")).unwrap();
    let registered = repo.pipit(["repro"]);
    assert!(registered.stdout.contains("ran 3, up to date 31"), "{registered}");
    let list = repo.pipit(["model", "list", "--json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(entries.len(), 15, "{list}");
    let receipt: serde_json::Value =
        serde_json::from_str(&repo.read("registry/receipts/churn.json")).unwrap();
    assert_eq!(receipt.as_object().map(|o| o.len()), Some(5), "{receipt}");
    assert_eq!(receipt["models/churn/tuned.model"]["dataset"], "churn", "{receipt}");

    // One model's param: that model's stages (one per data set), the registration and the
    // comparison rerun.
    repo.write("params.yaml", &small.replace("gbm: {n_trees: 20", "gbm: {n_trees: 30"));
    let changed = repo.pipit(["repro"]);
    assert_eq!(changed.code, 0, "{changed}");
    assert!(changed.stdout.contains("ran 7, up to date 27"), "{changed}");
    for dataset in ["housing", "credit", "churn"] {
        assert!(changed.stdout.contains(&format!("ran        train@{dataset}-gbm")), "{changed}");
    }
    assert!(!changed.stdout.contains("train@housing-forest ("), "{changed}");
    let list = repo.pipit(["model", "list", "--json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(entries.len(), 18, "three new gbm models");
}

#[test]
fn train_refuses_a_hyperparameter_value_its_model_cannot_take() {
    let repo = Repo::new();
    crate::harness::prepare_churn(&repo, "200", "1");
    for (param, message) in [
        (
            "learning_rate=fast",
            "`gbm` hyperparameter `learning_rate` must be a number above 0, not `\"fast\"`",
        ),
        ("n_trees=2.5", "`n_trees` must be a whole number, 1 or more, not `2.5`"),
        ("loss=huber", "`loss` must be one of squared, absolute"),
        ("depth=3", "`gbm` has no hyperparameter `depth`"),
    ] {
        let run = crate::harness::train_churn(
            &repo,
            "gbm",
            &["--param", param, "--model-out", "m.model", "--metrics-out", "m.json"],
        );
        assert_eq!(run.code, 1, "{param}: {run}");
        assert!(run.stderr.contains(message), "{param}: {run}");
        assert!(!repo.path().join("m.model").exists() && !repo.path().join("m.json").exists());
    }
}
