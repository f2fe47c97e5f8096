//! The client for an operator-configured API base (GitHub API, Notion API).
//!
//! Those hosts are trusted: no address filtering, but a fixed base, no redirects away
//! from it, timeouts, and no proxy from the environment.

use std::time::Duration;

use url::Url;

/// A `reqwest::Client` bound to one base URL.
#[derive(Debug, Clone)]
pub struct TrustedClient {
    base: Url,
    client: reqwest::Client,
}

/// Why a trusted client could not be built or a path joined.
#[derive(Debug, thiserror::Error)]
pub enum TrustedError {
    #[error("could not build the HTTP client: {0}")]
    Build(#[from] reqwest::Error),
    #[error("path {0:?} does not stay under the API base")]
    OutsideBase(String),
}

impl TrustedClient {
    pub fn new(base: Url, user_agent: &str, timeout: Duration) -> Result<Self, TrustedError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            .build()?;
        Ok(Self { base, client })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `base` + `path`, refusing anything that would leave the base (another host, `..`).
    pub fn url(&self, path: &str) -> Result<Url, TrustedError> {
        let mut base = self.base.clone();
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let joined = base
            .join(path.trim_start_matches('/'))
            .map_err(|_| TrustedError::OutsideBase(path.to_owned()))?;
        if joined.origin() != base.origin() || !joined.path().starts_with(base.path()) {
            return Err(TrustedError::OutsideBase(path.to_owned()));
        }
        Ok(joined)
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, TrustedError> {
        Ok(self.client.request(method, self.url(path)?))
    }

    /// The underlying client, for crates that need to drive it directly (e.g. oauth2).
    pub fn inner(&self) -> &reqwest::Client {
        &self.client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> TrustedClient {
        let base = Url::parse(base).unwrap_or_else(|e| panic!("{e}"));
        TrustedClient::new(base, "t", Duration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn paths_join_under_the_base() {
        let c = client("https://ghe.example/api/v3");
        assert_eq!(
            c.url("/repos/a/b/pulls/1").map(|u| u.to_string()).ok(),
            Some("https://ghe.example/api/v3/repos/a/b/pulls/1".to_owned())
        );
    }

    #[test]
    fn paths_cannot_leave_the_base() {
        let c = client("https://ghe.example/api/v3/");
        assert!(c.url("../../admin").is_err());
        assert_eq!(
            c.url("//evil.example/x")
                .map(|u| u.host_str().map(str::to_owned))
                .ok(),
            Some(Some("ghe.example".to_owned()))
        );
        assert!(c.url("https://evil.example/").is_err());
    }
}
