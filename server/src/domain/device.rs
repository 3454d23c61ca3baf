//! Device authorization values (RFC 8628).

/// Where a device authorization stands: pending, approved or denied
/// (RFC 8628 §3.3). Defined beside its table, whose column stores it.
pub use entities::device_authorizations::DeviceStatus;
