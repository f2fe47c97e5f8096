//! The optional TOML settings file (`--config FILE` or `UNFURL_CONFIG`), read under the
//! environment: a variable set in both wins from the environment.
//!
//! Keys are the variable names without `UNFURL_`, in lower case (`listen`,
//! `public_url`, `fetch_allow`…). Values are strings, integers or booleans; a list is
//! joined with commas, as the variable would be written. An unknown key stops start-up
//! (a typo would otherwise be silently ignored), and so does a syntax error, reported by
//! line only: the offending line may hold a secret.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::variables::{ConfigError, FALLBACK_DATABASE_VARIABLE, VARIABLES, problem};

/// The variable naming the file when `--config` is not given.
pub const CONFIG_VARIABLE: &str = "UNFURL_CONFIG";

/// Settings variables gathered from the file and the environment, and what to warn about
/// once logging is up.
#[derive(Debug, Default)]
pub struct Gathered {
    pub vars: HashMap<String, String>,
    pub warnings: Vec<String>,
    /// The settings file read, if any.
    pub file: Option<PathBuf>,
    /// The variables whose value is the file's (the environment did not override them).
    pub from_file: BTreeSet<String>,
}

impl Gathered {
    /// `error` pointed at the file when the value it complains about came from there.
    pub fn attribute(&self, mut error: ConfigError) -> ConfigError {
        if self.from_file.contains(error.variable) {
            error.file.clone_from(&self.file);
        }
        error
    }
}

/// Prefixes of `UNFURL_*` variables that belong to the tests and benchmarks
/// (`UNFURL_TEST_POSTGRES_URL`, `UNFURL_BENCH_TOKEN`), not to the server.
const TOOLING_PREFIXES: [&str; 2] = ["UNFURL_TEST_", "UNFURL_BENCH_"];

/// The `UNFURL_*` variables to build [`super::Settings`] from: those of the settings file
/// (`file`, else the one `UNFURL_CONFIG` names, if any) overridden by `env`.
pub fn gather(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Gathered, ConfigError> {
    // An empty variable counts as unset, here as in `Settings`: it leaves the file's value.
    let env: HashMap<String, String> = env
        .into_iter()
        .filter(|(k, v)| {
            (k.starts_with("UNFURL_") || k == FALLBACK_DATABASE_VARIABLE) && !v.is_empty()
        })
        .collect();
    let mut gathered = Gathered::default();
    for name in env.keys() {
        // The test suite's and the benchmark's own variables are not typos.
        let tooling = TOOLING_PREFIXES.iter().any(|p| name.starts_with(p));
        let known = VARIABLES.contains(&name.as_str()) || name == FALLBACK_DATABASE_VARIABLE;
        if name != CONFIG_VARIABLE && !tooling && !known {
            gathered.warnings.push(format!(
                "{name} is set but is not a setting of this server; it is ignored"
            ));
        }
    }
    gathered.warnings.sort();
    let named = env
        .get(CONFIG_VARIABLE)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if let Some(path) = file.map(Path::to_path_buf).or(named) {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            problem(
                CONFIG_VARIABLE,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        gathered.vars = parse(&path, &text)?;
        if let Some(warning) = exposure_warning(&path, &gathered.vars) {
            gathered.warnings.push(warning);
        }
        gathered.from_file = gathered
            .vars
            .keys()
            .filter(|name| !env.contains_key(*name))
            .cloned()
            .collect();
        gathered.file = Some(path);
    }
    gathered.vars.extend(env);
    gathered.vars.remove(CONFIG_VARIABLE);
    Ok(gathered)
}

/// The file's keys as `UNFURL_*` variables.
fn parse(path: &Path, text: &str) -> Result<HashMap<String, String>, ConfigError> {
    let shown = path.display();
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        let at = line.map(|l| format!(" line {l}")).unwrap_or_default();
        problem(
            CONFIG_VARIABLE,
            format!("{shown}{at}: {}", e.message().trim()),
        )
    })?;
    table
        .into_iter()
        .map(|(key, value)| {
            let name = format!("UNFURL_{}", key.to_ascii_uppercase());
            if !VARIABLES.contains(&name.as_str()) || key != key.to_ascii_lowercase() {
                return Err(problem(
                    CONFIG_VARIABLE,
                    format!("{shown}: `{key}` is not a setting (keys are the UNFURL_* names without the prefix, in lower case)"),
                ));
            }
            let text = scalar(&value)
                .or_else(|| {
                    let items = value.as_array()?;
                    items
                        .iter()
                        .map(scalar)
                        .collect::<Option<Vec<_>>>()
                        .map(|items| items.join(","))
                })
                .ok_or_else(|| {
                    problem(
                        CONFIG_VARIABLE,
                        format!("{shown}: `{key}` must be a string, an integer, a boolean or a list of them"),
                    )
                })?;
            Ok((name, text))
        })
        .collect()
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Variables whose values must not be readable by other users, nor printed.
pub(super) fn is_secret(name: &str) -> bool {
    name.ends_with("_SECRET")
        || name.ends_with("_TOKEN")
        || name.contains("SECRET_KEY")
        || name == "UNFURL_DATABASE_URL"
}

#[cfg(unix)]
fn exposure_warning(path: &Path, vars: &HashMap<String, String>) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    let secrets: Vec<&str> = {
        let mut names: Vec<&str> = vars
            .keys()
            .map(String::as_str)
            .filter(|n| is_secret(n))
            .collect();
        names.sort_unstable();
        names
    };
    (mode & 0o077 != 0 && !secrets.is_empty()).then(|| {
        format!(
            "{} holds {} but other users may read it (mode {:o}); `chmod 600` it",
            path.display(),
            secrets.join(", "),
            mode & 0o777
        )
    })
}

#[cfg(not(unix))]
fn exposure_warning(_: &Path, _: &HashMap<String, String>) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::config::Settings;

    struct TempFile(PathBuf);

    impl TempFile {
        fn with(text: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "notion-unfurl-config-{}.toml",
                uuid::Uuid::new_v4()
            ));
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn error(file: &TempFile) -> String {
        match gather(Some(&file.0), Vec::new()) {
            Ok(_) => panic!("{} was accepted", file.0.display()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn file_settings_apply_and_the_environment_wins() {
        let file = TempFile::with(
            r#"
            listen = "127.0.0.1:9090"
            public_url = "https://unfurl.example.com"
            fetch_allow = ["10.0.0.0/8", "192.168.1.0/24"]
            fetch_timeout_secs = 4
            developer_name = "From the file"
            "#,
        );
        let gathered = gather(
            Some(&file.0),
            env(&[("UNFURL_DEVELOPER_NAME", "From the environment")]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(gathered.warnings.is_empty(), "{:?}", gathered.warnings);
        let settings = Settings::from_vars(gathered.vars).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.listen.port(), 9090);
        assert_eq!(settings.public_url.as_str(), "https://unfurl.example.com/");
        assert_eq!(settings.fetch_allow.len(), 2);
        assert_eq!(settings.fetch_timeout.as_secs(), 4);
        assert_eq!(settings.developer_name, "From the environment");
    }

    #[test]
    fn unfurl_config_names_the_file_when_no_flag_does() {
        let file = TempFile::with("listen = \"127.0.0.1:9191\"\n");
        let path = file.0.display().to_string();
        let gathered = gather(None, env(&[("UNFURL_CONFIG", path.as_str())]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            gathered.vars.get("UNFURL_LISTEN").map(String::as_str),
            Some("127.0.0.1:9191")
        );
        assert!(!gathered.vars.contains_key("UNFURL_CONFIG"));
    }

    #[test]
    fn unknown_keys_bad_values_and_missing_files_stop_start_up() {
        let typo = error(&TempFile::with("listn = \"127.0.0.1:1\"\n"));
        assert!(
            typo.starts_with("UNFURL_CONFIG: ") && typo.contains("`listn` is not a setting"),
            "{typo}"
        );
        let prefixed = error(&TempFile::with("UNFURL_LISTEN = \"127.0.0.1:1\"\n"));
        assert!(prefixed.contains("is not a setting"), "{prefixed}");
        let table = error(&TempFile::with("[listen]\nport = 1\n"));
        assert!(table.contains("`listen` must be a string"), "{table}");
        let missing = gather(Some(Path::new("/nonexistent/unfurl.toml")), Vec::new());
        assert!(
            matches!(&missing, Err(e) if e.to_string().contains("cannot read /nonexistent/unfurl.toml")),
            "{missing:?}"
        );
    }

    #[test]
    fn a_syntax_error_names_the_line_but_never_echoes_it() {
        let file = TempFile::with(
            "listen = \"127.0.0.1:1\"\nsecret_key = \"hunter2-hunter2-hunter2-hunter2-42\n",
        );
        let message = error(&file);
        assert!(message.contains(" line 2: "), "{message}");
        assert!(!message.contains("hunter2"), "secret echoed: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }

    #[test]
    fn a_bad_value_in_the_file_names_the_file_and_its_key() {
        let file = TempFile::with("secret_key_id = 300\nlisten = \"127.0.0.1:7\"\n");
        let gathered = gather(Some(&file.0), Vec::new()).unwrap_or_else(|e| panic!("{e}"));
        let message = match Settings::from_gathered(&gathered) {
            Ok(_) => panic!("secret_key_id = 300 was accepted"),
            Err(e) => e.to_string(),
        };
        assert_eq!(
            message,
            format!(
                "{}: `secret_key_id`: must be between 1 and 255, got 300",
                file.0.display()
            )
        );

        // The environment's value is the one in use, so the message names the variable.
        let overridden = gather(Some(&file.0), env(&[("UNFURL_SECRET_KEY_ID", "0")]))
            .unwrap_or_else(|e| panic!("{e}"));
        let message = match Settings::from_gathered(&overridden) {
            Ok(_) => panic!("UNFURL_SECRET_KEY_ID=0 was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(message.starts_with("UNFURL_SECRET_KEY_ID: "), "{message}");
    }

    #[test]
    fn database_url_passes_through_and_is_no_typo() {
        let gathered = gather(
            None,
            env(&[("DATABASE_URL", "postgres://h/d"), ("HOME", "/root")]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(gathered.warnings.is_empty(), "{:?}", gathered.warnings);
        assert_eq!(
            gathered.vars.get("DATABASE_URL").map(String::as_str),
            Some("postgres://h/d")
        );
        assert!(!gathered.vars.contains_key("HOME"));
    }

    #[test]
    fn an_empty_variable_leaves_the_files_value() {
        let file = TempFile::with("listen = \"127.0.0.1:7\"\n");
        let gathered =
            gather(Some(&file.0), env(&[("UNFURL_LISTEN", "")])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            gathered.vars.get("UNFURL_LISTEN").map(String::as_str),
            Some("127.0.0.1:7")
        );
    }

    #[test]
    fn unknown_variables_and_exposed_secrets_are_warned_about() {
        let gathered = gather(
            None,
            env(&[
                ("UNFURL_LISTN", "x"),
                ("UNFURL_LISTEN", "127.0.0.1:1"),
                ("UNFURL_TEST_POSTGRES_URL", "postgres://x"),
                ("UNFURL_BENCH_TOKEN", "t"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            gathered.warnings,
            ["UNFURL_LISTN is set but is not a setting of this server; it is ignored"]
        );

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = TempFile::with("secret_key = \"0123456789abcdef0123456789abcdef\"\n");
            let set_mode = |mode| {
                std::fs::set_permissions(&file.0, std::fs::Permissions::from_mode(mode))
                    .unwrap_or_else(|e| panic!("{e}"));
            };
            set_mode(0o644);
            let warned = gather(Some(&file.0), Vec::new()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(warned.warnings.len(), 1, "{:?}", warned.warnings);
            assert!(warned.warnings[0].contains("UNFURL_SECRET_KEY"));
            assert!(!warned.warnings[0].contains("0123456789abcdef"));
            set_mode(0o600);
            let quiet = gather(Some(&file.0), Vec::new()).unwrap_or_else(|e| panic!("{e}"));
            assert!(quiet.warnings.is_empty(), "{:?}", quiet.warnings);
        }
    }
}
