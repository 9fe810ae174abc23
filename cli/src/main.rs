//! The `subforge` command: the SDK's command-line tool with the built-in subnets (text, image
//! and data).
//!
//! A subnet crate makes the same tool for its own subnet with a one-line `main`:
//! `subforge_sdk::cli::App::new().subnet(&MySubnet).run()`.

fn main() -> std::process::ExitCode {
    subforge_sdk::cli::App::new()
        .subnet(&subforge_subnet_text::TextSubnet)
        .subnet(&subforge_subnet_image::ImageSubnet)
        .subnet(&subforge_subnet_data::DataSubnet)
        .run()
}
