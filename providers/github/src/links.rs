//! GitHub links: the one place that reads a resource out of a link (a page, an API URL,
//! the captures of the provider's patterns) and writes its canonical form.
//!
//! Each kind of resource ([`Kind`]) has one pattern and one canonical form, so every
//! variant of one link (a PR's tabs, a run's jobs, a query, a fragment, owner and
//! repository in any case) shares one subscription. The provider stores previews and
//! subscriptions under [`Link::canonical`], and the server's webhook handler looks
//! subscriptions up with [`canonical_uri`]: both forms come from here, so a change pushed
//! by GitHub finds the links people pasted.

use std::collections::HashMap;

use notion_unfurl_sdk::Url;
use notion_unfurl_sdk::regex;

use crate::owners;

/// The page path after `/pull/{number}` that still shows the same PR: its tabs (and
/// their sub-pages, such as one check run), a query or a fragment. One commit of the
/// `/commits` tab is that commit's link ([`Kind::Commit`]), not the PR's.
const TAIL: &str = r"(?:/(?:files|checks)(?:/[^?#]*)?|/commits)?/?(?:[?#].*)?";

/// GitHub's user and organisation names: letters, digits, hyphens.
const OWNER: &str = r"(?<owner>[A-Za-z0-9][A-Za-z0-9-]*)";

/// Repository names: letters, digits, `.`, `_`, `-`, but not only dots (`.` and `..` are
/// no names and would walk the API path).
const REPO: &str = r"(?<repo>[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*)";

/// What may follow a link that names its resource completely.
const END: &str = r"/?(?:[?#].*)?$";

/// `https://{web_host}/{owner}/{repo}/pull/{number}` and its sub-pages, anchored, with the
/// named groups `owner`, `repo` and `number`.
pub fn url_pattern(web_host: &str) -> String {
    Kind::Pull.pattern(web_host)
}

/// The kinds of GitHub links previewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Pull,
    Issue,
    Commit,
    Blob,
    Run,
    Release,
    Repository,
}

impl Kind {
    /// Every kind, in the order their patterns are tried.
    pub const ALL: [Kind; 7] = [
        Kind::Pull,
        Kind::Issue,
        Kind::Commit,
        Kind::Blob,
        Kind::Run,
        Kind::Release,
        Kind::Repository,
    ];

    /// What the kind is called in a sentence ("This issue was not found").
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Pull => "pull request",
            Kind::Issue => "issue",
            Kind::Commit => "commit",
            Kind::Blob => "file",
            Kind::Run => "workflow run",
            Kind::Release => "release",
            Kind::Repository => "repository",
        }
    }

    /// The anchored pattern of this kind's links on `web_host`, with the named groups
    /// `owner` and `repo`, and `number` (pull requests), `issue`, `sha`, `ref` and `path`
    /// (with `start` and `end` lines), `run` or `tag`: the groups tell the kinds apart
    /// ([`Link::from_captures`]).
    pub fn pattern(self, web_host: &str) -> String {
        let base = format!(
            r"^https?://{host}/{OWNER}/{REPO}",
            host = regex::escape(web_host)
        );
        match self {
            Kind::Pull => format!(r"{base}/pull/(?<number>[0-9]{{1,18}}){TAIL}$"),
            Kind::Issue => format!(r"{base}/issues/(?<issue>[0-9]{{1,18}}){END}"),
            Kind::Commit => format!(
                r"{base}/(?:commit|pull/[0-9]{{1,18}}/commits)/(?<sha>[0-9A-Fa-f]{{7,64}}){END}"
            ),
            Kind::Blob => format!(
                r"{base}/blob/(?<ref>[^/?#]+)/(?<path>[^?#]*[^/?#])(?:\?[^#]*)?(?:#L(?<start>[0-9]{{1,7}})(?:C[0-9]{{1,5}})?(?:-L(?<end>[0-9]{{1,7}})(?:C[0-9]{{1,5}})?)?)?$"
            ),
            Kind::Run => format!(
                r"{base}/actions/runs/(?<run>[0-9]{{1,18}})(?:/(?:job/[0-9]{{1,18}}|attempts/[0-9]{{1,6}}))?{END}"
            ),
            Kind::Release => format!(r"{base}/releases/tag/(?<tag>[^/?#]+){END}"),
            Kind::Repository => format!(
                r"^https?://{host}/(?<owner>{owner})/{REPO}{END}",
                host = regex::escape(web_host),
                owner = owners::not_reserved(),
            ),
        }
    }

    /// A shorter pattern for Notion's dashboard, where [`Kind::pattern`] is too long to
    /// enter: the repository pattern spells out GitHub's reserved first segments (some
    /// 7 KB of character classes), and the dashboard gets any two segments instead. Notion
    /// then also sends `github.com/features/actions`; routing by [`Kind::pattern`] refuses
    /// it, so it goes on to the next provider (OpenGraph). `None` for the other kinds.
    pub fn dashboard_pattern(self, web_host: &str) -> Option<String> {
        (self == Kind::Repository).then(|| {
            format!(
                r"^https?://{host}/{OWNER}/{REPO}{END}",
                host = regex::escape(web_host)
            )
        })
    }

    /// Links Notion's dashboard shows as examples.
    pub fn samples(self, web_host: &str) -> Vec<String> {
        let repo = format!("https://{web_host}/octocat/Hello-World");
        match self {
            Kind::Pull => vec![
                format!("{repo}/pull/1"),
                format!("{repo}/pull/1/files"),
                format!("{repo}/pull/1/checks"),
            ],
            Kind::Issue => vec![
                format!("{repo}/issues/1"),
                format!("{repo}/issues/1#issuecomment-2"),
            ],
            Kind::Commit => vec![
                format!("{repo}/commit/7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"),
                format!("{repo}/pull/1/commits/7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"),
            ],
            Kind::Blob => vec![
                format!("{repo}/blob/master/README#L1-L3"),
                format!("{repo}/blob/7fd1a60b01f91b314f59955a4e4d4e80d8edf11d/README#L2"),
            ],
            Kind::Run => vec![
                format!("{repo}/actions/runs/30433642"),
                format!("{repo}/actions/runs/30433642/job/99"),
            ],
            Kind::Release => vec![format!("{repo}/releases/tag/v1.0.0")],
            Kind::Repository => vec![repo],
        }
    }

    /// The placeholder text Notion shows while the preview loads (`$<group>` substituted),
    /// and the name of its identifier.
    pub fn placeholder(self) -> (&'static str, &'static str) {
        match self {
            Kind::Pull => ("Pull request", "$<owner>/$<repo>#$<number>"),
            Kind::Issue => ("Issue", "$<owner>/$<repo>#$<issue>"),
            Kind::Commit => ("Commit", "$<owner>/$<repo>@$<sha>"),
            Kind::Blob => ("File", "$<owner>/$<repo>/$<path>"),
            Kind::Run => ("Workflow run", "$<owner>/$<repo> run $<run>"),
            Kind::Release => ("Release", "$<owner>/$<repo> $<tag>"),
            Kind::Repository => ("Repository", "$<owner>/$<repo>"),
        }
    }
}

/// Lines of a file selected in a link (`#L10-L20`, 1-based, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lines {
    pub start: u32,
    pub end: u32,
}

impl Lines {
    /// `L10`, `L10-L20`, `L10C3-L20C7` (columns are dropped); `None` for anything else.
    pub fn from_fragment(fragment: &str) -> Option<Self> {
        let line = |part: &str| -> Option<u32> {
            let digits = part.strip_prefix('L')?;
            let digits = digits.split_once('C').map_or(digits, |(line, _)| line);
            digits.parse().ok().filter(|n| *n > 0)
        };
        let (start, end) = match fragment.split_once('-') {
            Some((a, b)) => (line(a)?, line(b)?),
            None => (line(fragment)?, line(fragment)?),
        };
        Some(Self {
            start: start.min(end),
            end: start.max(end),
        })
    }

    fn fragment(self) -> String {
        if self.start == self.end {
            format!("#L{}", self.start)
        } else {
            format!("#L{}-L{}", self.start, self.end)
        }
    }
}

/// What a link names inside one repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    Pull(u64),
    Issue(u64),
    /// A commit id as written (7 to 64 hex digits), lower-cased.
    Commit(String),
    /// A file at a ref; `reference` and `path` keep the link's percent-encoding.
    Blob {
        reference: String,
        path: String,
        lines: Option<Lines>,
    },
    /// A workflow run; its jobs' and attempts' pages preview the run.
    Run(u64),
    /// A release by its tag, percent-encoded as in the link.
    Release(String),
    Repository,
}

impl Resource {
    pub fn kind(&self) -> Kind {
        match self {
            Resource::Pull(_) => Kind::Pull,
            Resource::Issue(_) => Kind::Issue,
            Resource::Commit(_) => Kind::Commit,
            Resource::Blob { .. } => Kind::Blob,
            Resource::Run(_) => Kind::Run,
            Resource::Release(_) => Kind::Release,
            Resource::Repository => Kind::Repository,
        }
    }
}

/// One GitHub resource, as a link names it (owner and repository as written there).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Link {
    pub owner: String,
    pub repo: String,
    pub resource: Resource,
}

/// Whether `name` can be an owner or repository name (and so a path segment).
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().any(|c| c != '.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

fn is_sha(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn number(text: &str) -> Option<u64> {
    (!text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// A path segment that stays one segment: no `.`/`..`, nothing empty.
fn is_segment(segment: &str) -> bool {
    !segment.is_empty() && segment != "." && segment != ".." && !segment.contains(['?', '#'])
}

impl Link {
    /// The resource named by the groups of one of the [`Kind::pattern`]s, as the server
    /// hands them to the provider in `UnfurlRequest::captures`.
    pub fn from_captures(captures: &HashMap<String, String>) -> Option<Self> {
        let group = |name: &str| captures.get(name).map(String::as_str);
        let (owner, repo) = (group("owner")?, group("repo")?);
        if !is_name(owner) || !is_name(repo) {
            return None;
        }
        let resource = if let Some(n) = group("number") {
            Resource::Pull(number(n)?)
        } else if let Some(n) = group("issue") {
            Resource::Issue(number(n)?)
        } else if let Some(sha) = group("sha") {
            is_sha(sha).then(|| Resource::Commit(sha.to_ascii_lowercase()))?
        } else if let Some(reference) = group("ref") {
            let path = group("path")?;
            if !is_segment(reference) || !path.split('/').all(is_segment) {
                return None;
            }
            let line = |name: &str| group(name).and_then(|n| n.parse::<u32>().ok());
            let lines = match (line("start"), line("end")) {
                (Some(a), b) if a > 0 && b != Some(0) => {
                    let b = b.unwrap_or(a);
                    Some(Lines {
                        start: a.min(b),
                        end: a.max(b),
                    })
                }
                _ => None,
            };
            Resource::Blob {
                reference: reference.to_owned(),
                path: path.to_owned(),
                lines,
            }
        } else if let Some(id) = group("run") {
            Resource::Run(number(id)?)
        } else if let Some(tag) = group("tag") {
            is_segment(tag).then(|| Resource::Release(tag.to_owned()))?
        } else {
            Resource::Repository
        };
        Some(Self {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            resource,
        })
    }

    /// The resource of a page on any host: `http(s)://host/{owner}/{repo}/…` in any of the
    /// forms of [`Kind::pattern`]. Looser than the patterns on purpose: webhook payloads
    /// name pages of whatever host sent them.
    pub fn from_page(url: &Url) -> Option<Self> {
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return None;
        }
        let segments: Vec<&str> = url.path_segments()?.collect();
        let segments = match segments.as_slice() {
            [rest @ .., ""] => rest,
            all => all,
        };
        let [owner, repo, rest @ ..] = segments else {
            return None;
        };
        if !is_name(owner) || !is_name(repo) {
            return None;
        }
        let resource = match rest {
            [] => Resource::Repository,
            ["pull", _, "commits", sha, ..] if is_sha(sha) => {
                Resource::Commit(sha.to_ascii_lowercase())
            }
            ["pull", n, ..] => Resource::Pull(number(n)?),
            ["issues", n] => Resource::Issue(number(n)?),
            ["commit", sha, ..] if is_sha(sha) => Resource::Commit(sha.to_ascii_lowercase()),
            ["blob", reference, path @ ..]
                if is_segment(reference)
                    && !path.is_empty()
                    && path.iter().all(|s| is_segment(s)) =>
            {
                Resource::Blob {
                    reference: (*reference).to_owned(),
                    path: path.join("/"),
                    lines: url.fragment().and_then(Lines::from_fragment),
                }
            }
            ["actions", "runs", id, ..] => Resource::Run(number(id)?),
            ["releases", "tag", tag] if is_segment(tag) => Resource::Release((*tag).to_owned()),
            _ => return None,
        };
        Some(Self {
            owner: (*owner).to_owned(),
            repo: (*repo).to_owned(),
            resource,
        })
    }

    pub fn kind(&self) -> Kind {
        self.resource.kind()
    }

    /// `https://{web_host}/{owner}/{repo}` with owner and repository lower-cased: GitHub
    /// treats them case-insensitively, so `Octo/Hello` and `octo/hello` are one
    /// repository. `web_host` carries the port when it is not the default one.
    pub fn repository_canonical(&self, web_host: &str) -> String {
        format!(
            "https://{web_host}/{}/{}",
            self.owner.to_ascii_lowercase(),
            self.repo.to_ascii_lowercase()
        )
    }

    /// The one form of every link to this resource, under [`Link::repository_canonical`]:
    /// `/pull/{n}`, `/issues/{n}`, `/commit/{sha}`, `/blob/{ref}/{path}#L{a}-L{b}`,
    /// `/actions/runs/{id}`, `/releases/tag/{tag}`, or the repository itself.
    pub fn canonical(&self, web_host: &str) -> String {
        let repository = self.repository_canonical(web_host);
        match &self.resource {
            Resource::Pull(n) => format!("{repository}/pull/{n}"),
            Resource::Issue(n) => format!("{repository}/issues/{n}"),
            Resource::Commit(sha) => format!("{repository}/commit/{sha}"),
            Resource::Blob {
                reference,
                path,
                lines,
            } => format!(
                "{repository}/blob/{reference}/{path}{}",
                lines.map(Lines::fragment).unwrap_or_default()
            ),
            Resource::Run(id) => format!("{repository}/actions/runs/{id}"),
            Resource::Release(tag) => format!("{repository}/releases/tag/{tag}"),
            Resource::Repository => repository,
        }
    }

    /// The REST path of the repository, `/repos/{owner}/{repo}`.
    pub fn repository_api_path(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.repo)
    }

    /// `owner/repo` as the link spells it.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }
}

impl From<PullLink> for Link {
    fn from(pull: PullLink) -> Self {
        Self {
            owner: pull.owner,
            repo: pull.repo,
            resource: Resource::Pull(pull.number),
        }
    }
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

/// The canonical form ([`Link::canonical`]) of a GitHub page on its own host, or `None`
/// when `url` names no resource previewed ([`Link::from_page`]).
pub fn canonical_uri(url: &Url) -> Option<String> {
    Some(Link::from_page(url)?.canonical(&host_of(url)?))
}

/// `host` or `host:port` of `url`, as canonical forms carry it.
pub fn host_of(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
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
        assert_eq!(
            canonical_uri(&url("https://github.com/O/R/issues/2")).as_deref(),
            Some("https://github.com/o/r/issues/2")
        );
        assert_eq!(
            canonical_uri(&url("https://github.com/o/r/wiki/Home")),
            None
        );
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

    #[test]
    fn pages_of_every_kind_name_their_resource() {
        let link = |s: &str| Link::from_page(&url(s)).map(|l| l.resource);
        assert_eq!(
            link("https://ghe.example/o/r/issues/4/"),
            Some(Resource::Issue(4))
        );
        assert_eq!(
            link("https://ghe.example/o/r/commit/ABC1234"),
            Some(Resource::Commit("abc1234".into()))
        );
        assert_eq!(
            link("https://ghe.example/o/r/blob/main/a/b.rs#L3"),
            Some(Resource::Blob {
                reference: "main".into(),
                path: "a/b.rs".into(),
                lines: Some(Lines { start: 3, end: 3 })
            })
        );
        assert_eq!(
            link("https://ghe.example/o/r/actions/runs/5/job/6"),
            Some(Resource::Run(5))
        );
        assert_eq!(
            link("https://ghe.example/o/r/releases/tag/v1"),
            Some(Resource::Release("v1".into()))
        );
        assert_eq!(link("https://ghe.example/o/r"), Some(Resource::Repository));
        for s in [
            "https://ghe.example/o",
            "https://ghe.example/o/r/issues/x",
            "https://ghe.example/o/r/blob/main",
            "https://ghe.example/o/r/commit/xyz",
        ] {
            assert_eq!(link(s), None, "{s}");
        }
    }

    #[test]
    fn line_fragments_read_as_github_writes_them() {
        assert_eq!(Lines::from_fragment("L7"), Some(Lines { start: 7, end: 7 }));
        assert_eq!(
            Lines::from_fragment("L9C2-L3C1"),
            Some(Lines { start: 3, end: 9 })
        );
        assert_eq!(Lines::from_fragment("L0"), None);
        assert_eq!(Lines::from_fragment("readme"), None);
    }

    #[test]
    fn every_kinds_pattern_compiles_and_reads_its_samples() {
        for kind in Kind::ALL {
            let pattern = regex::Regex::new(&kind.pattern("github.com"))
                .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            for sample in kind.samples("github.com") {
                let captures = pattern
                    .captures(&sample)
                    .unwrap_or_else(|| panic!("{sample}"));
                let groups: HashMap<String, String> = pattern
                    .capture_names()
                    .flatten()
                    .filter_map(|n| Some((n.to_owned(), captures.name(n)?.as_str().to_owned())))
                    .collect();
                let link = Link::from_captures(&groups).unwrap_or_else(|| panic!("{sample}"));
                assert_eq!(link.kind(), kind, "{sample}");
                assert_eq!(Link::from_page(&url(&sample)), Some(link), "{sample}");
            }
        }
    }
}
