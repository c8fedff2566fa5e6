//! The applicant's e-form: a JSON Schema (draft 2020-12) per procedure version. The same schema
//! drives the portal's form and validates submissions on the server; errors come back per field
//! with the field's Vietnamese title so people can fix them.

use serde::Serialize;
use serde_json::Value;

use jsonschema::error::{TypeKind, ValidationErrorKind};

/// A compiled e-form schema.
pub struct FormSchema {
    schema: Value,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for FormSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormSchema").field("schema", &self.schema).finish()
    }
}

/// One problem with one field of a submitted form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer of the field within the form data, e.g. `/ngay_sinh`.
    pub field: String,
    /// Vietnamese label of the field (its schema title), for people.
    pub label: String,
    pub message: String,
}

const ALLOWED_FORMATS: [&str; 2] = ["date", "email"];

impl FormSchema {
    /// Compiles a schema; rejects ones that are not an object form or that name external
    /// references (we never fetch schemas from the network).
    pub fn compile(schema: &Value) -> Result<Self, String> {
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err("biểu mẫu phải là một đối tượng (\"type\": \"object\")".into());
        }
        if !schema.get("properties").is_some_and(Value::is_object) {
            return Err("biểu mẫu phải khai báo các trường (\"properties\")".into());
        }
        check_refs_and_formats(schema)?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| format!("lược đồ JSON không hợp lệ: {e}"))?;
        Ok(Self { schema: schema.clone(), validator })
    }

    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Vietnamese title of a top-level property, falling back to its key when it has none (or
    /// only a blank one: every error must name its field to a person).
    pub fn label(&self, key: &str) -> String {
        self.schema
            .pointer(&format!("/properties/{}/title", key.replace('~', "~0").replace('/', "~1")))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(key)
            .to_owned()
    }

    /// Validates form data; returns every problem, each with a Vietnamese message.
    pub fn validate(&self, data: &Value) -> Result<(), Vec<FieldError>> {
        let errors: Vec<FieldError> = self
            .validator
            .iter_errors(data)
            .map(|e| {
                let mut field = e.instance_path().as_str().to_owned();
                let message = match e.kind() {
                    ValidationErrorKind::Required { property } => {
                        let key = property.as_str().unwrap_or_default();
                        field = format!("{field}/{key}");
                        "Trường này là bắt buộc".to_owned()
                    }
                    ValidationErrorKind::AdditionalProperties { unexpected } => {
                        format!("Trường không có trong biểu mẫu: {}", unexpected.join(", "))
                    }
                    ValidationErrorKind::Type { kind } => {
                        format!("Sai kiểu dữ liệu, cần {}", type_name(kind))
                    }
                    ValidationErrorKind::MinLength { limit } if *limit <= 1 => "Trường này là bắt buộc".to_owned(),
                    ValidationErrorKind::MinLength { limit } => {
                        format!("Cần ít nhất {limit} ký tự")
                    }
                    ValidationErrorKind::MaxLength { limit } => {
                        format!("Không được dài quá {limit} ký tự")
                    }
                    ValidationErrorKind::Pattern { .. } => "Không đúng định dạng".to_owned(),
                    ValidationErrorKind::Format { format } if format == "date" => {
                        "Ngày không hợp lệ (định dạng YYYY-MM-DD)".to_owned()
                    }
                    ValidationErrorKind::Format { .. } => "Không đúng định dạng".to_owned(),
                    ValidationErrorKind::Enum { options } => {
                        let opts: Vec<String> = options
                            .as_array()
                            .map(|a| {
                                a.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect()
                            })
                            .unwrap_or_default();
                        format!("Phải là một trong các giá trị: {}", opts.join(", "))
                    }
                    ValidationErrorKind::Minimum { limit } => format!("Không được nhỏ hơn {limit}"),
                    ValidationErrorKind::Maximum { limit } => format!("Không được lớn hơn {limit}"),
                    _ => "Giá trị không hợp lệ".to_owned(),
                };
                let key = field.trim_start_matches('/').split('/').next().unwrap_or_default().to_owned();
                FieldError {
                    label: if key.is_empty() { "Biểu mẫu".into() } else { self.label(&key) }, field, message
                }
            })
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

fn type_name(kind: &TypeKind) -> &'static str {
    let name = match kind {
        TypeKind::Single(t) => format!("{t:?}"),
        TypeKind::Multiple(_) => String::new(),
    };
    match name.to_ascii_lowercase().as_str() {
        "string" => "chuỗi ký tự",
        "integer" => "số nguyên",
        "number" => "số",
        "boolean" => "đúng/sai",
        "object" => "đối tượng",
        "array" => "danh sách",
        _ => "kiểu khác",
    }
}

fn check_refs_and_formats(v: &Value) -> Result<(), String> {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if (k == "$ref" || k == "$dynamicRef") && !child.as_str().is_some_and(|r| r.starts_with('#')) {
                    return Err("biểu mẫu không được tham chiếu lược đồ bên ngoài".into());
                }
                if k == "format" && !child.as_str().is_some_and(|f| ALLOWED_FORMATS.contains(&f)) {
                    return Err(format!("định dạng trường không được hỗ trợ: {child}"));
                }
                check_refs_and_formats(child)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_refs_and_formats),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> FormSchema {
        FormSchema::compile(&json!({
            "type": "object", "additionalProperties": false, "required": ["ho_ten", "ngay_sinh", "so_dinh_danh"],
            "properties": {
                "ho_ten": {"type": "string", "title": "Họ và tên", "minLength": 1, "maxLength": 10},
                "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh"},
                "so_dinh_danh": {"type": "string", "pattern": "^[0-9]{12}$", "title": "Số định danh cá nhân"},
                "gioi_tinh": {"type": "string", "enum": ["Nam", "Nữ"], "title": "Giới tính"},
                "so_ban_sao": {"type": "integer", "minimum": 0, "maximum": 10, "title": "Số bản sao"}
            }
        }))
        .unwrap()
    }

    #[test]
    fn accepts_valid_data() {
        let ok = json!({"ho_ten": "Lê Văn A", "ngay_sinh": "2026-01-31", "so_dinh_danh": "001203004567", "gioi_tinh": "Nữ", "so_ban_sao": 2});
        assert_eq!(schema().validate(&ok), Ok(()));
    }

    #[test]
    fn reports_each_field_in_vietnamese() {
        let bad = json!({"ho_ten": "", "ngay_sinh": "2026-02-30", "gioi_tinh": "X", "so_ban_sao": "hai", "la": 1});
        let errs = schema().validate(&bad).unwrap_err();
        let by_field = |f: &str| errs.iter().find(|e| e.field == f).unwrap_or_else(|| panic!("{f}: {errs:?}")).clone();
        assert_eq!(by_field("/ho_ten").message, "Trường này là bắt buộc");
        assert_eq!(by_field("/ho_ten").label, "Họ và tên");
        assert!(by_field("/ngay_sinh").message.contains("YYYY-MM-DD"));
        assert_eq!(by_field("/so_dinh_danh").label, "Số định danh cá nhân");
        assert!(by_field("/gioi_tinh").message.contains("Nam, Nữ"));
        assert!(by_field("/so_ban_sao").message.contains("số nguyên"));
        assert!(errs.iter().any(|e| e.message.contains("la")));
    }

    #[test]
    fn a_blank_title_falls_back_to_the_field_key() {
        // Found by the `form` fuzz target: a required field titled "" gave an error with no label.
        let form = FormSchema::compile(&json!({
            "type": "object", "required": ["ho_ten_chong", "ten_vo"],
            "properties": {"ho_ten_chong": {"type": "string", "title": ""}, "ten_vo": {"type": "string", "title": "  "}}
        }))
        .unwrap();
        let errs = form.validate(&json!({})).unwrap_err();
        let labels: Vec<&str> = errs.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels.len(), 2, "{errs:?}");
        assert!(labels.contains(&"ho_ten_chong") && labels.contains(&"ten_vo"), "{errs:?}");
    }

    #[test]
    fn rejects_unsafe_or_odd_schemas() {
        assert!(FormSchema::compile(&json!({"type": "string"})).is_err());
        assert!(FormSchema::compile(&json!({"type": "object"})).is_err());
        assert!(
            FormSchema::compile(&json!({"type": "object", "properties": {"a": {"$ref": "http://example.com/x"}}}))
                .is_err()
        );
        assert!(
            FormSchema::compile(&json!({"type": "object", "properties": {"a": {"type": "string", "format": "uri"}}}))
                .is_err()
        );
        assert!(FormSchema::compile(&json!({"type": "object", "properties": {"a": {"type": "nonsense"}}})).is_err());
    }
}
