//! The `airlock` command: a thin CLI over the crates. It parses flags and
//! environment into one [`Config`], sets up logging, and calls into
//! `airlock-server`, `airlock-worker`, `airlock-store` or `airlock-inspect`.

mod cli;
mod commands;
mod lockfiles;
mod scan;
mod select;
mod watch;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("airlock: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
