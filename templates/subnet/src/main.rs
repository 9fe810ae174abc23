//! The `subforge` command with this subnet: `localnet`, `miner`, `validator`, `wallet`,
//! `scorer` and the rest, with `--subnet {{project-name}}` available.

fn main() -> std::process::ExitCode {
    subforge_sdk::cli::App::new()
        .subnet(&{{crate_name}}::SortSubnet)
        .run()
}
