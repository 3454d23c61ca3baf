//! A person's profile as the first-party API shows it (CONTRACT §4, Better
//! Auth's `user`): what `http` needs of an account, without the table row.

use entities::users;

use crate::domain::ids::UserId;

/// An account's public profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Profile {
    pub fn of(user: &users::Model) -> Self {
        Profile {
            id: user.id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            email_verified: user.email_verified,
            image: user.image.clone(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}
