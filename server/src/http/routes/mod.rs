//! Route registration: each module registers its own.

pub mod api;
pub mod authorize;
pub mod device;
pub mod factors;
pub mod oauth;
pub mod ops;
pub mod registration;
pub mod screens;

use actix_web::web::ServiceConfig;

pub fn configure(cfg: &mut ServiceConfig) {
    ops::configure(cfg);
    oauth::configure(cfg);
    authorize::configure(cfg);
    device::configure(cfg);
    registration::configure(cfg);
    api::configure(cfg);
    screens::configure(cfg);
}
