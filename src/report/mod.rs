//! Reports over finished training runs: the prior ablation (validation curves from each run's
//! `log.csv`, quality against the number of sampling steps) as CSVs, PNG plots and Markdown.
//!
//! - [`vallog`] parses a run's `log.csv` into its validation points.
//! - [`steps`] measures quality against sampling steps for one model and reads/writes that CSV.
//! - [`plot`] draws the PNGs with plotters.
//! - [`summary`] turns the same numbers into Markdown tables.
//! - [`spectrogram`] draws one enhanced file's spectrograms and prior map (`enhance --plot`).

pub mod plot;
pub mod spectrogram;
pub mod steps;
pub mod summary;
pub mod vallog;

/// One run of an ablation: its name (e.g. the prior) with its validation log and, when
/// measured, its quality against sampling steps.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Short name used in legends and file names (`standard`, `energy`, `learned`).
    pub name: String,
    /// The validation rows of the run's `log.csv`.
    pub log: vallog::ValLog,
    /// Quality against sampling steps of the run's exported (best) model, if measured.
    pub steps: Option<steps::StepsTable>,
    /// The same for a second checkpoint (e.g. the last EMA weights), if measured.
    pub steps_last: Option<steps::StepsTable>,
}

/// The validation sets measured in any run's steps table, in first-seen order.
pub fn measured_sets(runs: &[RunReport]) -> Vec<String> {
    let mut sets: Vec<String> = Vec::new();
    for t in runs.iter().filter_map(|r| r.steps.as_ref()) {
        for s in t.sets() {
            if !sets.contains(&s) {
                sets.push(s);
            }
        }
    }
    sets
}

/// The display title of `set` from `(key, title)` pairs, or the key itself.
pub fn set_title<'a>(set: &'a str, set_titles: &[(&'a str, &'a str)]) -> &'a str {
    set_titles.iter().find(|(k, _)| *k == set).map_or(set, |(_, v)| v)
}
