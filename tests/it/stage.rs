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
fn the_demo_data_stages_run_end_to_end() {
    let (pipeline, params) = crate::harness::demo();
    let small = params
        .replace("rows: 20640", "rows: 600")
        .replace("rows: 10000", "rows: 600")
        .replace("rows: 7043", "rows: 600");
    let repo = Repo::with_pipeline(&pipeline, &small);
    let run = repo.pipit(["repro", "prepare"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("ran 6, up to date 0"), "{run}");
    for dataset in ["housing", "credit", "churn"] {
        for file in ["train.csv", "test.csv", "stats.json"] {
            assert!(
                repo.path().join(format!("data/{dataset}/prepared/{file}")).is_file(),
                "{dataset}/{file}"
            );
        }
    }
    let again = repo.pipit(["repro", "prepare"]);
    assert!(again.stdout.contains("ran 0, up to date 6"), "{again}");
    assert_eq!(repo.pipit(["status", "prepare"]).code, 0);
}

#[test]
fn train_scores_against_a_baseline_and_gates() {
    let repo = Repo::new();
    for (dataset, target, task) in
        [("housing", "MedHouseVal", "regression"), ("churn", "Churn", "classification")]
    {
        let run = repo.pipit([
            "stage",
            "generate",
            "--dataset",
            dataset,
            "--rows",
            "1500",
            "--out",
            &format!("{dataset}.csv"),
        ]);
        assert_eq!(run.code, 0, "{run}");
        let run = repo.pipit([
            "stage",
            "prepare",
            "--data",
            &format!("{dataset}.csv"),
            "--target",
            target,
            "--task",
            task,
            "--out-dir",
            dataset,
        ]);
        assert_eq!(run.code, 0, "{run}");
    }
    let train = |args: &[&str]| {
        let mut all = vec!["stage", "train"];
        all.extend_from_slice(args);
        repo.pipit(all)
    };
    let housing = [
        "--train",
        "housing/train.csv",
        "--test",
        "housing/test.csv",
        "--target",
        "MedHouseVal",
        "--task",
        "regression",
    ];
    let run = train(
        &[
            &housing[..],
            &[
                "--model",
                "ridge",
                "--param",
                "alpha=2",
                "--model-out",
                "h.model",
                "--metrics-out",
                "h.json",
            ],
        ]
        .concat(),
    );
    assert_eq!(run.code, 0, "{run}");
    let metrics: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(repo.path().join("h.json")).unwrap()).unwrap();
    let r2 = metrics["r2"].as_f64().unwrap();
    assert!(r2 > 0.5, "{metrics}");
    assert!(metrics["rmse"].as_f64().unwrap() > 0.0 && metrics["mae"].as_f64().unwrap() > 0.0);
    assert_eq!(metrics["baseline"]["kind"], "mean");
    assert_eq!(metrics["gate"]["accepted"], true);
    assert_eq!(metrics["gate"]["metric"], "r2");
    let forest = [
        &housing[..],
        &[
            "--model",
            "forest",
            "--param",
            "n_trees=20",
            "--model-out",
            "f.model",
            "--metrics-out",
            "f.json",
        ],
    ]
    .concat();
    let run = train(&forest);
    assert_eq!(run.code, 0, "{run}");
    let forest_metrics: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(repo.path().join("f.json")).unwrap()).unwrap();
    assert!(forest_metrics["r2"].as_f64().unwrap() > r2 - 0.1, "{forest_metrics}");
    let churn = [
        "--train",
        "churn/train.csv",
        "--test",
        "churn/test.csv",
        "--target",
        "Churn",
        "--task",
        "classification",
    ];
    let run = train(
        &[
            &churn[..],
            &[
                "--model",
                "logistic",
                "--param",
                "c=0.5",
                "--model-out",
                "c.model",
                "--metrics-out",
                "c.json",
            ],
        ]
        .concat(),
    );
    assert_eq!(run.code, 0, "{run}");
    let metrics: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(repo.path().join("c.json")).unwrap()).unwrap();
    for key in ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"] {
        assert!(
            metrics[key].as_f64().is_some_and(|v| (0.0..=1.0).contains(&v)),
            "{key}: {metrics}"
        );
    }
    assert!(metrics["roc_auc"].as_f64().unwrap() > 0.7, "{metrics}");
    assert_eq!(metrics["baseline"]["metrics"]["f1"], 0.0, "the majority class is `No`");
    let strict = train(
        &[
            &churn[..],
            &[
                "--model",
                "logistic",
                "--gate-threshold",
                "0.99",
                "--model-out",
                "s.model",
                "--metrics-out",
                "s.json",
            ],
        ]
        .concat(),
    );
    assert_eq!(strict.code, 0, "{strict}");
    assert!(strict.stdout.contains("gate rejected"), "{strict}");
    let wrong = train(
        &[
            &churn[..],
            &[
                "--model",
                "logistic",
                "--param",
                "depth=3",
                "--model-out",
                "x",
                "--metrics-out",
                "y",
            ],
        ]
        .concat(),
    );
    assert_eq!(wrong.code, 1, "{wrong}");
    assert!(
        wrong.stderr.contains("`logistic` has no hyperparameter `depth` (it takes: c, max_iter)"),
        "{wrong}"
    );
    let regression_only = train(
        &[&churn[..], &["--model", "linear", "--model-out", "x", "--metrics-out", "y"]].concat(),
    );
    assert_eq!(regression_only.code, 1, "{regression_only}");
}
