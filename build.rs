//! Links the `pipit` binary as a position-dependent executable on Linux.
//!
//! A position-independent one (Rust's default there) is moved in memory at
//! every start, and the loader rewrites each of the binary's ~90,000
//! pointers to where it landed: 500 pages written before `main`, 1.2 ms of
//! a command that answers in 2–15 ms (`pipit status`, `pipit --version`),
//! and paid again by every `pipit stage …` a pipeline runs. Linked at a
//! fixed address, those pointers are right as they are on disk. The
//! libraries, the stack and the heap are still placed at random.

#![allow(clippy::print_stdout, reason = "a build script talks to cargo on stdout")]

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
