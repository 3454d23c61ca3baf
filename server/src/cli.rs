//! The command line (CONTRACT §1). Every failure is one line on stderr and a
//! non-zero exit.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::clock::{Clock, SystemClock};
use crate::config::{LogFormat, Settings};
use crate::domain::ids::ClientId;
use crate::login::email::Email;
use crate::oauth::client::{Client, NewClient, build_admin_client};
use crate::state::{AppState, key_retention_secs};
use crate::store;

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "OAuth 2.0 / OpenID Connect authorisation server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run migrations, make sure signing keys exist, and serve HTTP (the default).
    Serve,
    /// Run database migrations and exit.
    Migrate,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the key that seals the secrets at rest.
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; prints its client_id and, for confidential clients, the secret (shown once).
    Create(ClientCreate),
    /// List registered clients.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a client, its tokens and consents.
    Delete {
        /// The client_id.
        id: String,
    },
}

#[derive(Args)]
struct ClientCreate {
    /// Name shown on the consent screen.
    #[arg(long)]
    name: String,
    /// Grant type (repeatable): authorization_code, refresh_token, client_credentials,
    /// urn:ietf:params:oauth:grant-type:device_code. Default: authorization_code + refresh_token.
    #[arg(long = "grant")]
    grants: Vec<String>,
    /// Redirect URI (repeatable).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Space-separated scopes the client may request.
    #[arg(long)]
    scope: Option<String>,
    /// A public client (no secret; PKCE required).
    #[arg(long)]
    public: bool,
    /// Skip the consent screen for this client.
    #[arg(long)]
    trusted: bool,
    /// Narrow the client to these resources (RFC 8707; repeatable; each one of PORTCULLIS_RESOURCES).
    #[arg(long = "resource")]
    resources: Vec<String>,
    /// Where RP-initiated logout may send the user back (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// ID token signing alg: RS256 (the default, as OIDC says), ES256 or EdDSA.
    /// ES256 signs about 30 times faster than RS256.
    #[arg(long = "id-token-alg")]
    id_token_alg: Option<String>,
    /// A protected resource: may introspect tokens issued to other clients
    /// (confidential clients only; others learn only about their own tokens).
    #[arg(long = "resource-server")]
    resource_server: bool,
    /// Let this confidential client use the code flow without PKCE (OAuth 2.1
    /// requires PKCE of every client otherwise): for legacy clients only.
    #[arg(long = "pkce-optional")]
    pkce_optional: bool,
    /// Print the RFC 7591 registration response as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user and their personal organisation.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        name: Option<String>,
        /// Mark the email as verified.
        #[arg(long)]
        verified: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create the next signing keys: published in the JWKS at once, signing
    /// after PORTCULLIS_KEYS__PUBLISH_DELAY; the keys they replace stay in the
    /// JWKS until every token they signed has expired.
    Rotate {
        /// Sign with the new keys at once (a compromised key): tokens they sign
        /// fail at relying parties whose cached key set is older.
        #[arg(long)]
        now: bool,
    },
    /// List signing keys with their state (next, active, retired) and times.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Re-seal every secret under PORTCULLIS_SECRETS__KEY (or the key file),
    /// opening them with it or PORTCULLIS_SECRETS__OLD_KEYS, in one transaction.
    RotateKek,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // Before anything may open a TLS connection: the outgoing clients carry
    // their provider themselves, this covers every other library (database
    // drivers, anything added later) that asks rustls for the default.
    crate::tls::install_default();
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let serving = matches!(cli.command, None | Some(Command::Serve));
    init_tracing(settings.log_format, serving);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    let line = e.to_string().replace('\n', " ");
    eprintln!("portcullis: error: {line}");
    ExitCode::FAILURE
}

fn init_tracing(format: LogFormat, serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match command {
        Command::Serve => serve(settings, clock).await,
        Command::Migrate => {
            let db = crate::db::connect(&settings.database_url).await?;
            crate::db::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Client(c) => client(c, settings, clock).await,
        Command::User(UserCommand::Create {
            email,
            password,
            name,
            verified,
        }) => {
            let state = AppState::build(settings, clock).await?;
            create_user(&state, &email, password, name.as_deref(), verified).await
        }
        Command::Keys(KeysCommand::Rotate { now }) => rotate_keys(&settings, clock, now).await,
        Command::Keys(KeysCommand::List { json }) => list_keys(&settings, clock, json).await,
        Command::Secrets(SecretsCommand::RotateKek) => {
            let (_, kek, sealed) = unlocked(&settings, clock.now()).await?;
            println!(
                "sealed {} value(s); every secret is now sealed under key id {}",
                sealed.values,
                kek.id()
            );
            Ok(())
        }
    }
}

async fn serve(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    let bind = settings.bind.clone();
    let state = AppState::build(settings, clock).await?;
    crate::housekeeping::spawn(state.clone());
    let listener = std::net::TcpListener::bind(&bind)
        .map_err(|e| anyhow::anyhow!("cannot listen on PORTCULLIS_BIND ({bind}): {e}"))?;
    tracing::info!(address = %bind, issuer = %state.settings.issuer, "serving");
    crate::http::server(state, listener, None)?.await?;
    Ok(())
}

/// `user create`: the user and their personal organisation, as JSON.
async fn create_user(
    state: &AppState,
    email: &str,
    password: String,
    name: Option<&str>,
    verified: bool,
) -> anyhow::Result<()> {
    let email =
        Email::parse(email).ok_or_else(|| anyhow::anyhow!("--email: not a valid email address"))?;
    crate::login::password::check_policy(&password, email.as_str())
        .map_err(|e| anyhow::anyhow!("--password: {}", e.message))?;
    let hash = state.passwords.hash(password).await?;
    let user = crate::login::email_password::create_user(
        state,
        None,
        &email,
        name.unwrap_or(""),
        Some(hash),
        verified,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let org = crate::account::organisations::ensure_personal(&state.db, &user, state.now()).await?;
    println!(
        "{}",
        json!({ "id": user.id, "email": user.email, "organization_id": org })
    );
    Ok(())
}

/// `keys rotate`: the next keys, signing after the publish delay or at once.
async fn rotate_keys(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    at_once: bool,
) -> anyhow::Result<()> {
    let (db, kek, _) = unlocked(settings, clock.now()).await?;
    let now = clock.now();
    let delay = if at_once {
        0
    } else {
        settings.keys.publish_delay
    };
    let created = crate::tokens::keys::rotate(&db, &kek, now, delay).await?;
    if at_once {
        store::keys::promote_due(&db, now, key_retention_secs(settings)).await?;
    }
    for k in created {
        let from = k.activates_at.map(timestamp).unwrap_or_default();
        println!("{} {} next, active from {from}", k.alg, k.kid);
    }
    Ok(())
}

/// `keys list`: every signing key with its state and times.
async fn list_keys(settings: &Settings, clock: Arc<dyn Clock>, json: bool) -> anyhow::Result<()> {
    let (db, kek, _) = unlocked(settings, clock.now()).await?;
    let now = clock.now();
    crate::tokens::keys::ensure_active(&db, &kek, now).await?;
    store::keys::promote_due(&db, now, key_retention_secs(settings)).await?;
    let keys = store::keys::all(&db).await?;
    if json {
        let list: Vec<_> = keys
            .iter()
            .map(|k| json!({ "kid": k.kid, "alg": k.alg, "status": k.status, "created_at": k.created_at, "activates_at": k.activates_at, "retired_at": k.retired_at, "not_after": k.not_after }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    for k in keys {
        let from = k
            .activates_at
            .map(|t| format!(" active from {}", timestamp(t)))
            .unwrap_or_default();
        let until = k
            .not_after
            .map(|t| format!(", published until {}", timestamp(t)))
            .unwrap_or_default();
        println!("{:<6} {} {:<7}{from}{until}", k.alg, k.kid, k.status);
    }
    Ok(())
}

/// A Unix time as RFC 3339, for people reading `keys` output.
fn timestamp(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// The migrated database, its secrets sealed under the current key (which
/// `secrets rotate-kek` is: the same pass every start makes).
async fn unlocked(
    settings: &Settings,
    now: i64,
) -> anyhow::Result<(
    sea_orm::DatabaseConnection,
    Arc<crate::secrets::Kek>,
    crate::store::sealing::Sealed,
)> {
    let db = connect_migrated(settings).await?;
    let (kek, sealed) = crate::secrets::key_source::unlock(settings, &db, now).await?;
    Ok((db, kek, sealed))
}

async fn connect_migrated(settings: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = crate::db::connect(&settings.database_url).await?;
    crate::db::migrate(&db).await?;
    Ok(db)
}

async fn client(
    command: ClientCommand,
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    let db = connect_migrated(&settings).await?;
    match command {
        ClientCommand::Create(c) => create_client(&db, &settings, c, clock.now()).await,
        ClientCommand::List { json } => list_clients(&db, json).await,
        ClientCommand::Delete { id } => {
            if store::clients::delete(&db, &ClientId::from(id.as_str())).await? {
                println!("deleted {id}");
                Ok(())
            } else {
                anyhow::bail!("no client with id {id:?}")
            }
        }
    }
}

/// `client create`: checked by the client rules (`oauth::client::rules`);
/// the secret is printed once.
async fn create_client(
    db: &sea_orm::DatabaseConnection,
    settings: &Settings,
    c: ClientCreate,
    now: i64,
) -> anyhow::Result<()> {
    let deployment = settings.resources();
    if let Some(r) = c
        .resources
        .iter()
        .find(|r| !deployment.iter().any(|d| same_resource(d, r)))
    {
        anyhow::bail!(
            "--resource {r:?} is not one of PORTCULLIS_RESOURCES ({})",
            deployment.join(", ")
        );
    }
    let registered = build_admin_client(
        NewClient {
            name: c.name,
            grant_types: c.grants,
            redirect_uris: c.redirect_uris,
            scope: c.scope,
            public: c.public,
            trusted: c.trusted,
            resources: c.resources,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            id_token_alg: c.id_token_alg,
            resource_server: c.resource_server,
            pkce_optional: c.pkce_optional,
        },
        now,
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    store::clients::insert(db, registered.row).await?;
    let client = registered.client;
    if c.json {
        println!(
            "{}",
            client.registration_response(registered.secret.as_deref())
        );
    } else {
        println!("client_id: {}", client.id);
        if let Some(s) = registered.secret {
            println!("client_secret: {s}");
            println!("(the secret is shown only now; it is stored hashed)");
        }
    }
    Ok(())
}

/// `client list`: one line per client, or their registration responses as JSON.
async fn list_clients(db: &sea_orm::DatabaseConnection, json: bool) -> anyhow::Result<()> {
    let clients = store::clients::list(db)
        .await?
        .into_iter()
        .map(Client::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    if json {
        let list: Vec<_> = clients
            .iter()
            .map(|c| c.registration_response(None))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    for c in clients {
        let kind = if c.is_public() {
            "public"
        } else {
            "confidential"
        };
        println!("{}  {kind:<12} {:<9} {}", c.id, c.origin, c.name);
    }
    Ok(())
}

fn same_resource(a: &str, b: &str) -> bool {
    matches!((url::Url::parse(a), url::Url::parse(b)), (Ok(x), Ok(y)) if x == y)
}
