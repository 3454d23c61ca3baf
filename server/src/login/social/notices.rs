//! Mail to an account's owner when a way to sign in to it was added or taken
//! away by something other than their own settings page: a provider linked
//! by a matching verified address, or an identity moved to another account.

use entities::users;

use crate::mail::templates;
use crate::state::AppState;

fn provider_name(state: &AppState, id: &str) -> String {
    state
        .upstreams
        .providers
        .get(id)
        .map_or_else(|| id.to_string(), |p| p.name.clone())
}

/// A provider was linked to `user` because both vouched for the address.
pub fn linked(state: &AppState, user: &users::Model, provider: &str) {
    let name = provider_name(state, provider);
    let link = state.settings.endpoint("/");
    state
        .mailer
        .send(templates::identity_linked(&user.email, &name, &link));
}

/// An identity of `provider` moved from `user` to another account.
pub fn moved_away(state: &AppState, user: &users::Model, provider: &str) {
    let name = provider_name(state, provider);
    let link = state.settings.endpoint("/");
    state
        .mailer
        .send(templates::identity_moved(&user.email, &name, &link));
}
