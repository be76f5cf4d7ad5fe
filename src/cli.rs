//! The `wvs` command line. `main.rs` only parses and calls [`run`].

use std::{io::Read, sync::Arc};

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Parser, Subcommand};

use crate::{
    app,
    auth::principal::{Credential, Principal},
    clock::SystemClock,
    config::Config,
    graphql::scalars::parse_date,
    jobs::{self, Job},
    mail::outbox,
    settings::{self, SettingsUpdate},
    tokens::{self, create::CreateRequest, input::parse_scope_names},
    users::{self, create::NewUser},
};

/// WVS tokens: personal access tokens for the WVS platform.
#[derive(Parser, Debug)]
#[command(name = "wvs", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Migrate the database if needed, then serve HTTP.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The container-registry token server.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Run a background job now.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Show or change the instance's token policy.
    Settings {
        #[command(subcommand)]
        command: SettingsCommand,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
}

#[derive(Subcommand, Debug)]
enum RegistryCommand {
    /// Print the certificate the registry must trust (its `rootcertbundle`), generating the
    /// key on first use.
    Cert,
}

#[derive(Subcommand, Debug)]
enum JobsCommand {
    /// Run `expiring-tokens` or `expired-tokens` as if on --date (default: today, UTC),
    /// then send the emails it queued. Tokens already announced are skipped.
    Run {
        job: String,
        /// YYYY-MM-DD
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum SettingsCommand {
    /// Print the token policy.
    Show,
    /// Change the token policy (e.g. to re-enable tokens when no one can reach the API).
    Update(SettingsUpdateArgs),
}

#[derive(Args, Debug)]
struct SettingsUpdateArgs {
    /// The administrator the change is recorded under in the audit log.
    #[arg(long)]
    username: String,
    #[arg(long)]
    require_token_expiry: Option<bool>,
    /// A number of days, or `none` to remove the limit.
    #[arg(long)]
    token_max_lifetime_days: Option<String>,
    #[arg(long)]
    personal_access_tokens_disabled: Option<bool>,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user and print its id.
    Create(UserCreateArgs),
}

#[derive(Args, Debug)]
struct UserCreateArgs {
    #[arg(long)]
    username: String,
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: Option<String>,
    /// Make the user an administrator.
    #[arg(long)]
    admin: bool,
    /// Read the password from standard input (first line).
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a token for a user and print only the token.
    Create(TokenCreateArgs),
}

#[derive(Args, Debug)]
struct TokenCreateArgs {
    #[arg(long)]
    username: String,
    #[arg(long)]
    name: String,
    /// Comma-separated: api,read_api,read_user,read_repository,write_repository,read_registry,write_registry,sudo
    #[arg(long)]
    scopes: String,
    #[arg(long)]
    description: Option<String>,
    /// YYYY-MM-DD (UTC); the token stops working at 00:00 UTC that day.
    #[arg(long)]
    expires_at: Option<String>,
    /// An impersonation token (hidden from the user's own list).
    #[arg(long)]
    impersonation: bool,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Schema = cli.command {
        print!("{}", crate::graphql::sdl());
        return Ok(());
    }
    let config = Config::from_env()?;
    match cli.command {
        Command::Schema => Ok(()),
        Command::Migrate => {
            app::start(config, Arc::new(SystemClock)).await?;
            eprintln!("database is up to date");
            Ok(())
        }
        Command::Serve => {
            let listener = app::bind(&config).await?;
            let state = app::start(config, Arc::new(SystemClock)).await?;
            tracing::info!(
                listen = %listener.local_addr().context("reading the listen address")?,
                database = %state.config.database_url,
                "WVS tokens is serving"
            );
            app::serve(state, listener, app::shutdown_signal()).await
        }
        Command::User {
            command: UserCommand::Create(args),
        } => {
            let state = app::start(config, Arc::new(SystemClock)).await?;
            let password = if args.password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let user = users::create::create(
                &state,
                None,
                NewUser {
                    username: args.username,
                    email: args.email,
                    name: args.name,
                    password,
                    admin: args.admin,
                },
            )
            .await
            .map_err(anyhow::Error::from)?;
            println!("{}", user.id);
            Ok(())
        }
        Command::Jobs {
            command: JobsCommand::Run { job, date },
        } => {
            let job = Job::from_name(job.trim()).with_context(|| {
                format!("unknown job {job:?}: expected expiring-tokens or expired-tokens")
            })?;
            let date = match date.as_deref() {
                None => Utc::now().date_naive(),
                Some(text) => {
                    parse_date(text.trim()).context("--date: expected a date like 2027-01-31")?
                }
            };
            if job == Job::ExpiredTokens && date > Utc::now().date_naive() {
                bail!("--date: tokens cannot be announced as expired before that day has come");
            }
            let state = app::start(config, Arc::new(SystemClock)).await?;
            let notified = jobs::expiry::run(&state, job, date).await?;
            let delivery = outbox::deliver_due(&state).await?;
            println!(
                "{job} for {date}: {notified} tokens announced; {} emails sent, {} failed (kept for retry)",
                delivery.sent, delivery.failed
            );
            Ok(())
        }
        Command::Registry {
            command: RegistryCommand::Cert,
        } => {
            config.prepare_data_dir()?;
            let keys =
                crate::registry::keys::load_or_generate(&config.data_dir, &config.registry.issuer)?;
            print!("{}", keys.certificate_pem()?);
            Ok(())
        }
        Command::Settings { command } => {
            let state = app::start(config, Arc::new(SystemClock)).await?;
            let current = match command {
                SettingsCommand::Show => state.settings.get(&state.db, state.clock.now()).await?,
                SettingsCommand::Update(args) => update_settings(&state, args).await?,
            };
            println!("require_token_expiry = {}", current.require_token_expiry);
            match current.token_max_lifetime_days {
                Some(days) => println!("token_max_lifetime_days = {days}"),
                None => println!("token_max_lifetime_days = none"),
            }
            println!(
                "personal_access_tokens_disabled = {}",
                current.personal_access_tokens_disabled
            );
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create(args),
        } => {
            let state = app::start(config, Arc::new(SystemClock)).await?;
            let owner = users::find_by_username(&state.db, &args.username)
                .await?
                .with_context(|| format!("--username: no user named {:?}", args.username))?;
            let scopes = parse_scope_names(&args.scopes)?;
            let expires_at = match args.expires_at.as_deref() {
                None => None,
                Some(text) => match parse_date(text.trim()) {
                    Some(date) => Some(date),
                    None => bail!("--expires-at: expected a date like 2027-01-31"),
                },
            };
            let shell = Principal {
                user: Arc::new(owner.clone()),
                credential: Credential::Shell,
                ip: None,
            };
            let request = CreateRequest {
                name: args.name,
                description: args.description,
                expires_at,
                scopes: scopes.iter().collect(),
            };
            let created =
                tokens::create::create(&state, &shell, &owner, request, args.impersonation).await?;
            println!("{}", created.secret.expose());
            Ok(())
        }
    }
}

async fn update_settings(
    state: &crate::state::AppState,
    args: SettingsUpdateArgs,
) -> anyhow::Result<settings::InstanceSettings> {
    let admin = users::find_by_username(&state.db, &args.username)
        .await?
        .filter(|user| user.admin)
        .with_context(|| format!("--username: {:?} is not an administrator", args.username))?;
    let token_max_lifetime_days = match args.token_max_lifetime_days.as_deref().map(str::trim) {
        None => None,
        Some("none") => Some(None),
        Some(days) => Some(Some(days.parse::<i32>().ok().context(
            "--token-max-lifetime-days: expected a number of days or `none`",
        )?)),
    };
    let actor = Principal {
        user: Arc::new(admin),
        credential: Credential::Shell,
        ip: None,
    };
    let update = SettingsUpdate {
        require_token_expiry: args.require_token_expiry,
        token_max_lifetime_days,
        personal_access_tokens_disabled: args.personal_access_tokens_disabled,
    };
    Ok(settings::update(state, &actor, update).await?)
}

fn read_password() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut input)
        .context("--password-stdin: cannot read standard input")?;
    Ok(input.lines().next().unwrap_or_default().to_owned())
}
