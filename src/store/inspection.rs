//! A look at a database that changes nothing in its schema, for `check-config`: connect as
//! `serve` would (an SQLite file is created when missing, as `serve` would create it), then
//! compare the migrations the database has applied with those this binary embeds.
//! Migrating is left to `serve`: a check run with a newer binary must not change the schema
//! under servers of the older one.

use std::collections::BTreeSet;

use sqlx::AnyPool;

use super::connect::{self, Backend, OpenError};

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub backend: Backend,
    /// Migrations of this binary the database has applied.
    pub applied: usize,
    /// Migrations of this binary not applied yet: `serve` applies them at start.
    pub pending: usize,
    /// Migrations the database has applied that this binary does not know: a newer
    /// version ran against it.
    pub unknown: usize,
}

/// Connect to `url` and compare its applied migrations with this binary's, applying none.
pub async fn inspect(url: &str) -> Result<Inspection, OpenError> {
    let (pool, backend) = connect::connect(url).await?;
    let applied = applied_versions(&pool, backend).await;
    pool.close().await;
    let applied = applied?;
    let embedded: BTreeSet<i64> = backend
        .migrator()
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect();
    Ok(Inspection {
        backend,
        applied: embedded.intersection(&applied).count(),
        pending: embedded.difference(&applied).count(),
        unknown: applied.difference(&embedded).count(),
    })
}

/// The versions in sqlx's bookkeeping table; none when the table does not exist yet.
async fn applied_versions(pool: &AnyPool, backend: Backend) -> Result<BTreeSet<i64>, sqlx::Error> {
    let exists = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let tables: i64 = sqlx::query_scalar(exists).fetch_one(pool).await?;
    if tables == 0 {
        return Ok(BTreeSet::new());
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?;
    Ok(versions.into_iter().collect())
}
