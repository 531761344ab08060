//! The `slipway` binary: a thin shell over [`slipway_cli`], which parses the command line and
//! its configuration before any runtime starts.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    slipway_cli::main()
}
