//! Reading forms out of HTML the way a browser would.

use scraper::{Html, Selector};

/// The form posting to `action`: its method and the values of its inputs
/// (hidden ones, and any with a preset value).
pub struct Form {
    pub method: String,
    pub fields: Vec<(String, String)>,
}

pub fn form(html: &str, action: &str) -> Form {
    let doc = Html::parse_document(html);
    let forms = Selector::parse("form").unwrap();
    let inputs = Selector::parse("input[name]").unwrap();
    for f in doc.select(&forms) {
        if f.value().attr("action") != Some(action) {
            continue;
        }
        let fields = f
            .select(&inputs)
            .map(|i| {
                (
                    i.value().attr("name").unwrap_or("").to_string(),
                    i.value().attr("value").unwrap_or("").to_string(),
                )
            })
            .collect();
        return Form {
            method: f.value().attr("method").unwrap_or("get").to_lowercase(),
            fields,
        };
    }
    panic!("no form posting to {action} in:\n{html}");
}

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The fields with some set to what a person typed.
    pub fn fill(&self, values: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .fields
            .iter()
            .filter(|(n, _)| !values.iter().any(|(k, _)| k == n))
            .cloned()
            .collect();
        out.extend(values.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        out
    }
}
