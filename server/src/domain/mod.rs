//! Domain values: parsed once at the edge, typed from there on. This module
//! is the ground floor of the crate: it imports nothing else from it, so
//! `config`, `store`, `oauth` and `login` can all speak these types.

pub mod address;
pub mod alg;
pub mod amr;
pub mod client_origin;
pub mod device;
pub mod grant_type;
pub mod ids;
pub mod resource;
pub mod return_to;
pub mod scope;
