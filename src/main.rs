use std::process::ExitCode;

use clap::Parser;
use notion_unfurl::cli::{Cli, Command, run};
use notion_unfurl::platform::config::{self, Settings};
use notion_unfurl::platform::telemetry;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let gathered = match config::gather(cli.config.as_deref(), std::env::vars()) {
        Ok(gathered) => gathered,
        Err(e) => {
            eprintln!("notion-unfurl: {e}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::from_gathered(&gathered) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("notion-unfurl: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Serve => telemetry::init(settings.log_format),
        // Commands print their result on stdout; logs go to stderr so they can be piped.
        _ => telemetry::init_with_writer(settings.log_format, std::io::stderr),
    }
    run(command, settings, &gathered).await
}
