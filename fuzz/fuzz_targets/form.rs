//! Form data checked against a procedure's e-form schema, as the submission route does it
//! (NFC, then validation). The input is JSON: a two-element array `[schema, data]` tries any
//! schema (catalog imports carry them), anything else is form data for the demo catalogue's
//! birth-registration form. Properties: a schema that compiles still compiles after a JSON
//! round trip; validation answers the same twice; data that validates still validates after a
//! JSON round trip (compact and pretty); every error names a field pointer, a label and a
//! Vietnamese message.
#![no_main]

use std::sync::LazyLock;

use cqs_domain::form::FormSchema;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

static DEMO: LazyLock<FormSchema> = LazyLock::new(|| {
    FormSchema::compile(&json!({
        "type": "object", "additionalProperties": false,
        "required": ["ho_ten_tre", "ngay_sinh", "gioi_tinh", "so_dinh_danh_me"],
        "properties": {
            "ho_ten_tre": {"type": "string", "title": "Họ, chữ đệm và tên của trẻ", "minLength": 1, "maxLength": 100},
            "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày, tháng, năm sinh"},
            "gioi_tinh": {"type": "string", "enum": ["Nam", "Nữ"], "title": "Giới tính"},
            "so_dinh_danh_me": {"type": "string", "pattern": "^[0-9]{12}$", "title": "Số định danh cá nhân của mẹ"},
            "email": {"type": "string", "format": "email", "title": "Thư điện tử"},
            "can_nang": {"type": "number", "minimum": 0.3, "maximum": 9.99, "title": "Cân nặng (kg)"},
            "so_ban_sao": {"type": "integer", "minimum": 0, "maximum": 10, "title": "Số bản sao"},
            "dia_chi": {"type": "object", "title": "Nơi sinh", "properties": {
                "tinh": {"type": "string", "title": "Tỉnh"}, "xa": {"type": "string", "title": "Xã"}
            }, "required": ["tinh"]},
            "con_khac": {"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": 5}
        }
    }))
    .expect("the demo form compiles")
});

fn check(form: &FormSchema, data: &mut Value) {
    cqs_domain::text::nfc_json(data);
    let first = form.validate(data);
    assert_eq!(form.validate(data), first, "validation is deterministic");
    match first {
        Ok(()) => {
            for text in [serde_json::to_string(data).unwrap(), serde_json::to_string_pretty(data).unwrap()] {
                let back: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(form.validate(&back), Ok(()), "valid data stays valid after a JSON round trip: {text}");
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(e.field.is_empty() || e.field.starts_with('/'), "{e:?}");
                assert!(!e.label.is_empty() && !e.message.is_empty(), "{e:?}");
            }
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else { return };
    match value {
        Value::Array(mut pair) if pair.len() == 2 => {
            let mut data = pair.pop().unwrap();
            let schema = pair.pop().unwrap();
            if let Ok(form) = FormSchema::compile(&schema) {
                let again: Value = serde_json::from_str(&schema.to_string()).unwrap();
                assert!(FormSchema::compile(&again).is_ok(), "a compiled schema compiles after a round trip");
                check(&form, &mut data);
            }
        }
        mut data => check(&DEMO, &mut data),
    }
});
