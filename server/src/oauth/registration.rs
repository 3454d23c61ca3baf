//! Dynamic client registration (RFC 7591) and management (RFC 7592).
