//! The inbox word index: for every dossier someone must act on, the words of its folded
//! applicant name under the unit holding it. An inbox name search probes how many of the unit's
//! dossiers carry each word of the query (up to [`PROBE_CAP`]) and, when one is rare enough,
//! reads only the dossiers carrying it; otherwise matches are common and the due-date-ordered
//! scan of the unit finds a page of them quickly. Measured in `docs/benchmarks.md`.
//!
//! The index is derived data. Intake and every transition rewrite a dossier's rows in their own
//! transaction; a start-up rebuild fills it when the `inbox_words` setting is missing (an upgraded
//! database, a bulk load). Every hit is checked again against the dossier row itself, so a stale
//! row can only cost time.

/// Most index entries one probe counts: above it, a word is "common" and not worth driving from.
pub(crate) const PROBE_CAP: i64 = 1500;
/// Most query words probed (the rest still filter through the phrase match).
pub(crate) const MAX_PROBES: usize = 6;
/// The setting that says the index is complete.
pub(crate) const BUILT_SETTING: &str = "inbox_words";
/// Dossiers re-indexed per transaction by the rebuild.
pub(crate) const REBUILD_PAGE: i64 = 2000;

/// Which index entries an inbox name search reads first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WordDriver {
    /// Dossiers whose name has this whole word.
    Exact(String),
    /// Dossiers whose name has a word starting with this.
    Prefix(String),
}

impl WordDriver {
    /// The exclusive upper bound of a prefix range: folded words are `[a-z0-9]`, all below DEL.
    pub(crate) fn prefix_end(prefix: &str) -> String {
        format!("{prefix}\u{7f}")
    }
}

/// The drivers a query offers: each distinct whole word, then the last word as a prefix.
pub(crate) fn candidate_drivers(q: &cqs_domain::text::NameQuery) -> Vec<WordDriver> {
    let mut out: Vec<WordDriver> = Vec::new();
    for w in q.whole_words() {
        let d = WordDriver::Exact(w.to_owned());
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out.push(WordDriver::Prefix(q.last_word_prefix().to_owned()));
    // The last typed words are the given name: usually the rarest, so keep those when cutting.
    let skip = out.len().saturating_sub(MAX_PROBES);
    out.split_off(skip)
}

/// Implements the index for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_inbox_words {
    ($store:ty, $db:ty) => {
        use crate::inbox_words::{PROBE_CAP, WordDriver};

        /// Writes the index rows of dossiers that have a holder: (dossier, holder unit, holder
        /// role, folded applicant name). Rows already there are kept.
        pub(crate) async fn index_words(
            tx: &mut sqlx::Transaction<'static, $db>,
            items: &[(Uuid, Uuid, &str, &str)],
        ) -> Result<()> {
            let rows: Vec<(Uuid, Uuid, &str, String)> = items
                .iter()
                .flat_map(|(id, unit, role, name)| {
                    cqs_domain::text::index_words(name).into_iter().map(move |w| (*id, *unit, *role, w))
                })
                .collect();
            for chunk in rows.chunks(500) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO inbox_words (holder_unit_id, word, dossier_id, holder_role) ",
                );
                q.push_values(chunk, |mut b, (id, unit, role, word)| {
                    b.push_bind(*unit).push_bind(word.clone()).push_bind(*id).push_bind(role.to_string());
                });
                q.push(" ON CONFLICT DO NOTHING");
                q.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        /// Removes a dossier's index rows (before writing those of its new holder, if any).
        pub(crate) async fn unindex_words(tx: &mut sqlx::Transaction<'static, $db>, dossier_id: Uuid) -> Result<()> {
            sqlx::query("DELETE FROM inbox_words WHERE dossier_id = $1").bind(dossier_id).execute(&mut **tx).await?;
            Ok(())
        }

        /// Pushes the index condition of `driver` for `unit` (a subquery of dossier ids).
        pub(crate) fn push_word_driver(b: &mut sqlx::QueryBuilder<$db>, unit: Uuid, driver: &WordDriver) {
            b.push(" AND id IN (SELECT dossier_id FROM inbox_words WHERE holder_unit_id = ").push_bind(unit);
            match driver {
                WordDriver::Exact(w) => {
                    b.push(" AND word = ").push_bind(w.clone());
                }
                WordDriver::Prefix(p) => {
                    b.push(" AND word >= ").push_bind(p.clone());
                    b.push(" AND word < ").push_bind(WordDriver::prefix_end(p));
                }
            }
            b.push(")");
        }

        /// The rarest of the query's drivers within `unit`, with the number of entries it reads
        /// (at most [`PROBE_CAP`]); `None` when every word is common.
        pub(crate) async fn choose_word_driver(
            pool: &sqlx::Pool<$db>,
            unit: Uuid,
            query: &cqs_domain::text::NameQuery,
        ) -> Result<Option<(WordDriver, i64)>> {
            let drivers = crate::inbox_words::candidate_drivers(query);
            // One round trip: one capped count per driver.
            let mut b = sqlx::QueryBuilder::<$db>::new("SELECT ");
            for (i, d) in drivers.iter().enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                b.push("(SELECT COUNT(*) FROM (SELECT 1 FROM inbox_words WHERE holder_unit_id = ").push_bind(unit);
                match d {
                    WordDriver::Exact(w) => {
                        b.push(" AND word = ").push_bind(w.clone());
                    }
                    WordDriver::Prefix(p) => {
                        b.push(" AND word >= ").push_bind(p.clone());
                        b.push(" AND word < ").push_bind(WordDriver::prefix_end(p));
                    }
                }
                b.push(" LIMIT ").push_bind(PROBE_CAP).push(format!(") AS p{i}) AS c{i}"));
            }
            let row = b.build().fetch_one(pool).await?;
            let mut best: Option<(WordDriver, i64)> = None;
            for (i, d) in drivers.into_iter().enumerate() {
                let n: i64 = row.try_get(i)?;
                if n < PROBE_CAP && best.as_ref().is_none_or(|(_, m)| n < *m) {
                    best = Some((d, n));
                }
            }
            Ok(best)
        }

        impl $store {
            /// Fills the word index if it is not known to be complete.
            pub(crate) async fn ensure_inbox_words(&self) -> Result<usize> {
                use crate::deadlines::Deadlines;
                if self.setting(crate::inbox_words::BUILT_SETTING).await?.is_some() {
                    return Ok(0);
                }
                self.rebuild_inbox_words().await
            }

            /// Adds the index rows of every dossier that has a holder, a page per transaction,
            /// then marks the index complete. Safe while other nodes serve: rows are only added,
            /// and a row written from a holder that has changed meanwhile is merely stale.
            pub(crate) async fn rebuild_inbox_words(&self) -> Result<usize> {
                use crate::deadlines::Deadlines;
                let mut after: Option<Uuid> = None;
                let mut total = 0;
                loop {
                    let mut b = sqlx::QueryBuilder::<$db>::new(
                        "SELECT id, holder_unit_id, holder_role, applicant_search FROM dossiers WHERE holder_unit_id IS NOT NULL",
                    );
                    if let Some(a) = after {
                        b.push(" AND id > ").push_bind(a);
                    }
                    b.push(" ORDER BY id LIMIT ").push_bind(crate::inbox_words::REBUILD_PAGE);
                    let rows = b.build().fetch_all(self.read_pool()).await?;
                    if rows.is_empty() {
                        break;
                    }
                    let mut page: Vec<(Uuid, Uuid, String, String)> = Vec::with_capacity(rows.len());
                    for r in &rows {
                        let role: Option<String> = r.try_get("holder_role")?;
                        page.push((
                            r.try_get("id")?,
                            r.try_get("holder_unit_id")?,
                            role.unwrap_or_default(),
                            r.try_get("applicant_search")?,
                        ));
                    }
                    after = page.last().map(|p| p.0);
                    let items: Vec<(Uuid, Uuid, &str, &str)> =
                        page.iter().map(|(id, u, role, name)| (*id, *u, role.as_str(), name.as_str())).collect();
                    let mut tx = self.begin_write().await?;
                    index_words(&mut tx, &items).await?;
                    tx.commit().await?;
                    total += page.len();
                }
                self.put_setting(crate::inbox_words::BUILT_SETTING, "1", Utc::now()).await?;
                if total > 0 {
                    tracing::info!(dossiers = total, "inbox word index rebuilt");
                }
                Ok(total)
            }

            /// Empties the index and rebuilds it.
            pub(crate) async fn reindex_words(&self) -> Result<usize> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM inbox_words").execute(&mut *tx).await?;
                tx.commit().await?;
                self.rebuild_inbox_words().await
            }
        }
    };
}

pub(crate) use impl_inbox_words;

#[cfg(test)]
mod tests {
    use super::*;
    use cqs_domain::text::NameQuery;

    #[test]
    fn drivers_are_whole_words_then_the_last_prefix() {
        let q = NameQuery::parse("Nguyễn Văn Nguyễn A").unwrap();
        assert_eq!(
            candidate_drivers(&q),
            vec![WordDriver::Exact("nguyen".into()), WordDriver::Exact("van".into()), WordDriver::Prefix("a".into())]
        );
        let long = NameQuery::parse("a b c d e f g h").unwrap();
        let d = candidate_drivers(&long);
        assert_eq!(d.len(), MAX_PROBES);
        assert_eq!(d.last(), Some(&WordDriver::Prefix("h".into())));
        assert_eq!(d[0], WordDriver::Exact("c".into()), "the first words are dropped");
        assert!(WordDriver::prefix_end("ng").as_str() > "ngzzzz9");
    }
}
