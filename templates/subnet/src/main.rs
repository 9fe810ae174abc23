//! The `subforge` command with this subnet linked in: `localnet`, `miner`, `validator`,
//! `wallet`, `scorer` and the rest, with `--subnet {{project-name}}` available.

// Linking the crate registers the subnet with the runtime.
use {{crate_name}} as _;

fn main() -> std::process::ExitCode {
    subforge_sdk::cli::main()
}
