//! The satisfaction rating on "Hồ sơ của tôi": once a dossier has its result, its applicant
//! answers the nine criteria and an overall rating on a plain HTML form (radio buttons, no
//! script), or sees the rating they gave. Recorded through the same function as the API.

use std::collections::BTreeMap;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use cqs_domain::auth::Principal;
use cqs_domain::rating::{CRITERIA, Level, Rating, RatingInput, may_rate};

use crate::AppState;
use crate::api::workflow::Context;
use crate::auth::Caller;
use crate::portal::mine::{MINE, build, own_page};
use crate::ui::{FormErrors, PageResult, fmt, render};

/// The form's name for the overall rating and the comment.
const OVERALL: &str = "overall";
const COMMENT: &str = "y-kien";
const OVERALL_LABEL: &str = "Đánh giá chung về việc giải quyết hồ sơ";

/// The three answers, as the form sends them and as people read them.
pub fn levels() -> Vec<(&'static str, &'static str)> {
    Level::ALL.iter().map(|l| (l.as_str(), l.label_vi())).collect()
}

/// One question of the form.
pub struct Question {
    /// The radio group's name and the fieldset's id.
    pub id: &'static str,
    pub label: &'static str,
    /// The answer chosen (kept when the form comes back with errors, or as given).
    pub chosen: Option<String>,
    pub chosen_label: &'static str,
}

impl Question {
    /// Whether `value` is the answer chosen.
    pub fn is(&self, value: &str) -> bool {
        self.chosen.as_deref() == Some(value)
    }
}

/// The rating section of the page: the form, or the rating given.
pub struct RatingPanel {
    /// When the rating was given; `None` while it is still to give.
    pub rated_at: Option<String>,
    pub questions: Vec<Question>,
    pub comment: Option<String>,
}

fn questions(criteria: &BTreeMap<String, Level>, overall: Option<Level>) -> Vec<Question> {
    let question = |id: &'static str, label: &'static str, level: Option<Level>| Question {
        id,
        label,
        chosen: level.map(|l| l.as_str().to_owned()),
        chosen_label: level.map_or("", Level::label_vi),
    };
    CRITERIA
        .iter()
        .map(|(key, label)| question(key, label, criteria.get(*key).copied()))
        .chain(std::iter::once(question(OVERALL, OVERALL_LABEL, overall)))
        .collect()
}

/// The panel for a dossier seen by `caller`: `None` before the result, or for anyone but a
/// citizen.
pub async fn panel(
    state: &AppState,
    caller: &Caller,
    ctx: &Context,
) -> Result<Option<RatingPanel>, crate::error::ApiError> {
    let Principal::Citizen { account_id, .. } = &caller.0 else { return Ok(None) };
    if !may_rate(ctx.dossier.state) {
        return Ok(None);
    }
    Ok(Some(match state.store.dossier_rating(ctx.dossier.id, *account_id).await? {
        Some((r, at)) => given(&r, at),
        None => RatingPanel { rated_at: None, questions: questions(&BTreeMap::new(), None), comment: None },
    }))
}

fn given(r: &Rating, at: DateTime<Utc>) -> RatingPanel {
    RatingPanel {
        rated_at: Some(fmt::datetime(at)),
        questions: questions(&r.criteria, Some(r.overall)),
        comment: r.comment.clone(),
    }
}

/// Reads the posted form into the API's input; an answer that is not one of the three levels
/// counts as unanswered, so the person is asked again rather than shown a generic error.
fn input(fields: &[(String, String)]) -> RatingInput {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim());
    RatingInput {
        criteria: CRITERIA.iter().filter_map(|(k, _)| Some(((*k).to_owned(), Level::parse(get(k)?)?))).collect(),
        overall: get(OVERALL).and_then(Level::parse),
        comment: get(COMMENT).map(str::to_owned),
    }
}

/// The form's id for a field the domain check names (`/criteria/<key>`, `/overall`, `/comment`).
fn form_id(field: &str) -> String {
    match field.strip_prefix("/criteria/") {
        Some(key) => key.to_owned(),
        None if field == "/overall" => OVERALL.to_owned(),
        None => COMMENT.to_owned(),
    }
}

/// `POST /ho-so-cua-toi/{code}/danh-gia`: records the rating and goes back to the dossier; with
/// answers missing, the page comes back with the errors and what was chosen.
pub async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    req: Request,
) -> PageResult<Response> {
    let ctx = own_page(&state, &caller, &code).await?;
    let Principal::Citizen { account_id, .. } = &caller.0 else { unreachable!("own_page admits citizens only") };
    let fields: Vec<(String, String)> = crate::ui::read_form(req, &state).await?;
    let input = input(&fields);
    let mut errors = FormErrors::default();
    let status = match crate::api::ratings::record(&state, *account_id, &ctx, input.clone()).await {
        Ok(_) => return Ok(Redirect::to(&format!("{MINE}/{}?da-danh-gia", ctx.dossier.code)).into_response()),
        Err(e) if !e.errors.is_empty() => {
            for f in &e.errors {
                errors.add(form_id(&f.field), format!("{}: {}", f.label, f.message.to_lowercase()));
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        // Rated already (another tab) or not yet rateable: the page shows which.
        Err(e) if e.status == StatusCode::CONFLICT => {
            errors.add(OVERALL, e.title.clone());
            StatusCode::CONFLICT
        }
        Err(e) => return Err(e.into()),
    };
    let mut page = build(&state, &caller, &ctx, errors, String::new(), None).await?;
    if let Some(panel) = page.rating.as_mut().filter(|p| p.rated_at.is_none()) {
        panel.questions = questions(&input.criteria, input.overall);
        panel.comment = input.comment;
    }
    Ok(render(status, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_maps_to_the_input_and_back() {
        let mut fields: Vec<(String, String)> =
            CRITERIA.iter().map(|(k, _)| ((*k).to_owned(), "satisfied".to_owned())).collect();
        fields.push(("overall".into(), "very_satisfied".into()));
        fields.push(("y-kien".into(), " Nhanh gọn ".into()));
        fields[0].1 = "tuyệt vời".into();
        let i = input(&fields);
        assert_eq!(i.criteria.len(), 8, "an unknown answer counts as unanswered");
        assert_eq!(i.overall, Some(Level::VerySatisfied));
        let errs = i.check().unwrap_err();
        assert_eq!(errs.iter().map(|e| form_id(&e.field)).collect::<Vec<_>>(), ["tong_thoi_gian"]);
        assert_eq!((form_id("/overall"), form_id("/comment")), ("overall".to_owned(), "y-kien".to_owned()));
        let q = questions(&BTreeMap::new(), Some(Level::Dissatisfied));
        assert_eq!(q.len(), 10);
        assert_eq!((q[9].id, q[9].chosen_label), ("overall", "Không hài lòng"));
    }
}
