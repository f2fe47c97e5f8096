//! Seeds the server's database with `COUNT` linked test accounts and prints one refresh
//! token per line, for the token-refresh mix of `bench/cold.sh`. Settings come from the
//! environment as for the server (`UNFURL_DATA_DIR`, `UNFURL_OAUTH_CLIENT_ID`, …); the
//! server's secret must already exist.
//!
//!     seed_grants COUNT CLIENT_ID REDIRECT_URI

use std::process::ExitCode;

use notion_unfurl::oauth::grants::{Grants, mint_code};
use notion_unfurl::platform::config::Settings;
use notion_unfurl::platform::crypto::keys::SecretFile;
use notion_unfurl::state::AppState;
use notion_unfurl::store::NewConnection;
use notion_unfurl::unfurl::registry::Registry;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [count, client_id, redirect_uri] = args.as_slice() else {
        eprintln!("usage: seed_grants COUNT CLIENT_ID REDIRECT_URI");
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("seed_grants: COUNT must be a number");
        return ExitCode::from(2);
    };
    match seed(count, client_id, redirect_uri).await {
        Ok(tokens) => {
            for token in tokens {
                println!("{token}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seed_grants: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn seed(
    count: usize,
    client_id: &str,
    redirect_uri: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let state =
        AppState::from_settings_with(settings, Registry::default(), SecretFile::MustExist).await?;
    let store = state.connections.store();
    let grants = Grants::new(&state.connections, &state.tokens);
    let mut tokens = Vec::with_capacity(count);
    for i in 0..count {
        let account = format!("local:refresh-bench-{i}");
        store.upsert_account(&account, &account, None).await?;
        let connection = store
            .create_connection(NewConnection {
                account_key: account.clone(),
                bot_id: format!("bench-bot-{i}"),
                workspace_id: format!("bench-workspace-{i}"),
                workspace_name: None,
                workspace_icon: None,
                notion_token: None,
            })
            .await?;
        let code = mint_code(store, &connection.id, client_id, redirect_uri).await?;
        let issued = grants
            .exchange_code(client_id, &code, Some(redirect_uri))
            .await
            .map_err(|e| format!("{e:?}"))?;
        tokens.push(issued.refresh_token.expose().to_owned());
    }
    Ok(tokens)
}
