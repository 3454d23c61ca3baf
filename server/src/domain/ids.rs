//! Identifiers as types: a `UserId` cannot be passed where a `ClientId` is
//! expected. They are defined beside the tables (`entities::ids`) because the
//! columns store them; this is where the rest of the server names them.

pub use entities::ids::{ClientId, GrantId, OrgId, UserId};

#[cfg(test)]
mod tests {
    use super::{ClientId, UserId};

    #[test]
    fn ids_read_write_and_print_as_the_strings_they_wrap() {
        let id = UserId::from("u-1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"u-1\"");
        assert_eq!(serde_json::from_str::<UserId>("\"u-1\"").unwrap(), id);
        assert_eq!(format!("{id}|{id:?}|{id:>5}"), "u-1|\"u-1\"|  u-1");
        assert_eq!(ClientId::from("c".to_string()), "c");
        assert_eq!(sea_orm::Value::from(&id), sea_orm::Value::from("u-1"));
    }
}
