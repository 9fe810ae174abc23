//! The `subforge` command-line tool.

fn main() -> std::process::ExitCode {
    subforge_sdk::cli::main()
}
