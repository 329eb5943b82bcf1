//! Counterexamples drawn as sequence diagrams: the parties, the messages
//! between them, the faults, and the step where the invariant broke. One
//! neutral form, built from a simulator trace or a model checker path, and
//! drawn as Mermaid (for Markdown) or SVG (for the HTML report).

use serde_json::Value;
use std::fmt::Write as _;

/// One thing that happened, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A message from one party to another.
    Message {
        /// Sender.
        from: String,
        /// Receiver.
        to: String,
        /// What it carried.
        label: String,
    },
    /// A fault, an action, or something a party did alone.
    Note {
        /// The party it concerns, or all of them.
        over: Option<String>,
        /// What happened.
        text: String,
    },
    /// The invariant broke here.
    Violation(String),
}

/// A sequence diagram.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequence {
    /// Parties, in order of first appearance.
    pub parties: Vec<String>,
    /// What happened, in order.
    pub events: Vec<Event>,
}

impl Sequence {
    fn party(&mut self, name: &str) {
        if !self.parties.iter().any(|p| p == name) {
            self.parties.push(name.to_owned());
        }
    }

    fn push(&mut self, e: Event) {
        match &e {
            Event::Message { from, to, .. } => {
                self.party(from);
                self.party(to);
            }
            Event::Note { over: Some(p), .. } => self.party(p),
            _ => {}
        }
        self.events.push(e);
    }

    /// From a simulator trace (`sim run --trace`, JSON lines), its last
    /// `max` records: sends and replies as messages, faults and node steps
    /// as notes, the failed check as the violation.
    pub fn from_trace(jsonl: &str, max: usize) -> Sequence {
        let records: Vec<Value> = jsonl
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        // A node's internal steps and the leader's empty heartbeats (and
        // their replies) are most of any trace and say nothing about a
        // counterexample; messages that carry entries, client traffic,
        // faults and the check stay.
        let telling: Vec<&Value> = records
            .iter()
            .filter(|r| {
                let what = r["what"].as_str().unwrap_or("");
                r["kind"] != "node" && what != "heartbeat" && what != "heartbeat-reply"
            })
            .collect();
        // Replication traffic (appends and their replies) is shown only
        // just before the violation; client requests and answers, faults
        // and elections are shown throughout.
        let tail_from = telling.len().saturating_sub(12);
        let shown: Vec<&Value> = telling
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                let what = r["what"].as_str().unwrap_or("");
                *i >= tail_from
                    || !r["user"].is_null()
                    || r["kind"] == "fault"
                    || r["kind"] == "check"
                    || what.contains("vote")
            })
            .map(|(_, r)| *r)
            .collect();
        let start = shown.len().saturating_sub(max);
        let mut s = Sequence::default();
        for r in &shown[start..] {
            let kind = r["kind"].as_str().unwrap_or("");
            let from = r["from"].as_str().unwrap_or("?").to_owned();
            let what = r["what"].as_str().unwrap_or("").to_owned();
            let user = r["user"]
                .as_u64()
                .map(|u| format!(" u{u}"))
                .unwrap_or_default();
            let t = r["t_ms"].as_u64().unwrap_or(0);
            match (kind, r["to"].as_str()) {
                ("check", _) => s.push(Event::Violation(format!("{what} violated at {t} ms"))),
                ("fault", to) => s.push(Event::Note {
                    over: to.map(str::to_owned),
                    text: format!("fault: {what}{user} ({t} ms)"),
                }),
                (_, Some(to)) => s.push(Event::Message {
                    from,
                    to: to.to_owned(),
                    label: format!("{what}{user}"),
                }),
                (_, None) => s.push(Event::Note {
                    over: Some(from),
                    text: format!("{what}{user}"),
                }),
            }
        }
        s
    }

    /// From a model checker path (`check ... --json`, a property's `path`):
    /// numbered actions as notes, `X -> Y: ...` and `sends a->b ...` lines
    /// as messages, and the violated property at the end.
    pub fn from_model_path(lines: &[&str], property: &str) -> Sequence {
        let mut s = Sequence::default();
        for line in lines {
            let l = line.trim();
            if let Some(rest) = l.strip_prefix("sends ") {
                if let Some((ends, msg)) = rest.split_once(' ') {
                    if let Some((a, b)) = ends.split_once("->") {
                        s.push(Event::Message {
                            from: a.to_owned(),
                            to: b.to_owned(),
                            label: msg.to_owned(),
                        });
                        continue;
                    }
                }
            }
            if let Some((head, msg)) = l.split_once(": ") {
                if let Some((a, b)) = head.split_once(" -> ") {
                    if !a.contains(' ') || a.starts_with("ClientId") {
                        s.push(Event::Message {
                            from: short_party(a),
                            to: short_party(b),
                            label: msg.to_owned(),
                        });
                        continue;
                    }
                }
            }
            if l.starts_with("start:") || l.starts_with("end:") || l.is_empty() {
                continue;
            }
            let over = ["n0", "n1", "n2", "n3", "n4"]
                .into_iter()
                .find(|n| l.split_whitespace().next() == Some(*n) || l.contains(&format!(" {n} ")))
                .map(str::to_owned);
            s.push(Event::Note {
                over,
                text: l.to_owned(),
            });
        }
        s.push(Event::Violation(property.to_owned()));
        s
    }

    /// Mermaid `sequenceDiagram` text.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("sequenceDiagram\n");
        for p in &self.parties {
            let _ = writeln!(out, "    participant {}", ident(p));
        }
        let all = match (self.parties.first(), self.parties.last()) {
            (Some(a), Some(b)) if a != b => format!("{},{}", ident(a), ident(b)),
            (Some(a), _) => ident(a),
            _ => String::new(),
        };
        for e in &self.events {
            match e {
                Event::Message { from, to, label } => {
                    let _ = writeln!(out, "    {}->>{}: {}", ident(from), ident(to), text(label));
                }
                Event::Note { over, text: t } => {
                    let over = over.as_deref().map_or(all.clone(), ident);
                    if !over.is_empty() {
                        let _ = writeln!(out, "    Note over {over}: {}", text(t));
                    }
                }
                Event::Violation(v) => {
                    if !all.is_empty() {
                        let _ = writeln!(out, "    Note over {all}: VIOLATED {}", text(v));
                    }
                }
            }
        }
        out
    }

    /// A standalone SVG: lifelines, arrows, notes, the violation in red.
    pub fn svg(&self) -> String {
        const COL: usize = 150;
        const ROW: usize = 26;
        const TOP: usize = 40;
        let width = (self.parties.len().max(1)) * COL + 40;
        let height = TOP + (self.events.len() + 1) * ROW + 20;
        let x = |p: &str| {
            let i = self.parties.iter().position(|q| q == p).unwrap_or(0);
            20 + i * COL + COL / 2
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="{width}" height="{height}" font-family="monospace" font-size="11">"#
        );
        let _ = writeln!(
            out,
            r##"<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>"##
        );
        for p in &self.parties {
            let px = x(p);
            let _ = writeln!(
                out,
                r##"<text x="{px}" y="20" text-anchor="middle" font-weight="bold">{}</text><line x1="{px}" y1="28" x2="{px}" y2="{}" stroke="#bbb" stroke-dasharray="4,3"/>"##,
                escape(p),
                height - 10
            );
        }
        for (i, e) in self.events.iter().enumerate() {
            let y = TOP + (i + 1) * ROW;
            match e {
                Event::Message { from, to, label } => {
                    let (x1, x2) = (x(from), x(to));
                    let mid = (x1 + x2) / 2;
                    let _ = writeln!(
                        out,
                        r##"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#333" marker-end="url(#arrow)"/><text x="{mid}" y="{}" text-anchor="middle">{}</text>"##,
                        y - 4,
                        escape(&clip(label, 40))
                    );
                }
                Event::Note { over, text: t } => {
                    let nx = over.as_deref().map_or(20, |p| x(p).saturating_sub(60));
                    let _ = writeln!(
                        out,
                        r##"<text x="{nx}" y="{y}" fill="#7a5500">{}</text>"##,
                        escape(&clip(t, 70))
                    );
                }
                Event::Violation(v) => {
                    let _ = writeln!(
                        out,
                        r##"<rect x="10" y="{}" width="{}" height="{}" fill="#fdd" stroke="#c00"/><text x="20" y="{y}" fill="#c00" font-weight="bold">VIOLATED: {}</text>"##,
                        y - 15,
                        width - 20,
                        ROW - 4,
                        escape(&clip(v, 100))
                    );
                }
            }
        }
        out.push_str("</svg>\n");
        out
    }
}

fn short_party(p: &str) -> String {
    match p.trim() {
        "ClientId(1)" => "owner".to_owned(),
        "ClientId(2)" => "attacker".to_owned(),
        "client" => "client".to_owned(),
        other => other.to_owned(),
    }
}

/// A Mermaid participant name: letters, digits and underscores.
fn ident(p: &str) -> String {
    p.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Mermaid message text: no line breaks, no `;` or `#` (its syntax).
fn text(t: &str) -> String {
    t.replace(['\n', ';', '#'], " ")
}

fn clip(t: &str, n: usize) -> String {
    if t.chars().count() <= n {
        t.to_owned()
    } else {
        let mut s: String = t.chars().take(n - 1).collect();
        s.push('…');
        s
    }
}

/// Text for XML/HTML.
pub fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_becomes_messages_faults_and_the_violation() {
        let trace = r#"{"step":1,"t_ms":5,"kind":"send","from":"a0","to":"n1","what":"login-start","user":0,"arg":0}
{"step":2,"t_ms":6,"kind":"fault","from":"world","to":"n1","what":"crash","user":null,"arg":0}
{"step":3,"t_ms":7,"kind":"check","from":"world","to":null,"what":"LOCK-2","user":0,"arg":0}"#;
        let s = Sequence::from_trace(trace, 10);
        assert_eq!(s.parties, ["a0", "n1"]);
        assert!(matches!(&s.events[0], Event::Message { label, .. } if label == "login-start u0"));
        assert!(matches!(&s.events[2], Event::Violation(v) if v.starts_with("LOCK-2")));
        let m = s.mermaid();
        assert!(m.contains("a0->>n1: login-start u0"), "{m}");
        assert!(m.contains("VIOLATED LOCK-2"), "{m}");
        let svg = s.svg();
        assert!(
            svg.starts_with("<svg") && svg.contains("VIOLATED: LOCK-2"),
            "{svg}"
        );
    }

    #[test]
    fn a_model_path_becomes_a_diagram() {
        let path = [
            "start: n0 Leader t1",
            "1. n2 crashes (unsynced writes lost)",
            "3. client -> n0: Login",
            " ClientId(1) -> n0: KE1 u1 guess 1 blind 200",
            " sends n0->n1 Append t1 prev i5/t1 [] commit i5",
            " n0 replies to ClientId(1): KE2 login 9 (2 left)",
        ];
        let s = Sequence::from_model_path(&path, "LOCK-2 the attempt is durable");
        assert!(s.parties.contains(&"owner".to_owned()) && s.parties.contains(&"n1".to_owned()));
        assert!(matches!(s.events.last(), Some(Event::Violation(_))));
        assert!(s.mermaid().contains("owner->>n0: KE1 u1 guess 1 blind 200"));
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
