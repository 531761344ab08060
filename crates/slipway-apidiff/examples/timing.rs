//! Development aid: loads two documents (and, unless `parse` is given, diffs them) ten times,
//! so `perf stat` can count the CPU time of each phase on a busy machine.
use slipway_apidiff::{OpenApi, Options, compare};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let a = std::fs::read_to_string(&args[1]).expect("base");
    let b = std::fs::read_to_string(&args[2]).expect("revision");
    let parse_only = args.get(3).is_some_and(|mode| mode == "parse");
    let mut findings = 0;
    for _ in 0..10 {
        let base = OpenApi::parse("a", &a).expect("a");
        let revision = OpenApi::parse("b", &b).expect("b");
        if !parse_only {
            findings += compare(&base, &revision, &Options::default()).len();
        }
    }
    println!("{findings} findings");
}
