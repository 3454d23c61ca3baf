//! Client-supplied text shown to people (client names and the like), made
//! safe to display: characters that reorder or hide what a person reads are
//! removed.
//!
//! A right-to-left override turns `moc.elgoog` into something that reads
//! like `google.com`, and invisible characters make `Goo\u{200b}gle` look like
//! a name it is not. HTML escaping does nothing against either.

/// Direction controls: embeddings and overrides (U+202A–U+202E), isolates
/// (U+2066–U+2069) and the implicit marks (U+200E, U+200F, U+061C).
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that take no space and have no business in a name: zero-width
/// space, word joiner and invisible operators, the byte-order mark, soft
/// hyphen, and the interlinear annotation and tag characters.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'
            | '\u{00AD}'
            | '\u{034F}'
            | '\u{180E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Zero-width joiner and non-joiner: needed inside emoji sequences and some
/// scripts (Persian, Indic), but in Latin text only ever there to make two
/// names look alike. Kept only between two non-ASCII characters.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// `text` with control (C0, DEL, C1), direction-control and invisible
/// characters removed, joiners kept only between non-ASCII characters,
/// and runs of whitespace folded to one space.
pub fn clean(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for (i, &c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_direction_control(c) || is_invisible(c) {
            continue;
        }
        if is_joiner(c) {
            let before = i.checked_sub(1).and_then(|j| chars.get(j));
            let after = chars.get(i + 1);
            let between_non_ascii = [before, after]
                .iter()
                .all(|n| n.is_some_and(|n| !n.is_ascii() && !is_joiner(*n)));
            if !between_non_ascii {
                continue;
            }
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// Whether [`clean`] leaves `text` as it is (apart from outer whitespace):
/// registration refuses what it would change, so that what a client
/// registered is exactly what people are shown.
pub fn is_clean(text: &str) -> bool {
    clean(text) == text.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_overrides_and_controls_are_removed() {
        assert_eq!(clean("Evil\u{202E}moc.elgoog"), "Evilmoc.elgoog");
        assert_eq!(clean("\u{2066}a\u{2069}b\u{200F}"), "ab");
        assert_eq!(clean("a\u{0000}b\u{007F}c\u{0090}d\u{009B}e"), "abcde");
        // Line breaks (NEL, LS, PS included) become one space.
        assert_eq!(clean("a\u{0085}b\u{2028}c"), "a b c");
        assert_eq!(clean("Goo\u{200B}gle\u{FEFF}"), "Google");
        assert_eq!(clean("  two\t\n words  "), "two words");
    }

    #[test]
    fn joiners_survive_only_where_scripts_need_them() {
        assert_eq!(clean("Goo\u{200D}gle"), "Google");
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(clean(family), family);
        let persian = "\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}";
        assert_eq!(clean(persian), persian);
        assert_eq!(clean("\u{200D}x"), "x");
    }

    #[test]
    fn ordinary_names_are_left_alone() {
        for name in ["Inspector", "Zoë's Notes", "東京アプリ", "Café – beta 2"] {
            assert!(is_clean(name), "{name}");
        }
        assert!(!is_clean("Bad\u{202E}name"));
    }
}
