//! The last step of account linking (protocol.md §1 steps 4–5): with the account known,
//! trade Notion's code for a Notion token, store the account and the connection, and mint
//! the code Notion will trade with us.

use notion_unfurl_sdk::Secret;

use crate::clients::notion::{NotionClient, NotionError};
use crate::oauth::consent::Pending;
use crate::oauth::grants::mint_code;
use crate::store::{NewConnection, Store, StoreError};

/// The account a browser signed in as.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn<'a> {
    /// Stable across reconnections (`github:<id>`, `local:<random>`): Notion's
    /// `external_account.key`.
    pub key: &'a str,
    pub name: &'a str,
    /// The upstream token to keep for this account, if it signed in upstream.
    pub upstream_token: Option<&'a Secret>,
}

/// Why linking did not finish.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("Notion did not accept the code: {0}")]
    Notion(#[from] NotionError),
    #[error("could not save the {what}: {source}")]
    NotSaved {
        what: &'static str,
        #[source]
        source: StoreError,
    },
}

/// Link `account` to the Notion workspace of `pending`; our authorisation code for Notion.
pub async fn link(
    store: &Store,
    notion: &NotionClient,
    pending: &Pending,
    account: SignedIn<'_>,
) -> Result<String, LinkError> {
    let connection_id = connect(store, notion, pending, account).await?;
    finish(store, pending, &connection_id).await
}

/// Trade Notion's code and store the account and its new connection; the connection's
/// id. Notion receives our code later, from [`finish`].
pub async fn connect(
    store: &Store,
    notion: &NotionClient,
    pending: &Pending,
    account: SignedIn<'_>,
) -> Result<String, LinkError> {
    // Notion first: a made-up or spent code must leave nothing behind (no account row, no
    // upstream token) for a stranger to pile up.
    let grant = notion
        .exchange_code(&pending.notion_code, account.key, account.name)
        .await?;
    let not_saved = |what| move |source| LinkError::NotSaved { what, source };
    store
        .upsert_account(account.key, account.name, account.upstream_token)
        .await
        .map_err(not_saved("account"))?;
    let connection = store
        .create_connection(NewConnection {
            account_key: account.key.to_owned(),
            bot_id: grant.bot_id,
            workspace_id: grant.workspace_id,
            workspace_name: grant.workspace_name,
            workspace_icon: grant.workspace_icon,
            notion_token: Some(grant.access_token),
        })
        .await
        .map_err(not_saved("connection"))?;
    tracing::info!(account = account.key, "account linked");
    Ok(connection.id)
}

/// Our authorisation code for Notion, for the connection [`connect`] made.
pub async fn finish(
    store: &Store,
    pending: &Pending,
    connection_id: &str,
) -> Result<String, LinkError> {
    mint_code(
        store,
        connection_id,
        &pending.client_id,
        &pending.redirect_uri,
    )
    .await
    .map_err(|source| LinkError::NotSaved {
        what: "authorisation code",
        source,
    })
}
