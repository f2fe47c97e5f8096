use std::process::ExitCode;

use notion_unfurl::cli::main_with;
use notion_unfurl::unfurl::registry::Registry;

#[actix_web::main]
async fn main() -> ExitCode {
    main_with(Registry::from_settings).await
}
