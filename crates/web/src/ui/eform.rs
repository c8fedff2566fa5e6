//! E-forms generated from a procedure version's JSON Schema (the schema the API validates
//! with): the order of the questions, the widget of each, and the typed form data the answers
//! make. Shared by the portal's online submission and the console's counter intake.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::ui::FormErrors;

/// The order of the form's questions: the schema's `x-order` if it has one, else the required
/// questions in their listed order, then the others by key.
pub fn question_order(schema: &Value) -> Vec<String> {
    let props = schema.get("properties").and_then(Value::as_object);
    let keys: Vec<String> = props.map(|p| p.keys().cloned().collect()).unwrap_or_default();
    let listed = |name: &str| -> Vec<String> {
        schema
            .get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter().filter_map(Value::as_str).filter(|k| keys.iter().any(|x| x == k)).map(str::to_owned).collect()
            })
            .unwrap_or_default()
    };
    let mut order = listed("x-order");
    if order.is_empty() {
        order = listed("required");
    }
    for k in &keys {
        if !order.contains(k) {
            order.push(k.clone());
        }
    }
    order
}

/// `dd/mm/yyyy`, as people write dates, to the `yyyy-mm-dd` the schema asks for.
pub fn iso_date(s: &str) -> String {
    let parts: Vec<&str> = s.split(['/', '-', '.']).collect();
    match parts.as_slice() {
        [d, m, y] if y.len() == 4 && d.len() <= 2 && m.len() <= 2 => {
            format!("{y}-{:0>2}-{:0>2}", m, d)
        }
        _ => s.to_owned(),
    }
}

/// The form data the answers make, typed as the schema says (numbers as numbers); empty
/// answers are left out, so the schema reports missing required ones.
pub fn form_data(schema: &Value, answers: &BTreeMap<String, String>) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in answers {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let prop = schema.pointer(&format!("/properties/{}", k.replace('~', "~0").replace('/', "~1")));
        let ty = prop.and_then(|p| p.get("type")).and_then(Value::as_str);
        let format = prop.and_then(|p| p.get("format")).and_then(Value::as_str);
        let value = match (ty, format) {
            (Some("integer"), _) => v.replace(['.', ' '], "").parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)),
            (Some("number"), _) => v.replace(',', ".").parse::<f64>().map_or_else(|_| json!(v), |n| json!(n)),
            (_, Some("date")) => json!(iso_date(v)),
            _ => json!(v),
        };
        out.insert(k.clone(), value);
    }
    Value::Object(out)
}

pub fn input_id(key: &str) -> String {
    format!("f-{key}")
}

/// A question as the page shows it.
pub struct Question {
    pub id: String,
    pub name: String,
    pub label: String,
    pub hint: Option<String>,
    /// `text`, `textarea`, `date`, `email`, `number`, `radios` or `select`.
    pub kind: &'static str,
    pub options: Vec<String>,
    pub value: String,
    pub required: bool,
    pub max: Option<u64>,
}

pub fn question(schema: &Value, key: &str, value: &str) -> Question {
    let p = schema.pointer(&format!("/properties/{}", key.replace('~', "~0").replace('/', "~1"))).cloned();
    let p = p.unwrap_or(Value::Null);
    let required =
        schema.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|x| x.as_str() == Some(key)));
    let options: Vec<String> = p
        .get("enum")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect())
        .unwrap_or_default();
    let max = p.get("maxLength").and_then(Value::as_u64);
    let kind = match (p.get("type").and_then(Value::as_str), p.get("format").and_then(Value::as_str)) {
        _ if !options.is_empty() && options.len() <= 4 => "radios",
        _ if !options.is_empty() => "select",
        (Some("integer" | "number"), _) => "number",
        (_, Some("date")) => "date",
        (_, Some("email")) => "email",
        _ if max.is_some_and(|m| m > 200) => "textarea",
        _ => "text",
    };
    Question {
        id: input_id(key),
        name: key.to_owned(),
        label: p.get("title").and_then(Value::as_str).unwrap_or(key).to_owned(),
        hint: p.get("description").and_then(Value::as_str).map(str::to_owned),
        kind,
        options,
        value: value.to_owned(),
        required,
        max,
    }
}

impl Question {
    /// The `aria-describedby` of the question: its hint and its error, if it has them.
    pub fn described(&self, errors: &FormErrors) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if errors.has(&self.id) {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_follow_the_schema() {
        let schema = json!({"type": "object", "required": ["b", "a"], "properties": {
            "a": {"type": "string", "format": "date", "title": "Ngày"},
            "b": {"type": "string", "enum": ["Nam", "Nữ"], "title": "Giới tính"},
            "c": {"type": "integer", "title": "Số bản"},
            "d": {"type": "string", "maxLength": 500, "title": "Ghi chú"}}});
        assert_eq!(question_order(&schema), ["b", "a", "c", "d"]);
        let kinds: Vec<&str> = ["a", "b", "c", "d"].iter().map(|k| question(&schema, k, "").kind).collect();
        assert_eq!(kinds, ["date", "radios", "number", "textarea"]);
        assert!(question(&schema, "b", "").required && !question(&schema, "c", "").required);
        let ordered = json!({"type": "object", "x-order": ["d", "c"], "properties": schema["properties"].clone()});
        assert_eq!(question_order(&ordered), ["d", "c", "a", "b"]);
        let answers: BTreeMap<String, String> =
            [("a", "2/1/2026"), ("c", "3"), ("d", " "), ("b", "Nữ")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        assert_eq!(form_data(&schema, &answers), json!({"a": "2026-01-02", "b": "Nữ", "c": 3}));
        assert_eq!(iso_date("2026-01-02"), "2026-01-02");
    }
}
