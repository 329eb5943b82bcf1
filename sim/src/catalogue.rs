//! The invariant catalogue, `docs/invariants.toml`: each invariant with the
//! kinds of evidence that count for it, and each deliberately broken
//! variant with the engine and bound that must catch it. `bvault-suite
//! verify` plans its broken-variant matrix from it and reports one verdict
//! per invariant; the test `catalogue_and_prose_agree` keeps it and
//! `docs/invariants.md` in step.

use serde::Deserialize;

/// The catalogue's text, compiled in: a report names the catalogue of the
/// build that produced it.
pub const SOURCE: &str = include_str!("../../docs/invariants.toml");

/// The schema this reader understands.
pub const SCHEMA: &str = "bvault-invariants/1";

/// The whole catalogue.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// `bvault-invariants/1`.
    pub schema: String,
    /// The invariants, in the order reports list them.
    #[serde(rename = "invariant")]
    pub invariants: Vec<Invariant>,
    /// The broken variants.
    #[serde(rename = "variant", default)]
    pub variants: Vec<Variant>,
}

/// One invariant.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invariant {
    /// `LOCK-1`.
    pub id: String,
    /// The statement, as in `docs/architecture.md`.
    pub statement: String,
    /// The kinds of verify stage whose pass counts for it.
    pub evidence: Vec<Evidence>,
}

/// A kind of evidence: what a verify stage is.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// Simulator sweeps.
    Sim,
    /// The model checker's slice.
    Model,
    /// One seed run twice.
    Replay,
    /// Offline dictionary attacks with real OPAQUE.
    Attacks,
    /// The fuzz corpora replayed.
    Fuzz,
    /// The independent decoder's cross-check.
    Decoder,
    /// The workspace's unit and property tests.
    Tests,
}

impl Evidence {
    /// The name used in the catalogue and the reports.
    pub fn name(self) -> &'static str {
        match self {
            Evidence::Sim => "sim",
            Evidence::Model => "model",
            Evidence::Replay => "replay",
            Evidence::Attacks => "attacks",
            Evidence::Fuzz => "fuzz",
            Evidence::Decoder => "decoder",
            Evidence::Tests => "tests",
        }
    }
}

/// Which engine must catch a broken variant.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// `sim sweep --flaw NAME ARGS --seeds 0..SEEDS` fails with an expected
    /// invariant, or ends with an expected coverage counter at zero.
    Sim,
    /// `check slice --flaw NAME ARGS` violates an expected property, or
    /// finds no example of an expected `sometimes` property.
    Model,
    /// `cargo test ARGS` passes: the test itself asserts the catch.
    Test,
}

/// One deliberately broken variant and the check that must catch it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The `--flaw` name.
    pub name: String,
    /// The invariant it breaks.
    pub breaks: String,
    /// The engine that must catch it.
    pub engine: Engine,
    /// Extra arguments: scenario flags (sim), slice selection (model), or
    /// `cargo test` arguments (test).
    #[serde(default)]
    pub args: Vec<String>,
    /// Sim: the seeds `0..seeds` within which it must be caught.
    pub seeds: Option<u64>,
    /// Sim: invariant IDs (or coverage counters) a catch may name; model:
    /// property-name prefixes.
    #[serde(default)]
    pub expect: Vec<String>,
    /// What the variant does, in a line.
    pub what: String,
}

/// Why the catalogue cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// Not TOML of the expected shape.
    #[error("docs/invariants.toml: {0}")]
    Parse(#[from] toml::de::Error),
    /// Well-formed but inconsistent.
    #[error("docs/invariants.toml: {0}")]
    Invalid(String),
}

impl Catalogue {
    /// The compiled-in catalogue.
    ///
    /// # Errors
    /// The text does not parse, names another schema, or is inconsistent
    /// (a variant breaks an unknown invariant, a sim variant has no seed
    /// bound, a sim or model variant expects nothing, an ID repeats).
    pub fn load() -> Result<Catalogue, CatalogueError> {
        Catalogue::parse(SOURCE)
    }

    /// Parses and validates a catalogue.
    ///
    /// # Errors
    /// As [`Catalogue::load`].
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        let c: Catalogue = toml::from_str(text)?;
        if c.schema != SCHEMA {
            return Err(CatalogueError::Invalid(format!(
                "schema '{}', expected '{SCHEMA}'",
                c.schema
            )));
        }
        let mut ids = std::collections::BTreeSet::new();
        for inv in &c.invariants {
            if !ids.insert(inv.id.as_str()) {
                return Err(CatalogueError::Invalid(format!("{} listed twice", inv.id)));
            }
            if inv.evidence.is_empty() {
                return Err(CatalogueError::Invalid(format!(
                    "{} has no evidence",
                    inv.id
                )));
            }
        }
        for v in &c.variants {
            if !ids.contains(v.breaks.as_str()) {
                return Err(CatalogueError::Invalid(format!(
                    "variant {} breaks unknown invariant {}",
                    v.name, v.breaks
                )));
            }
            let bad = match v.engine {
                Engine::Sim if v.seeds.is_none_or(|s| s == 0) => Some("needs seeds > 0"),
                Engine::Sim | Engine::Model if v.expect.is_empty() => Some("expects nothing"),
                Engine::Test if v.args.is_empty() => Some("names no test"),
                _ => None,
            };
            if let Some(why) = bad {
                return Err(CatalogueError::Invalid(format!(
                    "variant {} ({:?}) {why}",
                    v.name, v.engine
                )));
            }
        }
        Ok(c)
    }

    /// The invariant with this ID.
    pub fn invariant(&self, id: &str) -> Option<&Invariant> {
        self.invariants.iter().find(|i| i.id == id)
    }
}

/// The marker lines around the generated section of `docs/invariants.md`.
pub const MD_BEGIN: &str =
    "<!-- generated from docs/invariants.toml by `bvault-suite verify catalogue`: do not edit by hand -->";
/// The end marker.
pub const MD_END: &str = "<!-- end of the generated section -->";

impl Variant {
    /// The command that must catch it, as a user would type it (arguments
    /// quoted where a POSIX shell would split them).
    pub fn command(&self) -> String {
        let prefix = match self.engine {
            Engine::Sim => format!(
                "bvault-suite sim sweep --seeds 0..{} --fail-fast --flaw {}",
                self.seeds.unwrap_or(1),
                self.name
            ),
            Engine::Model => format!("bvault-suite check slice --flaw {}", self.name),
            Engine::Test => "cargo test".to_owned(),
        };
        format!("{prefix} {}", shell_line(&self.args))
            .trim_end()
            .to_owned()
    }
}

/// An argument vector as a POSIX shell line (quoted where needed).
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Catalogue {
    /// The generated section of `docs/invariants.md`, markers included:
    /// each invariant with its statement, the evidence that counts for it,
    /// and the broken variants that must bite, with the command for each.
    pub fn markdown(&self) -> String {
        let mut o = format!("{MD_BEGIN}\n\n");
        o.push_str(
            "| invariant | evidence `verify` counts | broken variants that must be caught |\n",
        );
        o.push_str("|---|---|---|\n");
        for inv in &self.invariants {
            let evidence: Vec<&str> = inv.evidence.iter().map(|e| e.name()).collect();
            let variants: Vec<String> = self
                .variants
                .iter()
                .filter(|v| v.breaks == inv.id)
                .map(|v| format!("`{}` ({}): `{}`", v.name, v.what, v.command()))
                .collect();
            o.push_str(&format!(
                "| **{}** {} | {} | {} |\n",
                inv.id,
                inv.statement,
                evidence.join(", "),
                if variants.is_empty() {
                    "—".to_owned()
                } else {
                    variants.join("<br>")
                }
            ));
        }
        o.push_str(&format!("\n{MD_END}"));
        o
    }

    /// `text` with its generated section replaced by [`Catalogue::markdown`].
    ///
    /// # Errors
    /// The markers are missing or out of order.
    pub fn splice_markdown(&self, text: &str) -> Result<String, CatalogueError> {
        let (Some(a), Some(b)) = (text.find(MD_BEGIN), text.find(MD_END)) else {
            return Err(CatalogueError::Invalid(
                "docs/invariants.md has no generated section markers".into(),
            ));
        };
        if b < a {
            return Err(CatalogueError::Invalid(
                "the markers are out of order".into(),
            ));
        }
        Ok(format!(
            "{}{}{}",
            &text[..a],
            self.markdown(),
            &text[b + MD_END.len()..]
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_catalogue_is_valid() {
        let c = Catalogue::load().expect("docs/invariants.toml is valid");
        assert!(c.invariant("LOCK-1").is_some());
        assert!(c.variants.iter().any(|v| v.engine == Engine::Model));
    }

    #[test]
    fn inconsistent_catalogues_are_refused() {
        let inv = "[[invariant]]\nid = \"A-1\"\nstatement = \"s\"\nevidence = [\"sim\"]\n";
        let base = format!("schema = \"bvault-invariants/1\"\n{inv}");
        assert!(Catalogue::parse(&base).is_ok());
        let unknown = format!(
            "{base}[[variant]]\nname = \"x\"\nbreaks = \"B-1\"\nengine = \"sim\"\nseeds = 1\nexpect = [\"A-1\"]\nwhat = \"w\"\n"
        );
        assert!(matches!(
            Catalogue::parse(&unknown),
            Err(CatalogueError::Invalid(_))
        ));
        let no_seeds = format!(
            "{base}[[variant]]\nname = \"x\"\nbreaks = \"A-1\"\nengine = \"sim\"\nexpect = [\"A-1\"]\nwhat = \"w\"\n"
        );
        assert!(matches!(
            Catalogue::parse(&no_seeds),
            Err(CatalogueError::Invalid(_))
        ));
        let twice = format!("{base}{inv}");
        assert!(Catalogue::parse(&twice).is_err());
        assert!(Catalogue::parse(&format!("schema = \"other/9\"\n{inv}")).is_err());
    }
}
