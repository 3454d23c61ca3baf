//! What an upstream identity does to accounts here (module docs of
//! `social`), and the linked accounts a user manages: list, unlink, transfer,
//! and a password for an account that signs in only through upstreams.

use entities::{identity_transfers, linked_identities, users};

use super::{Failed, Refusal, UpstreamIdentity};
use crate::domain::ids::UserId;
use crate::error::{ApiError, Error};
use crate::login::email::Email;
use crate::login::session::SessionInfo;
use crate::state::AppState;
use crate::store;
use crate::store::identities::LinkError;
use crate::tokens::opaque;

/// How long an offered identity transfer waits for confirmation.
pub const TRANSFER_TTL: i64 = 600;

/// Where a finished round trip lands.
pub enum Landing {
    /// Sign this user in (found, linked by a verified address, or created).
    SignIn(users::Model),
    /// Linked to the signed-in user who asked.
    Linked,
    /// The upstream account belongs to another user; the asker may move it
    /// by confirming with this token.
    TransferOffered { token: String },
}

fn identity_row(
    identity: &UpstreamIdentity,
    user_id: &UserId,
    now: i64,
) -> linked_identities::Model {
    linked_identities::Model {
        id: opaque::new_id(),
        user_id: user_id.clone(),
        provider: identity.provider.clone(),
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        created_at: now,
        updated_at: now,
    }
}

pub async fn land(
    state: &AppState,
    identity: &UpstreamIdentity,
    link_user: Option<&UserId>,
    sso: bool,
) -> Result<Landing, Failed> {
    let now = state.now();
    let linked = store::identities::find(&state.db, &identity.provider, &identity.subject).await?;
    if let Some(asker) = link_user {
        return link(state, identity, asker, linked, now).await;
    }
    if let Some(found) = linked {
        store::identities::touch(&state.db, &found.id, identity.email.as_deref(), now).await?;
        let user = store::users::find(&state.db, &found.user_id)
            .await?
            .ok_or_else(|| Error::internal("identity without a user"))?;
        return Ok(Landing::SignIn(user));
    }
    let email = identity
        .email
        .as_deref()
        .and_then(Email::parse)
        .ok_or(Refusal::NoEmail)?;
    if !identity.email_verified {
        return Err(Refusal::UnverifiedEmail.into());
    }
    match store::users::find_with_password(&state.db, email.as_str()).await? {
        // Both sides vouch for the address: it is the same person.
        // Both sides vouch for the address: it is the same person. Not for
        // an organisation's SSO connection: an account that existed before
        // it is its owner's to connect, signed in (a connection must not
        // capture the accounts of its domain).
        Some((user, _)) if user.email_verified && !sso => {
            match store::identities::insert(&state.db, identity_row(identity, &user.id, now)).await
            {
                Ok(()) | Err(LinkError::Taken) => {}
                Err(LinkError::Other(e)) => return Err(e.into()),
            }
            // A parallel callback may have linked it: whoever holds it now
            // signs in. Nobody: the account has another identity of this
            // provider (the unique index on user and provider).
            let holder =
                store::identities::find(&state.db, &identity.provider, &identity.subject).await?;
            match holder {
                Some(h) if h.user_id == user.id => {
                    crate::login::social::notices::linked(state, &user, &identity.provider);
                    Ok(Landing::SignIn(user))
                }
                Some(_) => Err(Refusal::SignInFirst.into()),
                None => Err(Refusal::ProviderAlreadyLinked.into()),
            }
        }
        Some(_) => Err(Refusal::SignInFirst.into()),
        None => create(state, identity, &email, now).await,
    }
}

/// A new, verified account with the identity linked, in one transaction.
async fn create(
    state: &AppState,
    identity: &UpstreamIdentity,
    email: &Email,
    now: i64,
) -> Result<Landing, Failed> {
    let user = users::Model {
        id: UserId::from(opaque::new_id()),
        email: email.as_str().to_string(),
        name: identity
            .name
            .clone()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect(),
        email_verified: true,
        image: None,
        created_at: now,
        updated_at: now,
    };
    let row = identity_row(identity, &user.id, now);
    match store::identities::insert_user_with(&state.db, user.clone(), row).await {
        Ok(()) => Ok(Landing::SignIn(user)),
        // The address or the identity was taken meanwhile (a parallel
        // callback): the same decision again, on what is there now.
        Err(LinkError::Taken) => Err(Refusal::SignInFirst.into()),
        Err(LinkError::Other(e)) => Err(e.into()),
    }
}

async fn link(
    state: &AppState,
    identity: &UpstreamIdentity,
    asker: &UserId,
    linked: Option<linked_identities::Model>,
    now: i64,
) -> Result<Landing, Failed> {
    match linked {
        Some(found) if found.user_id == *asker => {
            store::identities::touch(&state.db, &found.id, identity.email.as_deref(), now).await?;
            Ok(Landing::Linked)
        }
        Some(found) => {
            let token = opaque::new_secret();
            let request = identity_transfers::Model {
                token_hash: opaque::hash_secret(&token),
                identity_id: found.id,
                from_user_id: found.user_id,
                to_user_id: asker.clone(),
                created_at: now,
                expires_at: now + TRANSFER_TTL,
            };
            store::identities::insert_transfer(&state.db, request).await?;
            Ok(Landing::TransferOffered { token })
        }
        None => {
            match store::identities::insert(&state.db, identity_row(identity, asker, now)).await {
                Ok(()) => Ok(Landing::Linked),
                Err(LinkError::Taken) => Err(Refusal::ProviderAlreadyLinked.into()),
                Err(LinkError::Other(e)) => Err(e.into()),
            }
        }
    }
}

/// Whether the session signed in recently enough to add or move a way in.
pub fn is_fresh(state: &AppState, info: &SessionInfo) -> bool {
    info.session.auth_time + state.settings.session.fresh_age >= state.now()
}

pub fn require_fresh(state: &AppState, info: &SessionInfo) -> Result<(), ApiError> {
    if is_fresh(state, info) {
        Ok(())
    } else {
        Err(ApiError::new(
            403,
            "SESSION_NOT_FRESH",
            "Sign in again to change how you sign in.",
        ))
    }
}

/// Unlinks a provider unless it is the last way in.
pub async fn unlink(state: &AppState, user_id: &UserId, provider: &str) -> Result<(), ApiError> {
    match store::identities::unlink(&state.db, user_id, provider).await? {
        Some(true) => Ok(()),
        Some(false) => Err(ApiError::new(
            400,
            "LAST_SIGN_IN_METHOD",
            "This is your only way to sign in: set a password or add a passkey first.",
        )),
        None => Err(ApiError::new(
            404,
            "ACCOUNT_NOT_FOUND",
            "No such connected account.",
        )),
    }
}

/// What an offered transfer moves, for its confirm page: the provider and
/// the other account's address, masked.
pub async fn describe_transfer(
    state: &AppState,
    token: &str,
    to: &UserId,
) -> Result<Option<(String, String)>, Error> {
    let Some(request) =
        store::identities::find_transfer(&state.db, &opaque::hash_secret(token), to, state.now())
            .await?
    else {
        return Ok(None);
    };
    let identity = store::identities::find_by_id(&state.db, &request.identity_id).await?;
    let owner = store::users::find(&state.db, &request.from_user_id).await?;
    Ok(identity
        .zip(owner)
        .map(|(i, o)| (i.provider, mask(&o.email))))
}

/// `a…e@example.com`: enough for its owner to recognise, not to harvest.
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().unwrap_or('…');
            format!("{first}…@{domain}")
        }
        None => "…".into(),
    }
}

/// Moves the identity of a confirmed transfer to `to`.
pub async fn confirm_transfer(state: &AppState, token: &str, to: &UserId) -> Result<(), ApiError> {
    let moved =
        store::identities::transfer(&state.db, &opaque::hash_secret(token), to, state.now())
            .await?;
    if let Some(request) = moved {
        let identity = store::identities::find_by_id(&state.db, &request.identity_id).await?;
        let from = store::users::find(&state.db, &request.from_user_id).await?;
        if let (Some(identity), Some(from)) = (identity, from) {
            crate::login::social::notices::moved_away(state, &from, &identity.provider);
        }
        Ok(())
    } else {
        Err(ApiError::new(
            400,
            "TRANSFER_NOT_POSSIBLE",
            "This transfer expired, was used, or would leave the other account without a way to sign in.",
        ))
    }
}

/// Sets the first password of an account that signs in only through
/// upstreams or passkeys.
pub async fn set_password(
    state: &AppState,
    user: &users::Model,
    password: &str,
) -> Result<(), ApiError> {
    crate::login::password::check_policy(password, &user.email)?;
    // Refused before the costly hash; the insert below still decides races.
    if let Some((_, Some(_))) = store::users::find_with_password(&state.db, &user.email).await? {
        return Err(already_set());
    }
    let hash = state.passwords.hash(password.to_string()).await?;
    if store::users::add_password(&state.db, &user.id, hash, state.now()).await? {
        Ok(())
    } else {
        Err(already_set())
    }
}

fn already_set() -> ApiError {
    ApiError::new(
        400,
        "PASSWORD_ALREADY_SET",
        "This account has a password; change it instead.",
    )
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn a_masked_address_keeps_its_first_letter_and_domain() {
        assert_eq!(mask("ada@example.com"), "a…@example.com");
        assert_eq!(mask("nonsense"), "…");
    }
}
