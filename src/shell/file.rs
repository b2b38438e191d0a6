//! The embedded default: the same per-message path over JSONL files or stdin, without Kafka.
//! Insights go to stdout or a file as JSONL; dead letters to a separate JSONL file or stderr.

use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;

use crate::analyze::Analyzer;
use crate::decode::{DecodeError, KindHint, Limits};
use crate::insight::SourceRef;
use crate::market::{self, Market};
use crate::memory::eval::LinkRow;
use crate::memory::{self, Memory};
use crate::process::process;
use crate::summary::Summary;

/// A dead letter of a file run, one JSON line.
#[derive(Serialize)]
pub struct FileDeadLetter<'a> {
    pub reason: &'static str,
    pub message: &'a str,
    pub source: &'a SourceRef,
    /// The original line (lossy if it was not UTF-8).
    pub original: String,
}

/// Where a file run reads and writes.
pub struct FileRun {
    /// Input files; empty means stdin.
    pub inputs: Vec<PathBuf>,
    /// Insight output; `None` is stdout.
    pub output: Option<PathBuf>,
    /// Dead-letter output; `None` is stderr.
    pub dead_letters: Option<PathBuf>,
    /// Identity links (JSON lines: `{"account": "twitter:u1", "customer": "CUS-1"}`), read before
    /// the first message.
    pub links: Option<PathBuf>,
    /// Customer insight output; `None` writes none (the summary still counts them).
    pub customer_insights: Option<PathBuf>,
    pub limits: Limits,
    pub memory: memory::Policy,
    /// Trend event output (the market view); `None` writes none (the summary still shows themes).
    pub trends: Option<PathBuf>,
    /// Alert event output; `None` writes none (the summary still counts them).
    pub alerts: Option<PathBuf>,
    pub market: market::Policy,
}

/// Reads identity links, one JSON object a line; blank lines are skipped.
pub fn read_links(path: &Path) -> io::Result<Vec<LinkRow>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} line {}: {e}", path.display(), n + 1),
                )
            })
        })
        .collect()
}

/// The stages after the analysis, in memory: the customer memory and the market view.
struct Stages {
    memory: Memory,
    market: Market,
}

/// Where one run writes.
struct Outputs<'a> {
    out: &'a mut dyn Write,
    dead: &'a mut dyn Write,
    customers: Option<&'a mut dyn Write>,
    trends: Option<&'a mut dyn Write>,
    alerts: Option<&'a mut dyn Write>,
}

impl Outputs<'_> {
    /// Writes what the market view emitted and counts it in the summary.
    fn market(&mut self, out: Vec<market::Output>, summary: &mut Summary) -> io::Result<()> {
        for o in out {
            match o {
                market::Output::Trend(t) => {
                    if let Some(w) = self.trends.as_mut() {
                        serde_json::to_writer(&mut **w, &t)?;
                        w.write_all(b"\n")?;
                    }
                    summary.add_trend(*t);
                }
                market::Output::Alert(a) => {
                    if let Some(w) = self.alerts.as_mut() {
                        serde_json::to_writer(&mut **w, &a)?;
                        w.write_all(b"\n")?;
                    }
                    summary.add_alert(*a);
                }
            }
        }
        Ok(())
    }
}

fn writer(path: &Option<PathBuf>, fallback: Box<dyn Write>) -> io::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(std::fs::File::create(p)?)),
        None => fallback,
    })
}

impl FileRun {
    /// Runs every line of every input through the pipeline and returns the summary.
    pub fn run(&self, analyzer: &Analyzer) -> io::Result<Summary> {
        let mut out = writer(&self.output, Box::new(BufWriter::new(io::stdout().lock())))?;
        let mut dead = writer(&self.dead_letters, Box::new(io::stderr()))?;
        let mut customers = match &self.customer_insights {
            Some(p) => Some(BufWriter::new(std::fs::File::create(p)?)),
            None => None,
        };
        let file = |p: &Option<PathBuf>| -> io::Result<Option<BufWriter<std::fs::File>>> {
            p.as_ref()
                .map(|p| std::fs::File::create(p).map(BufWriter::new))
                .transpose()
        };
        let (mut trends, mut alerts) = (file(&self.trends)?, file(&self.alerts)?);
        let market = Market::new(self.market.clone());
        let mut summary = Summary::default();
        let mut memory = Memory::new(memory::Context {
            policy: self.memory.clone(),
            offerings: memory::Offerings::of(analyzer.catalog()),
        });
        // Links name raw ids; insights carry them pseudonymised, so links are keyed the same way.
        let privacy = analyzer.privacy();
        if let Some(path) = &self.links {
            for l in read_links(path)? {
                let customer = l.customer.as_deref().map(|c| privacy.key_of(c));
                memory.link(&privacy.key_of(&l.account), customer.as_deref());
                summary.links += 1;
            }
        }
        let mut stages = Stages { memory, market };
        let mut outputs = Outputs {
            out: &mut *out,
            dead: &mut *dead,
            customers: customers.as_mut().map(|w| w as &mut dyn Write),
            trends: trends.as_mut().map(|w| w as &mut dyn Write),
            alerts: alerts.as_mut().map(|w| w as &mut dyn Write),
        };
        if self.inputs.is_empty() {
            let stdin = io::stdin();
            self.run_one(
                "stdin",
                stdin.lock(),
                analyzer,
                &mut stages,
                &mut outputs,
                &mut summary,
            )?;
        } else {
            for path in &self.inputs {
                let f = std::fs::File::open(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                let name = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| Path::new(n).display().to_string(),
                );
                self.run_one(
                    &name,
                    io::BufReader::new(f),
                    analyzer,
                    &mut stages,
                    &mut outputs,
                    &mut summary,
                )?;
            }
        }
        let Stages { memory, mut market } = stages;
        outputs.market(market.finish(), &mut summary)?;
        summary.too_late = market.too_late();
        summary.customers = memory.customers().count() as u64;
        summary.multi_channel = memory.customers().filter(|c| c.channels.len() > 1).count() as u64;
        out.flush()?;
        dead.flush()?;
        for w in [customers.as_mut(), trends.as_mut(), alerts.as_mut()]
            .into_iter()
            .flatten()
        {
            w.flush()?;
        }
        Ok(summary)
    }

    fn run_one(
        &self,
        name: &str,
        mut input: impl BufRead,
        analyzer: &Analyzer,
        stages: &mut Stages,
        outputs: &mut Outputs<'_>,
        summary: &mut Summary,
    ) -> io::Result<()> {
        let mut line = Vec::new();
        let mut number = 0i64;
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            number += 1;
            let value = line.strip_suffix(b"\n").unwrap_or(&line);
            let value = value.strip_suffix(b"\r").unwrap_or(value);
            // Blank lines separate nothing in JSONL; they are not messages.
            if value.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let at = SourceRef {
                topic: name.to_string(),
                partition: 0,
                offset: number,
            };
            match process(
                Some(value),
                KindHint::Auto,
                self.limits,
                analyzer,
                at.clone(),
                Utc::now(),
            ) {
                Ok(insight) => {
                    serde_json::to_writer(&mut *outputs.out, &insight)?;
                    outputs.out.write_all(b"\n")?;
                    summary.add_insight(&insight);
                    for c in stages.memory.observe(&insight) {
                        if let Some(w) = outputs.customers.as_mut() {
                            serde_json::to_writer(&mut **w, &c)?;
                            w.write_all(b"\n")?;
                        }
                        summary.add_customer_insight(c);
                    }
                    outputs.market(stages.market.observe(&insight), summary)?;
                }
                Err(DecodeError { reason, message }) => {
                    let dl = FileDeadLetter {
                        reason: reason.as_str(),
                        message: &message,
                        source: &at,
                        original: String::from_utf8_lossy(value).into_owned(),
                    };
                    serde_json::to_writer(&mut *outputs.dead, &dl)?;
                    outputs.dead.write_all(b"\n")?;
                    summary.add_dead_letter(reason);
                }
            }
        }
        Ok(())
    }
}
