//! `[service]`: how accounts link the upstream service of `account` credentials. Checked
//! in each file, and across a directory (declared once, by some file that uses it).

use std::collections::BTreeMap;
use std::path::Path;

use notion_unfurl_declarative::load::{load_dir, load_str};
use notion_unfurl_declarative::model::{ClientAuth, Credentials};
use notion_unfurl_declarative::{Mode, Problem};

const FILE: &str = r#"id = "ID"
name = "GitLab"
domain = "gitlab.example.com"
credentials = { kind = "account", service = "gitlab" }

[[match]]
pattern = '^https://gitlab\.example\.com/PATH/(?<id>[0-9]+)$'
samples = [{ url = "https://gitlab.example.com/PATH/1", captures = { id = "1" } }]
reject = ["https://gitlab.example.com.evil.org/PATH/1"]

[[request]]
name = "item"
base = "https://gitlab.example.com/api/v4"
path = "/items/{{ id }}"
headers = { Authorization = "Bearer {{ secret }}" }

[[attribute]]
id = "title"
section = "title"
value = "{{ item.title }}"
"#;

const SERVICE: &str = r#"
[service]
name = "Our GitLab"
base = "https://gitlab.example.com"
authorize_path = "/oauth/authorize"
token_path = "/oauth/token"
scopes = ["read_api"]
client_id_env = "GL_ID"
client_secret_env = "GL_SECRET"
"#;

fn file(id: &str, service: Option<&str>) -> String {
    let mut text = FILE.replace("ID", id).replace("PATH", id);
    if let Some(s) = service {
        text.push_str(s);
    }
    text
}

fn env() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("GL_ID".to_owned(), "app-id".to_owned()),
        ("GL_SECRET".to_owned(), "app-secret".to_owned()),
    ])
}

fn problems_of(text: &str, env: &BTreeMap<String, String>) -> Vec<String> {
    load_str(Path::new("t.toml"), text, env, Mode::Serve)
        .err()
        .unwrap_or_default()
        .iter()
        .map(Problem::to_string)
        .collect()
}

#[test]
fn a_declared_service_loads_with_its_urls_and_client() {
    let compiled = load_str(
        Path::new("t.toml"),
        &file("mrs", Some(SERVICE)),
        &env(),
        Mode::Serve,
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let service = compiled
        .service
        .as_ref()
        .unwrap_or_else(|| panic!("no service"));
    assert_eq!(service.id, "gitlab");
    assert_eq!(service.name, "Our GitLab");
    assert_eq!(
        service.authorize_url.as_str(),
        "https://gitlab.example.com/oauth/authorize"
    );
    assert_eq!(
        service.token_url.as_str(),
        "https://gitlab.example.com/oauth/token"
    );
    assert_eq!(service.scopes, ["read_api"]);
    assert_eq!(service.client_id, "app-id");
    assert_eq!(service.client_secret.expose(), "app-secret");
    assert_eq!(service.client_auth, ClientAuth::Basic);
    assert_eq!(service.revoke_url, None);
    let revoking = load_str(
        Path::new("t.toml"),
        &file(
            "mrs",
            Some(&format!("{SERVICE}revoke_path = \"/oauth/revoke\"\n")),
        ),
        &env(),
        Mode::Serve,
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(
        revoking
            .service
            .and_then(|s| s.revoke_url)
            .map(String::from),
        Some("https://gitlab.example.com/oauth/revoke".to_owned())
    );
    // The file's own error messages name the service as declared.
    assert!(
        matches!(&compiled.credentials, Credentials::Account { display, .. } if display == "Our GitLab")
    );
    // Its secret never shows in Debug output.
    assert!(!format!("{compiled:?}").contains("app-secret"));
}

#[test]
fn a_careless_service_is_refused_with_the_line_and_the_fix() {
    // No client variables at start: both named, each on its own line.
    let found = problems_of(&file("mrs", Some(SERVICE)), &BTreeMap::new());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("t.toml:28: environment variable GL_ID is not set"),
        "{found:?}"
    );
    assert!(found[1].contains("GL_SECRET is not set"), "{found:?}");
    // Plain http off this machine: codes and tokens would travel in the clear.
    let http = file(
        "mrs",
        Some(&SERVICE.replace("https://gitlab", "http://gitlab")),
    );
    assert!(problems_of(&http, &env())[0].contains("is plain http: use https"));
    // A path that leaves the base, or carries a query.
    let away = file(
        "mrs",
        Some(&SERVICE.replace("\"/oauth/token\"", "\"https://evil.example/token\"")),
    );
    assert!(
        problems_of(&away, &env())[0].contains("token_path"),
        "{:?}",
        problems_of(&away, &env())
    );
    // [service] without account credentials, and for GitHub (linked by sign-in).
    let secret = file("mrs", Some(SERVICE)).replace(
        r#"credentials = { kind = "account", service = "gitlab" }"#,
        r#"credentials = { kind = "secret", env = "GL_ID" }"#,
    );
    assert!(problems_of(&secret, &env())[0].contains("[service] declares how accounts link"));
    let github = file("mrs", Some(SERVICE)).replace("service = \"gitlab\"", "service = \"github\"");
    assert!(problems_of(&github, &env())[0].contains("linked by the server's own sign-in"));
    // Client authentication is Basic or the form body, nothing else.
    let auth = file("mrs", Some(&format!("{SERVICE}client_auth = \"jwt\"\n")));
    let found = problems_of(&auth, &env());
    assert!(
        found[0].starts_with("t.toml:30: client_auth \"jwt\": write \"basic\""),
        "{found:?}"
    );
    // Revocation goes over TLS only, even to a test double on this machine.
    let local = file(
        "mrs",
        Some(&format!(
            "{}revoke_path = \"/oauth/revoke\"\n",
            SERVICE.replace("https://gitlab.example.com", "http://127.0.0.1:9")
        )),
    );
    let found = problems_of(&local, &env());
    assert!(
        found[0].contains("revoke_path needs an https base"),
        "{found:?}"
    );
    // Playback (`providers test`) needs no client secrets.
    assert!(
        load_str(
            Path::new("t.toml"),
            &file("mrs", Some(SERVICE)),
            &BTreeMap::new(),
            Mode::Playback
        )
        .is_ok()
    );
}

/// The problems of loading `dir`, one line each; none when it loads.
fn dir_problems(dir: &Path) -> Vec<String> {
    load_dir(dir, &env(), Mode::Serve)
        .err()
        .unwrap_or_default()
        .iter()
        .map(Problem::to_string)
        .collect()
}

/// A fresh directory under the system's temporary one, removed when dropped.
struct Dir(std::path::PathBuf);

impl Dir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir_with(files: &[(&str, String)]) -> Dir {
    let path = std::env::temp_dir().join(format!(
        "unfurl-services-{}-{:016x}",
        std::process::id(),
        rand_u64()
    ));
    std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{e}"));
    for (name, text) in files {
        std::fs::write(path.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    Dir(path)
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[test]
fn across_a_directory_a_service_is_declared_once_and_shared() {
    // One file declares it, another names it: both load, both say "Our GitLab".
    let dir = dir_with(&[
        ("a.toml", file("mrs", Some(SERVICE))),
        ("b.toml", file("issues", None)),
    ]);
    let loaded = load_dir(dir.path(), &env(), Mode::Serve).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(loaded.len(), 2);
    for c in &loaded {
        assert!(
            matches!(&c.credentials, Credentials::Account { display, .. } if display == "Our GitLab"),
            "{}",
            c.id
        );
    }
    let services = notion_unfurl_declarative::load::service::services(&loaded);
    assert_eq!(services.len(), 1);

    // Nobody declares it: the account could never link, so the load says so.
    let dir = dir_with(&[("b.toml", file("issues", None))]);
    let found = dir_problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("b.toml:4: service \"gitlab\" is not declared: add a [service] table (its OAuth URLs and client variables) to one of the files that use it"), "{found:?}");

    // Declared twice the same way is fine; two different ways is not.
    let same = dir_with(&[
        ("a.toml", file("mrs", Some(SERVICE))),
        ("b.toml", file("issues", Some(SERVICE))),
    ]);
    assert!(load_dir(same.path(), &env(), Mode::Serve).is_ok());
    let other = dir_with(&[
        ("a.toml", file("mrs", Some(SERVICE))),
        (
            "b.toml",
            file("issues", Some(&SERVICE.replace("read_api", "api"))),
        ),
    ]);
    let found = dir_problems(other.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("b.toml:22: service \"gitlab\" is also declared in"),
        "{found:?}"
    );
    assert!(
        found[0].contains("a.toml:22 with other values: declare it once"),
        "{found:?}"
    );
}

#[test]
fn a_provider_written_in_yaml_is_named_not_skipped() {
    let dir = dir_with(&[
        ("a.toml", file("mrs", Some(SERVICE))),
        ("b.yaml", "id: tickets\n".to_owned()),
        ("ticket-42.json", "{}".to_owned()),
    ]);
    let found = dir_problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("b.yaml:1: provider files are TOML"),
        "{found:?}"
    );
    assert!(found[0].contains("rewrite it as b.toml"), "{found:?}");
}
