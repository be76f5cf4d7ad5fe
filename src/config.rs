//! Typed configuration read from `WVS_*` environment variables. A bad value is an error
//! naming the variable; secrets are held in redacting wrappers.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use chrono::NaiveTime;

use crate::{auth::throttle::Limits, tokens::secret::SecretKey};

/// Everything the service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: DatabaseUrl,
    pub data_dir: PathBuf,
    pub secret: SecretSource,
    /// Keys used before a key rotation, still accepted for tokens digested with them
    /// (`WVS_PREVIOUS_SECRET_KEYS` or `WVS_PREVIOUS_SECRET_KEYS_FILE`; never `Generated`).
    pub previous_secrets: Option<SecretSource>,
    pub external_url: String,
    /// Where emails go: an SMTP server, or `.eml` files under `<data dir>/mail/`.
    pub mail: MailConfig,
    /// Whether this process runs the scheduler and the mail worker.
    pub jobs_enabled: bool,
    /// When (UTC) the expiring-tokens check runs each day.
    pub expiring_check_at: NaiveTime,
    /// When (UTC) the expired-tokens check runs each day.
    pub expired_check_at: NaiveTime,
    /// Brute-force protection for Git's (and the registry's) Basic auth.
    pub git_auth_limits: Limits,
    /// The container-registry token server.
    pub registry: RegistryConfig,
    /// Whether verified tokens are cached in memory (`WVS_AUTH_CACHE`).
    pub auth_cache: bool,
    /// How the token cache hears of changes made by other processes.
    pub auth_feed: AuthFeed,
    /// How long a web sign-in lasts (`WVS_SESSION_LIFETIME_HOURS`).
    pub session_lifetime: chrono::Duration,
    /// Failed web sign-ins tolerated per address (`WVS_SIGN_IN_*`).
    pub sign_in_limits: Limits,
}

/// What the registry expects in its tokens (its `auth: token:` block).
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// The `issuer` the registry is configured with.
    pub issuer: String,
    /// The `service` the registry is configured with.
    pub service: String,
    /// How long a registry token is valid.
    pub token_seconds: i64,
}

/// Email delivery settings.
#[derive(Clone)]
pub struct MailConfig {
    /// `smtp://`, `smtps://` URL (credentials allowed); `None` writes files instead.
    pub smtp_url: Option<String>,
    /// The sender, e.g. `WVS <noreply@example.com>`.
    pub from: String,
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[REDACTED]"))
            .field("from", &self.from)
            .finish()
    }
}

/// Where the secret key comes from.
#[derive(Clone)]
pub enum SecretSource {
    Inline(String),
    File(PathBuf),
    /// `<data dir>/secret.key`, generated on first start.
    Generated,
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Inline(_) => f.write_str("Inline([REDACTED])"),
            SecretSource::File(path) => write!(f, "File({})", path.display()),
            SecretSource::Generated => f.write_str("Generated"),
        }
    }
}

/// A database URL whose `Display` hides any password it carries.
#[derive(Clone)]
pub struct DatabaseUrl(String);

/// How the token cache follows the `auth_changes` feed. Not read from the environment: the
/// one-second bound on other processes depends on these values, so only tests change them
/// (to prove that each path carries changes on its own).
#[derive(Debug, Clone, Copy)]
pub struct AuthFeed {
    /// How often the feed is read regardless of notifications: the fallback that keeps the
    /// bound when a notification is lost or the notification connection is down.
    pub poll_every: std::time::Duration,
    /// Whether, on PostgreSQL, a `LISTEN` connection wakes the reader as soon as another
    /// process commits a change.
    pub notifications: bool,
}

impl Default for AuthFeed {
    fn default() -> Self {
        AuthFeed {
            poll_every: std::time::Duration::from_millis(250),
            notifications: true,
        }
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let raw = raw.trim();
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|scheme| raw.starts_with(scheme)) {
            bail!("WVS_DATABASE_URL: expected a sqlite: or postgres:// URL");
        }
        Ok(DatabaseUrl(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// The file of a SQLite URL (`sqlite://path?opts` or `sqlite:path`), if it names one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.0.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // postgres://user:password@host/db → postgres://user:***@host/db
        match (self.0.find("://"), self.0.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let userinfo = &self.0[scheme_end + 3..at];
                match userinfo.find(':') {
                    Some(colon) => write!(
                        f,
                        "{}{}:***{}",
                        &self.0[..scheme_end + 3],
                        &userinfo[..colon],
                        &self.0[at..]
                    ),
                    None => f.write_str(&self.0),
                }
            }
            _ => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> anyhow::Result<Config> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let listen: SocketAddr = get("WVS_LISTEN")
            .as_deref()
            .unwrap_or("127.0.0.1:8080")
            .trim()
            .parse()
            .context("WVS_LISTEN: expected an address such as 127.0.0.1:8080")?;
        let data_dir = PathBuf::from(get("WVS_DATA_DIR").unwrap_or_else(|| "wvs-data".into()));
        let database_url = match get("WVS_DATABASE_URL") {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => DatabaseUrl::parse(&format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("wvs.db").display()
            ))?,
        };
        let secret = match (get("WVS_SECRET_KEY"), get("WVS_SECRET_KEY_FILE")) {
            (Some(_), Some(_)) => {
                bail!("WVS_SECRET_KEY: set either WVS_SECRET_KEY or WVS_SECRET_KEY_FILE, not both")
            }
            (Some(inline), None) => SecretSource::Inline(inline),
            (None, Some(file)) => SecretSource::File(PathBuf::from(file)),
            (None, None) => SecretSource::Generated,
        };
        let previous_secrets = match (
            get("WVS_PREVIOUS_SECRET_KEYS"),
            get("WVS_PREVIOUS_SECRET_KEYS_FILE"),
        ) {
            (Some(_), Some(_)) => bail!(
                "WVS_PREVIOUS_SECRET_KEYS: set either WVS_PREVIOUS_SECRET_KEYS or WVS_PREVIOUS_SECRET_KEYS_FILE, not both"
            ),
            (Some(inline), None) => Some(SecretSource::Inline(inline)),
            (None, Some(file)) => Some(SecretSource::File(PathBuf::from(file))),
            (None, None) => None,
        };
        let external_url = get("WVS_EXTERNAL_URL")
            .map(|url| url.trim().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{listen}"));
        if !(external_url.starts_with("http://") || external_url.starts_with("https://")) {
            bail!("WVS_EXTERNAL_URL: expected an http:// or https:// URL");
        }
        let smtp_url = match get("WVS_SMTP_URL") {
            None => None,
            Some(url) => {
                let url = url.trim().to_owned();
                if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                    bail!("WVS_SMTP_URL: expected an smtp:// or smtps:// URL");
                }
                Some(url)
            }
        };
        let from = get("WVS_MAIL_FROM").unwrap_or_else(|| "WVS <noreply@localhost>".into());
        if from.trim().parse::<lettre::message::Mailbox>().is_err() {
            bail!("WVS_MAIL_FROM: expected an address such as `WVS <noreply@example.com>`");
        }
        let jobs_enabled = match get("WVS_JOBS").as_deref().map(str::trim) {
            None | Some("on") => true,
            Some("off") => false,
            Some(_) => bail!("WVS_JOBS: expected on or off"),
        };
        let time = |name: &str, default: &str| -> anyhow::Result<NaiveTime> {
            let text = get(name).unwrap_or_else(|| default.to_owned());
            NaiveTime::parse_from_str(text.trim(), "%H:%M")
                .with_context(|| format!("{name}: expected a UTC time such as {default}"))
        };
        let number = |name: &str, default: u32| -> anyhow::Result<u32> {
            match get(name) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .with_context(|| format!("{name}: expected a whole number of at least 1")),
            }
        };
        let git_auth_limits = Limits {
            max_failures: number("WVS_GIT_AUTH_MAX_FAILURES", 10)?,
            window: chrono::Duration::seconds(number("WVS_GIT_AUTH_WINDOW_SECONDS", 60)?.into()),
            cooldown: chrono::Duration::seconds(
                number("WVS_GIT_AUTH_COOLDOWN_SECONDS", 300)?.into(),
            ),
        };
        let sign_in_limits = Limits {
            max_failures: number("WVS_SIGN_IN_MAX_FAILURES", 10)?,
            window: chrono::Duration::seconds(number("WVS_SIGN_IN_WINDOW_SECONDS", 60)?.into()),
            cooldown: chrono::Duration::seconds(
                number("WVS_SIGN_IN_COOLDOWN_SECONDS", 300)?.into(),
            ),
        };
        Ok(Config {
            listen,
            database_url,
            data_dir,
            secret,
            previous_secrets,
            external_url,
            mail: MailConfig {
                smtp_url,
                from: from.trim().to_owned(),
            },
            jobs_enabled,
            expiring_check_at: time("WVS_EXPIRING_CHECK_AT", "01:00")?,
            expired_check_at: time("WVS_EXPIRED_CHECK_AT", "02:00")?,
            git_auth_limits,
            registry: RegistryConfig {
                issuer: get("WVS_REGISTRY_ISSUER")
                    .unwrap_or_else(|| "wvs".into())
                    .trim()
                    .to_owned(),
                service: get("WVS_REGISTRY_SERVICE")
                    .unwrap_or_else(|| "container_registry".into())
                    .trim()
                    .to_owned(),
                token_seconds: number("WVS_REGISTRY_TOKEN_SECONDS", 300)?.into(),
            },
            auth_cache: match get("WVS_AUTH_CACHE").as_deref().map(str::trim) {
                None | Some("on") => true,
                Some("off") => false,
                Some(_) => bail!("WVS_AUTH_CACHE: expected on or off"),
            },
            auth_feed: AuthFeed::default(),
            session_lifetime: chrono::Duration::hours(
                number("WVS_SESSION_LIFETIME_HOURS", 168)?.into(),
            ),
            sign_in_limits,
        })
    }

    /// Creates the data dir (and the SQLite file's folder) if needed, checking it is writable.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        create_writable_dir(&self.data_dir).with_context(|| {
            format!(
                "WVS_DATA_DIR: cannot use {} as the data directory",
                self.data_dir.display()
            )
        })?;
        if let Some(parent) = self
            .database_url
            .sqlite_path()
            .as_deref()
            .and_then(Path::parent)
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).with_context(|| {
                format!(
                    "WVS_DATABASE_URL: cannot create the folder {}",
                    parent.display()
                )
            })?;
        }
        Ok(())
    }

    /// Loads the secret key from its source, generating it into the data dir on first start.
    pub fn load_secret_key(&self) -> anyhow::Result<SecretKey> {
        let material = match &self.secret {
            SecretSource::Inline(value) => value.trim().as_bytes().to_vec(),
            SecretSource::File(path) => read_key_file(path)
                .with_context(|| format!("WVS_SECRET_KEY_FILE: cannot read {}", path.display()))?,
            SecretSource::Generated => {
                let path = self.data_dir.join("secret.key");
                if !path.exists() {
                    write_new_key(&path).with_context(|| {
                        format!(
                            "WVS_DATA_DIR: cannot write the secret key to {}",
                            path.display()
                        )
                    })?;
                }
                read_key_file(&path).with_context(|| {
                    format!(
                        "WVS_DATA_DIR: cannot read the secret key {}",
                        path.display()
                    )
                })?
            }
        };
        if material.len() < 32 {
            let variable = match self.secret {
                SecretSource::File(_) => "WVS_SECRET_KEY_FILE",
                SecretSource::Inline(_) => "WVS_SECRET_KEY",
                SecretSource::Generated => "WVS_DATA_DIR",
            };
            bail!("{variable}: the secret key must be at least 32 bytes");
        }
        Ok(SecretKey::new(material))
    }
}

impl Config {
    /// The keys of earlier key rotations: comma- or newline-separated, each at least 32
    /// bytes, written as the current key is (the text of a former `secret.key` works).
    pub fn load_previous_keys(&self) -> anyhow::Result<Vec<SecretKey>> {
        let (variable, text) = match &self.previous_secrets {
            None | Some(SecretSource::Generated) => return Ok(Vec::new()),
            Some(SecretSource::Inline(text)) => ("WVS_PREVIOUS_SECRET_KEYS", text.clone()),
            Some(SecretSource::File(path)) => (
                "WVS_PREVIOUS_SECRET_KEYS_FILE",
                std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "WVS_PREVIOUS_SECRET_KEYS_FILE: cannot read {}",
                        path.display()
                    )
                })?,
            ),
        };
        text.split([',', '\n'])
            .map(str::trim)
            .filter(|key| !key.is_empty() && !key.starts_with('#'))
            .map(|key| {
                if key.len() < 32 {
                    bail!("{variable}: every previous key must be at least 32 bytes");
                }
                Ok(SecretKey::new(key.as_bytes().to_vec()))
            })
            .collect()
    }
}

fn create_writable_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)?;
    Ok(())
}

fn read_key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.trim().as_bytes().to_vec())
}

fn write_new_key(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(hex.as_bytes())?;
    file.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_use_embedded_sqlite_in_the_data_dir() {
        let config = config(&[]).expect("defaults");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.database_url.expose(),
            "sqlite://wvs-data/wvs.db?mode=rwc"
        );
        assert_eq!(
            config.database_url.sqlite_path(),
            Some(PathBuf::from("wvs-data/wvs.db"))
        );
        assert_eq!(config.external_url, "http://127.0.0.1:8080");
        assert_eq!(config.mail.smtp_url, None);
        assert!(config.jobs_enabled);
        assert_eq!(config.expiring_check_at.to_string(), "01:00:00");
        assert_eq!(config.expired_check_at.to_string(), "02:00:00");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("WVS_LISTEN", "nope"),
            ("WVS_DATABASE_URL", "mysql://x"),
            ("WVS_EXTERNAL_URL", "ftp://x"),
            ("WVS_SMTP_URL", "http://mail"),
            ("WVS_MAIL_FROM", "not an address"),
            ("WVS_JOBS", "maybe"),
            ("WVS_EXPIRING_CHECK_AT", "25:00"),
            ("WVS_SESSION_LIFETIME_HOURS", "0"),
            ("WVS_SIGN_IN_MAX_FAILURES", "-1"),
        ] {
            let error = config(&[(name, value)]).expect_err(name);
            assert!(format!("{error:#}").starts_with(name), "{error:#}");
        }
    }

    #[test]
    fn database_passwords_are_hidden_when_displayed() {
        let url = DatabaseUrl::parse("postgres://wvs:hunter2@db:5432/wvs").expect("url");
        assert_eq!(url.to_string(), "postgres://wvs:***@db:5432/wvs");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn previous_keys_are_read_from_a_list_or_a_file_and_checked() {
        let old = "a".repeat(32);
        let other = "b".repeat(40);
        let listed =
            config(&[("WVS_PREVIOUS_SECRET_KEYS", &format!("{old}, {other}"))]).expect("config");
        assert_eq!(listed.load_previous_keys().expect("keys").len(), 2);
        assert!(!format!("{listed:?}").contains(&old), "{listed:?}");

        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("previous.keys");
        std::fs::write(&file, format!("# rotated 2027-01\n{old}\n\n{other}\n")).expect("write");
        let from_file = config(&[(
            "WVS_PREVIOUS_SECRET_KEYS_FILE",
            file.to_str().expect("path"),
        )])
        .expect("config");
        assert_eq!(from_file.load_previous_keys().expect("keys").len(), 2);
        assert!(
            config(&[])
                .expect("config")
                .load_previous_keys()
                .expect("none")
                .is_empty()
        );

        let short = config(&[("WVS_PREVIOUS_SECRET_KEYS", "too short")]).expect("config");
        let error = short.load_previous_keys().expect_err("short key");
        assert!(
            format!("{error:#}").starts_with("WVS_PREVIOUS_SECRET_KEYS:"),
            "{error:#}"
        );
        let both = config(&[
            ("WVS_PREVIOUS_SECRET_KEYS", &old),
            ("WVS_PREVIOUS_SECRET_KEYS_FILE", "/x"),
        ]);
        assert!(both.is_err());
        let missing =
            config(&[("WVS_PREVIOUS_SECRET_KEYS_FILE", "/nonexistent/keys")]).expect("config");
        let error = missing.load_previous_keys().expect_err("missing file");
        assert!(format!("{error:#}").starts_with("WVS_PREVIOUS_SECRET_KEYS_FILE:"));
    }
}
