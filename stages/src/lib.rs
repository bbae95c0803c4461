//! The built-in ML stages of pipit (generate, prepare, train, tune, drift, compare),
//! reached through `pipit stage …`. They arrive with the ML-stage issues.
