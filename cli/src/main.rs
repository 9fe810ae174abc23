//! The `subforge` command: the SDK's command-line tool with the built-in subnets linked in.
//!
//! A subnet crate makes the same tool for its own subnet with a two-line `main.rs`: link the
//! crate (`use my_subnet as _;`, which registers it) and call `subforge_sdk::cli::main()`.

// Linking the subnet crates registers them (inventory) with the runtime.
use subforge_subnet_text as _;

fn main() -> std::process::ExitCode {
    subforge_sdk::cli::main()
}
