//! The form templates, embedded in the binary. Each kind of form has one template; a form set
//! (rules/forms.json) maps its numbered forms to these kinds.

pub const TEMPLATES: &[(&str, &str)] = &[
    ("common.typ", include_str!("../templates/common.typ")),
    ("receipt.typ", include_str!("../templates/receipt.typ")),
    ("supplement.typ", include_str!("../templates/supplement.typ")),
    ("refusal.typ", include_str!("../templates/refusal.typ")),
    ("apology.typ", include_str!("../templates/apology.typ")),
    ("stop.typ", include_str!("../templates/stop.typ")),
    ("control.typ", include_str!("../templates/control.typ")),
    ("register.typ", include_str!("../templates/register.typ")),
    ("result.typ", include_str!("../templates/result.typ")),
];

/// The fonts shipped with the binary: Liberation Serif 2 (SIL OFL 1.1, see fonts/), metrically
/// compatible with Times New Roman, which Decree 30/2020 prescribes but we may not redistribute.
/// The regular face comes first: the visible signature block embeds a subset of it.
pub const EMBEDDED_FONTS: &[&[u8]] = &[
    include_bytes!("../fonts/LiberationSerif-Regular.ttf"),
    include_bytes!("../fonts/LiberationSerif-Bold.ttf"),
    include_bytes!("../fonts/LiberationSerif-Italic.ttf"),
    include_bytes!("../fonts/LiberationSerif-BoldItalic.ttf"),
];
