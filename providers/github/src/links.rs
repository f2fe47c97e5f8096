//! Pull-request links: the one place that reads a pull request out of a link (a page, an
//! API URL, the captures of the provider's pattern) and writes its canonical form.
//!
//! The provider stores previews and subscriptions under [`PullLink::canonical`], and the
//! server's webhook handler looks subscriptions up with [`canonical_uri`]: both forms come
//! from here, so a change pushed by GitHub finds the links people pasted.

use std::collections::HashMap;

use notion_unfurl_sdk::Url;
use notion_unfurl_sdk::regex;

/// The page path after `/pull/{number}` that still shows the same PR: its tabs (and
/// their sub-pages, such as one commit or one check run), a query or a fragment.
const TAIL: &str = r"(?:/(?:files|commits|checks)(?:/[^?#]*)?)?/?(?:[?#].*)?";

/// `https://{web_host}/{owner}/{repo}/pull/{number}` and its sub-pages, anchored, with the
/// named groups `owner`, `repo` and `number`.
///
/// Owner: GitHub's user and organisation names (letters, digits, hyphens). Repository:
/// letters, digits, `.`, `_`, `-`, but not only dots (`.` and `..` are no names and would
/// walk the API path).
pub fn url_pattern(web_host: &str) -> String {
    format!(
        r"^https?://{host}/(?<owner>[A-Za-z0-9][A-Za-z0-9-]*)/(?<repo>[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*)/pull/(?<number>[0-9]{{1,18}}){TAIL}$",
        host = regex::escape(web_host),
    )
}

/// One pull request, as a link names it (owner and repository as written there).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PullLink {
    pub owner: String,
    pub repo: String,
    pub number: u64,
}

impl PullLink {
    /// The pull request named by the groups of [`url_pattern`], as the server hands them
    /// to the provider in `UnfurlRequest::captures`.
    pub fn from_captures(captures: &HashMap<String, String>) -> Option<Self> {
        Some(Self {
            owner: captures.get("owner")?.clone(),
            repo: captures.get("repo")?.clone(),
            number: captures.get("number")?.parse().ok()?,
        })
    }

    /// The pull request of a page on any host: `http(s)://host/{owner}/{repo}/pull/{number}`
    /// and anything below it. Looser than [`url_pattern`] on purpose: webhook payloads
    /// name pages of whatever host sent them.
    pub fn from_page(url: &Url) -> Option<Self> {
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return None;
        }
        let segments: Vec<&str> = url.path_segments()?.collect();
        match segments.as_slice() {
            [owner, repo, "pull", number, ..]
                if !owner.is_empty()
                    && !repo.is_empty()
                    && !number.is_empty()
                    && number.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(Self {
                    owner: (*owner).to_owned(),
                    repo: (*repo).to_owned(),
                    number: number.parse().ok()?,
                })
            }
            _ => None,
        }
    }

    /// The pull request of its REST URL, `…/repos/{owner}/{repo}/pulls/{number}`, under any
    /// API prefix (GitHub Enterprise Server serves `/api/v3/repos/…`).
    pub fn from_api_url(url: &str) -> Option<Self> {
        let url = Url::parse(url).ok()?;
        let segments: Vec<&str> = url.path_segments()?.collect();
        let at = segments.iter().position(|s| *s == "repos")?;
        match segments.get(at + 1..)? {
            [owner, repo, "pulls", number] if !owner.is_empty() && !repo.is_empty() => Some(Self {
                owner: (*owner).to_owned(),
                repo: (*repo).to_owned(),
                number: number.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// The REST path, `/repos/{owner}/{repo}/pulls/{number}`.
    pub fn api_path(&self) -> String {
        format!("/repos/{}/{}/pulls/{}", self.owner, self.repo, self.number)
    }

    /// The page of this pull request on the host of `site` (any URL there), spelled as
    /// this link spells it.
    pub fn page_on(&self, site: &Url) -> Option<Url> {
        site.join(&format!(
            "/{}/{}/pull/{}",
            self.owner, self.repo, self.number
        ))
        .ok()
    }

    /// `https://{web_host}/{owner}/{repo}/pull/{number}` with owner and repository
    /// lower-cased: GitHub treats them case-insensitively, so `Octo/Hello` and
    /// `octo/hello` are one pull request and share subscriptions. `web_host` carries the
    /// port when it is not the default one.
    pub fn canonical(&self, web_host: &str) -> String {
        format!(
            "https://{web_host}/{}/{}/pull/{}",
            self.owner.to_ascii_lowercase(),
            self.repo.to_ascii_lowercase(),
            self.number
        )
    }
}

/// The canonical form ([`PullLink::canonical`]) of a pull request page on its own host, or
/// `None` when `url` is not one ([`PullLink::from_page`]).
pub fn canonical_uri(url: &Url) -> Option<String> {
    let pull = PullLink::from_page(url)?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => pull.canonical(&format!("{host}:{port}")),
        None => pull.canonical(host),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn pages_name_their_pull_request_on_any_host() {
        assert_eq!(
            PullLink::from_page(&url("https://git.example.com/Team/App/pull/7/files?w=1#x")),
            Some(PullLink {
                owner: "Team".into(),
                repo: "App".into(),
                number: 7
            })
        );
    }

    #[test]
    fn links_that_are_not_pull_requests_are_ignored() {
        for s in [
            "https://github.com/o/r/issues/1",
            "https://github.com/o/r/pull/x",
            "https://github.com/o/r/pull/",
            "https://github.com/o/pull/1",
            "ftp://github.com/o/r/pull/1",
        ] {
            assert_eq!(PullLink::from_page(&url(s)), None, "{s}");
        }
    }

    #[test]
    fn api_urls_name_their_pull_request_under_any_prefix() {
        let expected = Some(PullLink {
            owner: "Codertocat".into(),
            repo: "Hello-World".into(),
            number: 2,
        });
        assert_eq!(
            PullLink::from_api_url("https://api.github.com/repos/Codertocat/Hello-World/pulls/2"),
            expected
        );
        assert_eq!(
            PullLink::from_api_url(
                "https://ghe.example/api/v3/repos/Codertocat/Hello-World/pulls/2"
            ),
            expected
        );
        assert_eq!(
            expected.map(|p| p.api_path()).as_deref(),
            Some("/repos/Codertocat/Hello-World/pulls/2")
        );
        for s in [
            "https://api.github.com/repos/o/r/issues/2",
            "https://api.github.com/repos/o/r/pulls/2/files",
            "https://api.github.com/repos/o/r/pulls/x",
            "not a url",
        ] {
            assert_eq!(PullLink::from_api_url(s), None, "{s}");
        }
    }

    #[test]
    fn captures_name_the_pull_request() {
        let captures: HashMap<String, String> = [("owner", "o"), ("repo", "r"), ("number", "12")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let pull = PullLink::from_captures(&captures);
        assert_eq!(pull.map(|p| p.number), Some(12));
        assert_eq!(PullLink::from_captures(&HashMap::new()), None);
    }

    #[test]
    fn canonical_forms_lower_case_owner_and_repository() {
        assert_eq!(
            canonical_uri(&url(
                "https://github.com/Codertocat/Hello-World/pull/2/checks?check_run_id=1"
            ))
            .as_deref(),
            Some("https://github.com/codertocat/hello-world/pull/2")
        );
        assert_eq!(
            canonical_uri(&url("http://ghe.example:8443/A/B/pull/3")).as_deref(),
            Some("https://ghe.example:8443/a/b/pull/3")
        );
        assert_eq!(canonical_uri(&url("https://github.com/o/r/issues/2")), None);
    }

    #[test]
    fn a_page_is_spelled_as_its_link_spells_it() {
        let pull = PullLink {
            owner: "Codertocat".into(),
            repo: "Hello-World".into(),
            number: 2,
        };
        assert_eq!(
            pull.page_on(&url("https://github.com/forker/Hello-World"))
                .map(String::from)
                .as_deref(),
            Some("https://github.com/Codertocat/Hello-World/pull/2")
        );
    }
}
