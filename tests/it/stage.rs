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
