pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_core_tables;
mod m20261122_000002_create_flow_tables;
mod m20261122_000003_create_device_authorizations;
mod m20261122_000004_create_one_time_tokens;
mod m20261122_000005_create_second_factors;
mod m20261204_000006_sequenced_user_codes;
mod m20261207_000009_sign_up_sessions;
mod m20261207_000010_create_attempt_counters;
mod m20261207_000011_signing_key_lifecycle;
mod m20261207_000013_client_policies;
mod m20261208_000014_social_sign_in;

/// Runs the schema migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_core_tables::Migration),
            Box::new(m20261122_000002_create_flow_tables::Migration),
            Box::new(m20261122_000003_create_device_authorizations::Migration),
            Box::new(m20261122_000004_create_one_time_tokens::Migration),
            Box::new(m20261122_000005_create_second_factors::Migration),
            Box::new(m20261204_000006_sequenced_user_codes::Migration),
            Box::new(m20261207_000009_sign_up_sessions::Migration),
            Box::new(m20261207_000010_create_attempt_counters::Migration),
            Box::new(m20261207_000011_signing_key_lifecycle::Migration),
            Box::new(m20261207_000013_client_policies::Migration),
            Box::new(m20261208_000014_social_sign_in::Migration),
        ]
    }
}
