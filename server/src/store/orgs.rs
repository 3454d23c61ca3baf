//! `organizations` and `memberships`.

use entities::{memberships, organizations};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionSession,
    TransactionTrait,
};

use super::is_unique_violation;
use crate::domain::ids::{OrgId, UserId};
use crate::error::Error;

/// The organisation of the user's oldest membership.
pub async fn first_membership(
    db: &impl ConnectionTrait,
    user_id: &UserId,
) -> Result<Option<OrgId>, Error> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .order_by_asc(memberships::Column::CreatedAt)
        .one(db)
        .await?
        .map(|m| m.organization_id))
}

/// Creates the user's personal organisation, under the new `id`, with them as
/// owner. A concurrent sign-in may have created it first (unique
/// `personal_owner_id`): then that one is returned.
pub async fn create_personal(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: OrgId,
    user_id: &UserId,
    name: &str,
    now: i64,
) -> Result<OrgId, Error> {
    let org = organizations::Model {
        id: id.clone(),
        name: name.to_string(),
        slug: format!("personal-{id}"),
        personal_owner_id: Some(user_id.clone()),
        created_at: now,
    };
    let membership = memberships::Model {
        organization_id: id.clone(),
        user_id: user_id.clone(),
        role: "owner".to_string(),
        created_at: now,
    };
    let txn = db.begin().await?;
    let inserted = super::insert(&txn, org).await;
    match inserted {
        Ok(_) => {
            super::insert(&txn, membership).await?;
            txn.commit().await?;
            Ok(id)
        }
        Err(e) if is_unique_violation(&e) => {
            txn.rollback().await?;
            let existing = organizations::Entity::find()
                .filter(organizations::Column::PersonalOwnerId.eq(user_id))
                .one(db)
                .await?
                .ok_or_else(|| Error::internal("personal organisation vanished"))?;
            Ok(existing.id)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: &OrgId,
) -> Result<Option<organizations::Model>, Error> {
    Ok(super::unique(db, organizations::Entity::find_by_id(id.clone())).await?)
}

/// The role `user_id` holds in `org`, if a member.
pub async fn role_of(
    db: &impl ConnectionTrait,
    org: &OrgId,
    user_id: &UserId,
) -> Result<Option<String>, Error> {
    Ok(super::unique(
        db,
        memberships::Entity::find()
            .filter(memberships::Column::OrganizationId.eq(org))
            .filter(memberships::Column::UserId.eq(user_id)),
    )
    .await?
    .map(|m| m.role))
}
