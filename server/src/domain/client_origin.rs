//! Where a client came from (admin, dynamic registration per RFC 7591, or a
//! client ID metadata document). Defined beside the table model, which stores
//! it through a sea-orm column type, and spoken here as a domain value.

pub use entities::clients::ClientOrigin;
