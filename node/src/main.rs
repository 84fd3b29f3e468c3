//! `ferro`: the Ferrocoin node and command-line wallet; see [`ferro_node::cli`].

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match ferro_node::cli::run(ferro_node::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
