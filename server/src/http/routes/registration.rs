//! RFC 7591 / RFC 7592 routes.

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
