//! The `earshot` command: the Kafka daemon, the file runner and the config checker.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use earshot::analyze::Analyzer;
use earshot::config::{Config, LogFormat};
use earshot::decode::{KindHint, Limits};
use earshot::insight::SourceRef;
use earshot::process::process;
use earshot::shell::file::FileRun;
use earshot::shell::metrics::Metrics;
use earshot::shell::{cancel_on_signal, http, kafka, reload, Health};

/// mimalloc: the daemon allocates a few short-lived buffers per message on several threads at once
/// (decode, insight JSON, Kafka records); glibc malloc showed as a tenth of its CPU in perf.
#[global_allocator]
static GLOBAL: earshot::allocator::Mimalloc = earshot::allocator::Mimalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Social listening stream processor: Kafka in, customer insights out."
)]
struct Cli {
    /// Config file (TOML). Without one, the documented defaults apply; EARSHOT_* variables override.
    #[arg(long, short, global = true, env = "EARSHOT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    Analysis,
    Memory,
    Market,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: consume from Kafka, produce insights and dead letters; or, with
    /// `--role memory`, the customer memory stage (insights in, customer insights out); or, with
    /// `--role market`, the market stage (insights in, trend and alert events out).
    Run {
        /// analysis: messages to insights. memory: insights to per-customer state and customer
        /// insights. market: insights to windows per brand, trends and alerts
        /// (docs/architecture.md). Run each as a deployment of the same image.
        #[arg(long, value_enum, default_value = "analysis", env = "EARSHOT_ROLE")]
        role: Role,
    },
    /// Erase a customer from the customer memory: their state (and its changelog, by a tombstone)
    /// and every identity link to them. Takes the customer id as the CRM knows it.
    Forget {
        /// The customer id (hashed with EARSHOT_PRIVACY_KEY, as the memory keys it).
        customer: String,
    },
    /// Run the same pipeline over JSONL files (or stdin) and print a summary.
    File {
        /// JSONL inputs; none reads stdin.
        inputs: Vec<PathBuf>,
        /// Catalog to match mentions against (default: catalog.path, else the built-in sample).
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Write insights here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Write dead letters here instead of stderr.
        #[arg(long)]
        dead_letters: Option<PathBuf>,
        /// Identity links, JSON lines `{"account": "twitter:u1", "customer": "CUS-1"}` (the
        /// identity-links topic's records): they join one person's accounts in the customer
        /// memory. Default for the bundled sample: samples/links.jsonl beside it.
        #[arg(long)]
        links: Option<PathBuf>,
        /// Write customer insights (earshot.customer_insight.v1) here.
        #[arg(long)]
        customer_insights: Option<PathBuf>,
        /// Write the market view's trend events (earshot.trend.v1) here.
        #[arg(long)]
        trends: Option<PathBuf>,
        /// Write the market view's alert events (earshot.alert.v1) here.
        #[arg(long)]
        alerts: Option<PathBuf>,
    },
    /// Validate the config and the catalog; exit non-zero with every problem found.
    Check,
    /// Print Pearson r, 3-class macro-F1 and macro-recall of the message sentiment (the learned
    /// model) and of the lexicon alone on human-rated ground truth.
    EvalSentiment {
        /// Ground-truth files (id<TAB>mean rating or label word<TAB>text; or the flagged batches'
        /// id<TAB>flag<TAB>sentiment<TAB>text: irony, complaints) or corpus batches (.jsonl, their
        /// `sentiment` label), or folders of them (each folder one set).
        #[arg(default_values = ["data/vader/tweets_GroundTruth.txt", "data/vader/movieReviewSnippets_GroundTruth.txt", "data/earshot/sentiment/batches", "data/earshot/sentiment/snippets"])]
        files: Vec<PathBuf>,
        /// Only the rows of this split (by a hash of the id: test is the held-out fifth the model
        /// never trained or tuned on; for a corpus batch, the corpus's own splits); `all` for
        /// files that are not part of the training data.
        #[arg(long, default_value = "all")]
        split: String,
        /// A sentiment model file to read with instead of the bundled one (one that
        /// `train-sentiment --out` wrote), to compare a model before it ships.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Under each set, the model's r and macro-F1 minus the lexicon's, each with a 95%
        /// interval from a paired bootstrap (1,000 resamples of the set's rows): whether the set
        /// says one reading is better or only that it came out higher this time.
        #[arg(long)]
        paired: bool,
    },
    /// Print per-mention sentiment figures on corpus messages about two brands or more: each
    /// brand's reading against the message's label given to all, overall and where the brands'
    /// labels differ.
    EvalAspects {
        /// Corpus batches (JSON lines); the catalog beside their folder is used.
        #[arg(default_values = ["data/earshot/corpus/batches/t01.jsonl", "data/earshot/corpus/batches/t02.jsonl"])]
        files: Vec<PathBuf>,
        /// Only the rows of this split (train, dev or test).
        #[arg(long)]
        split: Option<String>,
        /// A sentiment model file to read with instead of the bundled one (one that
        /// `train-sentiment --out` wrote).
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Train the sentiment model (GoEmotions, VADER's ground truth, the corpus, the sentiment
    /// batches, the review and editorial sentences: train splits), tune its thresholds on the dev
    /// splits, write the model file.
    TrainSentiment {
        #[arg(long, default_value = "data/goemotions/train.tsv")]
        goemotions: PathBuf,
        #[arg(long, default_value = "data/goemotions/dev.tsv")]
        goemotions_dev: PathBuf,
        /// Rated files or folders of them (id<TAB>rating or label<TAB>text, or the flagged
        /// batches' id<TAB>flag<TAB>sentiment<TAB>text: irony, complaints), split by id.
        #[arg(long, default_values = ["data/vader/tweets_GroundTruth.txt", "data/vader/movieReviewSnippets_GroundTruth.txt", "data/earshot/sentiment/batches", "data/earshot/sentiment/snippets"])]
        rated: Vec<PathBuf>,
        #[arg(long, default_value = "data/earshot/corpus")]
        corpus: PathBuf,
        #[arg(long, default_value = "data/earshot/sentiment.model")]
        out: PathBuf,
        #[arg(long, default_value_t = earshot::polarity::TrainOptions::default().epochs)]
        epochs: usize,
        #[arg(long, default_value_t = earshot::polarity::TrainOptions::default().learning_rate)]
        learning_rate: f32,
        /// Weight of a GoEmotions comment against a tweet, review or post of the other sets.
        #[arg(long, default_value_t = 0.25)]
        goemotions_weight: f32,
        /// Weight of a corpus message or brand mention against a row of the rated sets (which
        /// weigh 1, the review and editorial sentences 1.5; docs/analysis.md, "The whole
        /// corpus").
        #[arg(long, default_value_t = 0.5)]
        corpus_weight: f32,
        /// Weight of one rated source's rows, as STEM=WEIGHT (the file or folder's stem, e.g.
        /// tweets_GroundTruth=2); repeated for several. Sources not named here weigh 1, but for a
        /// folder named `snippets` (the review and editorial sentences), 1.5.
        #[arg(long = "rated-weight", value_parser = parse_stem_weight)]
        rated_weights: Vec<(String, f32)>,
        /// Models trained on as many shuffles of the data, their weights averaged.
        #[arg(long, default_value_t = earshot::polarity::TrainOptions::default().shuffles)]
        shuffles: usize,
        /// Corpus batches (file stems, comma-separated, e.g. b31,b32) the sentiment model does
        /// not read. By default it reads every training batch but `b65`–`b72` and `b81`–`b120`,
        /// which train the signals only: with them its dev sets that are not the corpus's fell
        /// (docs/analysis.md, "How much more text would buy"); `--skip-batches ""` reads them.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "b65,b66,b67,b68,b69,b70,b71,b72,b81,b82,b83,b84,b85,b86,b87,b88,b89,b90,b91,b92,b93,b94,b95,b96,b97,b98,b99,b100,b101,b102,b103,b104,b105,b106,b107,b108,b109,b110,b111,b112,b113,b114,b115,b116,b117,b118,b119,b120"
        )]
        skip_batches: Vec<String>,
    },
    /// Language detection on messages without a language tag: per language, the share detected as
    /// that language and the share left unread (every language but English should be).
    EvalLanguage {
        /// Labelled sets (a header, then id<TAB>language<TAB>text).
        #[arg(default_values = ["data/earshot/languages/posts.tsv"])]
        files: Vec<PathBuf>,
        /// English text, as FILE:COLUMN (0-based tab-separated column of the text): how much
        /// English would be left unread.
        #[arg(long, default_values = ["data/vader/tweets_GroundTruth.txt:2", "data/goemotions/dev.tsv:0"])]
        english: Vec<String>,
    },
    /// Train the emotion model on GoEmotions (thresholds tuned on dev) and write the model file.
    TrainEmotions {
        #[arg(long, default_value = "data/goemotions/train.tsv")]
        train: PathBuf,
        #[arg(long, default_value = "data/goemotions/dev.tsv")]
        dev: PathBuf,
        #[arg(long, default_value = "data/earshot/emotions.model")]
        out: PathBuf,
        #[arg(long, default_value_t = 8)]
        epochs: usize,
        #[arg(long, default_value_t = 0.025)]
        learning_rate: f32,
        #[arg(long, default_value_t = 1e-6)]
        l2: f32,
    },
    /// Print macro-F1 of the bundled emotion model (28 labels and Ekman groups) on a GoEmotions file.
    EvalEmotions {
        #[arg(default_value = "data/goemotions/dev.tsv")]
        file: PathBuf,
    },
    /// Print precision and recall of the mention engine on a labelled set (JSONL).
    EvalMentions {
        /// Labelled messages: {"text", "channel", "lang", "author", "expect": [brand and product ids]}.
        #[arg(long, default_value = "tests/mentions/labelled.jsonl")]
        labels: PathBuf,
        /// Catalog to evaluate (default: the config's catalog.path, else the sample built in).
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Also list every message with a missing or extra id.
        #[arg(long)]
        misses: bool,
    },
    /// Train the model that tells a post naming a brand the catalog does not list (a target for
    /// brand-directed intents and the phase): the corpus's posts and the general-timeline posts,
    /// train splits; the threshold on the dev splits' posts that tag no account. Byte for byte
    /// the same for the same data.
    TrainNames {
        /// The corpus folder (its batches/*.jsonl; the frozen test batches are never read).
        #[arg(long, default_value = "data/earshot/corpus")]
        corpus: PathBuf,
        /// General-timeline posts (id<TAB>label<TAB>text, files or folders of *.tsv), split by id.
        #[arg(long, default_values = ["data/earshot/sentiment/batches"])]
        general: Vec<PathBuf>,
        /// Whether each general post names a brand (id<TAB>0 or 1<TAB>the name), read by people.
        #[arg(long, default_value = "data/earshot/names/general.tsv")]
        general_names: PathBuf,
        /// Files whose words make the general vocabulary (a word not in it may be a name).
        #[arg(long, default_values = ["data/goemotions/train.tsv", "data/goemotions/dev.tsv", "data/vader/tweets_GroundTruth.txt", "data/vader/movieReviewSnippets_GroundTruth.txt", "data/vader/vader_lexicon.txt"])]
        vocabulary: Vec<PathBuf>,
        /// The largest share of the dev split's general posts the threshold may flag.
        #[arg(long, default_value_t = earshot::signals::names::Settings::default().budget)]
        budget: f32,
        #[arg(long, default_value_t = 2)]
        min_count: u32,
        #[arg(long, default_value_t = earshot::signals::names::Settings::default().epochs)]
        epochs: u32,
        #[arg(long, default_value_t = earshot::signals::names::Settings::default().learning_rate)]
        learning_rate: f32,
        #[arg(long, default_value_t = earshot::signals::names::Settings::default().l2)]
        l2: f32,
        #[arg(long, default_value = "data/earshot/names.model")]
        out: PathBuf,
        /// Also print the dev posts the model gets wrong: those naming a brand it misses, and the
        /// general posts naming none that it flags.
        #[arg(long)]
        misses: bool,
        /// Measure instead of writing: leave each batch out in turn (of its training, tuning and
        /// vocabulary), train on the rest, and read the left-out batch's posts that tag no
        /// account: how well the model reads a writer it has never seen.
        #[arg(long)]
        cross_batches: bool,
    },
    /// Train the signal model and the per-brand model on the corpus, tune their thresholds on
    /// predictions made across batches (or on the dev split, with --across 0), and write them
    /// (byte for byte the same for the same corpus). The frozen test split is never read.
    TrainSignals {
        /// The corpus folder: catalog.toml and batches/*.jsonl.
        #[arg(long, default_value = "data/earshot/corpus")]
        corpus: PathBuf,
        /// Where to write the model.
        #[arg(long, default_value = "data/earshot/signals.model")]
        out: PathBuf,
        /// Where to write the per-brand model.
        #[arg(long, default_value = "data/earshot/aspects.model")]
        aspects_out: PathBuf,
        /// More training sets in the TSV format of tests/signals/ (all of their rows train).
        /// tests/signals/holdout2.tsv stays held out.
        #[arg(long, default_values = ["tests/signals/labelled.tsv", "tests/signals/holdout.tsv"])]
        extra: Vec<PathBuf>,
        /// Sincere praise that teaches sarcasm alone: VADER's tweets rated +1.5 or more (train
        /// split) from this file...
        #[arg(long, default_value = "data/vader/tweets_GroundTruth.txt")]
        sincere_vader: PathBuf,
        /// ...and GoEmotions comments with positive emotions only from this one,
        #[arg(long, default_value = "data/goemotions/train.tsv")]
        sincere_goemotions: PathBuf,
        /// one in this many of them (by comment id); 0 leaves both sets out.
        #[arg(long, default_value_t = 4)]
        sincere_every: u64,
        /// Irony batches (`id<TAB>irony<TAB>sentiment<TAB>text`, every *.tsv of the folder) that
        /// teach sarcasm alone: timeline posts about anything, ironic or not. Their frozen test
        /// batches live in another folder (`earshot eval-sarcasm` reads them).
        #[arg(long, default_value = "data/earshot/irony/batches")]
        irony: PathBuf,
        /// Leave the irony batches out.
        #[arg(long)]
        no_irony: bool,
        /// Complaint batches (`id<TAB>complaint<TAB>sentiment<TAB>text`, every *.tsv of the folder)
        /// that teach the complaint intent alone, and tune its threshold with the corpus's batches:
        /// tweets to and about companies, the company tagged anywhere or not at all. Their frozen
        /// test batches live in another folder (`earshot eval-complaints` reads them).
        #[arg(long, default_value = "data/earshot/complaints/batches")]
        complaints: PathBuf,
        /// Leave the complaint batches out.
        #[arg(long)]
        no_complaints: bool,
        /// Let the complaint batches train only, not tune the complaint threshold.
        #[arg(long)]
        no_complaint_tuning: bool,
        #[arg(long, default_value_t = earshot::signals::train::TrainOptions::default().epochs)]
        epochs: usize,
        #[arg(long, default_value_t = earshot::signals::train::TrainOptions::default().learning_rate)]
        learning_rate: f32,
        #[arg(long, default_value_t = earshot::signals::train::TrainOptions::default().positive_weight)]
        positive_weight: f32,
        #[arg(long, default_value_t = earshot::signals::train::TrainOptions::default().l2)]
        l2: f32,
        /// The least precision sarcasm's threshold must give where it is tuned.
        #[arg(long, default_value_t = earshot::signals::train::TrainOptions::default().sarcasm_precision)]
        sarcasm_precision: f64,
        /// The least precision the threshold of sarcasm on a message with no target must give
        /// where it is tuned (the rows with no target, read across folds). That threshold is
        /// tuned only across folds with the second reading: not with --across 0 or --no-stack.
        #[arg(long, default_value_t = earshot::signals::train::UNTARGETED_SARCASM_PRECISION)]
        untargeted_sarcasm_precision: f64,
        /// One sarcasm threshold for every message, with a target or not (to measure what the
        /// threshold of its own for messages with no target does).
        #[arg(long, conflicts_with = "untargeted_sarcasm_precision")]
        one_sarcasm_threshold: bool,
        /// The order of the rows in training (the default gives the shipped model; another seed
        /// shows how much of a change in the figures the order alone makes).
        #[arg(long, default_value_t = earshot::signals::train::TrainOptions::default().seed)]
        seed: u64,
        /// Models trained in as many orders (from --seed on), their weights averaged.
        #[arg(long, default_value_t = earshot::signals::train::TrainOptions::default().shuffles)]
        shuffles: usize,
        /// Read the message model's outputs once: no second reading (docs/analysis.md, "A second
        /// reading"), to measure what it adds.
        #[arg(long)]
        no_stack: bool,
        /// Units of a hidden layer beside the message model's linear first reading (0: none;
        /// docs/analysis.md, "A hidden layer in earshot").
        #[arg(long, default_value_t = 0)]
        hidden: usize,
        /// The hidden layer's learning rate (AdaGrad).
        #[arg(long, default_value_t = earshot::signals::train::TrainOptions::default().hidden_rate)]
        hidden_rate: f32,
        /// Write no model: measure the settings leave-one-batch-out instead (train on every batch
        /// but one, measure on the one left out, for each batch), which says how they carry to a
        /// writer the model has not read. The frozen test split is not read.
        #[arg(long)]
        cross_batches: bool,
        /// Tune the thresholds on predictions made across batches, in this many folds of batches
        /// (each fold's rows read by a model that learnt from the others), and learn from every
        /// row; 0 tunes them on the dev split instead, which the model then does not learn from.
        #[arg(long, default_value_t = 5)]
        across: usize,
        /// With --cross-batches: leave out a group of batches at a time, in this many groups
        /// (batch `j` in group `j % N`), instead of one batch: N models, so the full form
        /// (thresholds tuned across batches) runs in minutes.
        #[arg(
            long,
            requires = "cross_batches",
            conflicts_with_all = ["complaint_batches", "irony_batches"],
            value_parser = clap::value_parser!(u64).range(2..)
        )]
        groups: Option<u64>,
        /// With --cross-batches: measure the per-brand model instead.
        #[arg(long, requires = "cross_batches")]
        aspects: bool,
        /// With --cross-batches: leave out each complaint batch instead (the model learns from
        /// the corpus and the other complaint batches), and print the complaint intent's figures.
        #[arg(long, requires = "cross_batches", conflicts_with = "aspects")]
        complaint_batches: bool,
        /// With --cross-batches: leave out each irony batch instead (the model learns from
        /// everything else it ships with: the corpus, the other irony batches, the sincere texts,
        /// the complaint batches; and is tuned as the shipped one is), and print sarcasm's figures
        /// on the batch left out: how the flags carry to a writer of timeline posts the model has
        /// not read. The threshold for messages with no target needs the default --across and
        /// the second reading (no --no-stack).
        #[arg(long, requires = "cross_batches", conflicts_with_all = ["complaint_batches", "aspects"])]
        irony_batches: bool,
    },
    /// Sarcasm flags on sincere praise people labelled for something else (VADER's tweets rated
    /// +1.5 or more, test split; GoEmotions dev comments with positive emotions only): the share
    /// flagged ironic, and the share read as a complaint. Every flag there is false. Then the
    /// recall on real sarcasm: GoEmotions comments their writers marked `/s`, the marker cut off.
    /// Last, precision, recall and F1 on the irony batches' frozen test files.
    EvalSarcasm {
        #[arg(long, default_value = "data/vader/tweets_GroundTruth.txt")]
        vader: PathBuf,
        #[arg(long, default_value = "data/goemotions/dev.tsv")]
        goemotions: PathBuf,
        /// GoEmotions files whose `/s`-marked comments measure recall (training reads none of
        /// them as sarcastic or sincere).
        #[arg(long, num_args = 1.., default_values = ["data/goemotions/train.tsv", "data/goemotions/dev.tsv"])]
        marked: Vec<PathBuf>,
        /// The irony batches' frozen test files (or folders of them): precision, recall and F1
        /// of sarcasm on timeline posts their writers labelled ironic or not.
        #[arg(long, num_args = 1.., default_values = ["data/earshot/irony/test"])]
        irony: Vec<PathBuf>,
        /// Print each miss: a sincere text flagged sarcastic, a marked one not flagged.
        #[arg(long)]
        misses: bool,
    },
    /// The complaint intent on tweets to and about companies, labelled complaint or not by their
    /// writers (the complaint batches' frozen test files): precision, recall and F1 of each class
    /// and their mean (macro-F1, as published complaint classifiers report it), recall by where
    /// the tweet tags the company, and the lexicon's "negative means complaint" beside it.
    EvalComplaints {
        /// Files of `id<TAB>complaint<TAB>sentiment<TAB>text`, or folders of them (*.tsv).
        #[arg(default_values = ["data/earshot/complaints/test"])]
        files: Vec<PathBuf>,
        /// The catalog (default: catalog.toml, else catalog.path, else the built-in sample).
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Print each miss: a complaint not read as one, another tweet read as one.
        #[arg(long)]
        misses: bool,
    },
    /// Print precision and recall per label of context, effort, intents, journey phase and sarcasm
    /// on a labelled set, read back from the insight events.
    EvalSignals {
        /// Labelled messages: TSV (kind context effort intents phase sarcasm text), or corpus JSON
        /// lines (data/earshot/corpus/batches/*.jsonl; see the corpus's GUIDE.md).
        #[arg(default_values = ["tests/signals/labelled.tsv"])]
        files: Vec<PathBuf>,
        /// Of corpus files, only the rows of this split: train, dev or test (the frozen t01, t02, t03).
        #[arg(long)]
        split: Option<String>,
        /// Measure the readings per brand instead (intents and phase of each brand), on the
        /// corpus rows about two brands or more.
        #[arg(long)]
        mentions: bool,
        /// Catalog the messages are matched against (default: for corpus files the corpus's
        /// catalog.toml, else catalog.path, else the built-in sample).
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Also list every message whose labels differ.
        #[arg(long)]
        misses: bool,
        /// Under each family, its micro-F1's 95% interval over 1,000 samples of as many messages
        /// drawn again with replacement: how far the figure could move on another set written
        /// the same way.
        #[arg(long)]
        intervals: bool,
    },
    /// The market view over insight files: event-time windows per brand, product, line and
    /// segment (`schemas/trend.v1.json`) and spike alerts (`schemas/alert.v1.json`), as JSON
    /// lines. Windows, themes and alert rules come from `[market]` in the configuration.
    Trends {
        /// Insight files (JSON lines, as `earshot file` writes them); stdin when none.
        files: Vec<PathBuf>,
        /// Where trend events go (default stdout).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Where alert events go (default: none written, counted in the summary).
        #[arg(long)]
        alerts: Option<PathBuf>,
    },
    /// One self-contained HTML page for people: volume and net sentiment over time per brand,
    /// share of voice, emotion and intent mix, new and rising themes, alerts, and the customers at
    /// risk when customer insights are among the files.
    Report {
        /// Insight and customer insight files (JSON lines); stdin when none.
        files: Vec<PathBuf>,
        /// The page to write.
        #[arg(long, short, default_value = "report.html")]
        output: PathBuf,
        /// The page's title.
        #[arg(long, default_value = "earshot market report")]
        title: String,
    },
    /// Measure the spike alerts on generated streams with injected incidents: the share detected
    /// within two windows and false alerts per simulated day.
    EvalAlerts {
        /// dev (the seeds the rules may be tuned on), test (never tuned on) or all.
        #[arg(long, default_value = "test")]
        split: String,
    },
    /// Print each customer insight type's precision and recall on labelled customer histories
    /// (each history through the whole pipeline and a fresh customer memory).
    EvalMemory {
        /// History files (JSON lines) or folders of them.
        #[arg(default_values = ["tests/memory/scenarios"])]
        files: Vec<PathBuf>,
        /// dev, test (the frozen 6 in 10 never tuned on) or all.
        #[arg(long, default_value = "test")]
        split: String,
        /// Also list every history whose raised types differ from the expected ones.
        #[arg(long)]
        misses: bool,
        /// Print what the memory read in each message of these histories (ids), and stop.
        #[arg(long, value_delimiter = ',')]
        show: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A command piped into `head` should stop quietly when the reader goes away, as Unix tools do.
    // Not the daemon: a socket whose peer left must be an error it handles, not a signal that
    // kills it (Rust ignores SIGPIPE by default for that reason).
    if !matches!(cli.command, Command::Run { .. }) {
        sigpipe::reset();
    }
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("earshot: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = std::env::var("EARSHOT_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| config.log.level.clone());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only for a person at a terminal: a log file or a container log gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Where a command's catalog comes from: a file, named by the setting that chose it (for its
/// errors), or the sample catalog built into the binary.
enum CatalogSource {
    File { path: PathBuf, key: &'static str },
    BuiltIn,
}

impl CatalogSource {
    /// `--catalog` first, then the config's `catalog.path`, else the built-in sample.
    fn of(flag: Option<PathBuf>, config: &Config) -> CatalogSource {
        match (flag, &config.catalog.path) {
            (Some(path), _) => CatalogSource::File {
                path,
                key: "--catalog",
            },
            (None, Some(path)) => CatalogSource::File {
                path: path.clone(),
                key: "catalog.path",
            },
            (None, None) => CatalogSource::BuiltIn,
        }
    }

    /// Reads and compiles the catalog into an analyser; also returns the catalog's text. A file
    /// that can't be read or compiled is an error naming the setting and the path, once.
    fn load(&self) -> anyhow::Result<(Analyzer, String)> {
        match self {
            CatalogSource::File { path, key } => {
                reload::load(path).map_err(|e| anyhow::Error::new(e).context(*key))
            }
            CatalogSource::BuiltIn => {
                eprintln!(
                    "earshot: no catalog configured (--catalog, catalog.path): using the sample \
                     catalog built into earshot"
                );
                let catalog = earshot::catalog::Catalog::parse(earshot::catalog::SAMPLE)?;
                Ok((
                    Analyzer::new(catalog)?,
                    earshot::catalog::SAMPLE.to_string(),
                ))
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            CatalogSource::File { path, .. } => path.display().to_string(),
            CatalogSource::BuiltIn => "(the built-in sample)".into(),
        }
    }
}

/// The links file of the bundled sample, when the inputs are exactly the sample: `links.jsonl`
/// beside `stream.jsonl`.
fn sample_links(inputs: &[PathBuf]) -> Option<PathBuf> {
    match inputs {
        [one] if one.file_name().is_some_and(|n| n == "stream.jsonl") => {
            Some(one.with_file_name("links.jsonl")).filter(|p| p.exists())
        }
        _ => None,
    }
}

/// One line about what the market view read and emitted.
fn market_summary(h: &earshot::shell::market::Heard) -> String {
    let corrections = h.trends.iter().filter(|t| t.revision > 0).count();
    let mut s = format!(
        "earshot market: {} insights, {} trend events ({} corrections), {} alerts, {} too late",
        h.insights,
        h.trends.len(),
        corrections,
        h.alerts.len(),
        h.too_late
    );
    if !h.customers.is_empty() {
        s.push_str(&format!(", {} customer insights", h.customers.len()));
    }
    if let Some(first) = &h.first_skipped {
        s.push_str(&format!(
            "\nearshot market: skipped {} lines that are neither insights nor customer insights (first: {first})",
            h.skipped
        ));
    }
    s
}

/// Files as given, and each folder's `.jsonl` files in name order.
fn expand_folders(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    files_in(paths, "jsonl")
}

/// The batches of a flagged training folder (`--irony`, `--complaints`: every *.tsv, see
/// [`earshot::signals::train::parse_flagged`]), each file's name and rows: a file is one writer's
/// batch. An empty folder is an error (its `--no-` option leaves the batches out), and so is a
/// file in a `test` folder: the frozen test split is never trained on.
fn flagged_training_rows(
    dir: &PathBuf,
    option: &str,
) -> anyhow::Result<Vec<(String, Vec<earshot::signals::train::FlagRow>)>> {
    let files = files_in(std::slice::from_ref(dir), "tsv")?;
    if files.is_empty() {
        anyhow::bail!(
            "--{option} {}: no batches (*.tsv) there (--no-{option} leaves them out)",
            dir.display()
        );
    }
    if let Some(f) = files
        .iter()
        .find(|f| f.components().any(|c| c.as_os_str() == "test"))
    {
        anyhow::bail!(
            "--{option}: {} is in a test folder, and the frozen test split is never trained on",
            f.display()
        );
    }
    let mut batches = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        let rows = earshot::signals::train::parse_flagged(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        let name = f
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        batches.push((name, rows));
    }
    Ok(batches)
}

/// The signals of the `n`th labelled text read as a timeline post
/// ([`earshot::signals::train::timeline_input`]); `None` for a text the daemon would dead-letter
/// (empty, too long) or does not read (another language).
fn timeline_signals(
    analyzer: &Analyzer,
    n: usize,
    text: &str,
) -> Option<earshot::signals::Signals> {
    let input = earshot::signals::train::timeline_input(n, text);
    let i = earshot::decode::decode(
        Some(input.to_string().as_bytes()),
        KindHint::Auto,
        Limits::default(),
    )
    .ok()?;
    analyzer.analyze(&i).signals
}

/// One line of a yes/no reading's figures: each class's P/R/F1, macro-F1 and accuracy.
fn print_binary(name: &str, yes: &str, b: &earshot::signals::eval::Binary) {
    println!(
        "{name}: {yes} P {:.3} R {:.3} F1 {:.3}; not P {:.3} R {:.3} F1 {:.3}; macro-F1 {:.3}, accuracy {:.3}",
        b.yes.precision(),
        b.yes.recall(),
        b.yes.f1(),
        b.no.precision(),
        b.no.recall(),
        b.no.f1(),
        b.macro_f1(),
        b.accuracy()
    );
}

/// Files as given, and each folder's files with the extension `ext`, in name order.
fn files_in(paths: &[PathBuf], ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// A sentiment model file that `train-sentiment --out` wrote.
fn read_sentiment_model(p: &std::path::Path) -> anyhow::Result<earshot::polarity::SentimentModel> {
    let b = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    earshot::polarity::SentimentModel::from_bytes(&b)
        .with_context(|| format!("{}: not a sentiment model", p.display()))
}

/// The catalog beside a corpus batch's folder (`corpus/catalog.toml` for
/// `corpus/batches/b01.jsonl`), if there is one.
fn catalog_beside(batch: &std::path::Path) -> Option<PathBuf> {
    batch
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("catalog.toml"))
        .filter(|c| c.exists())
}

fn load_analyzer(flag: Option<PathBuf>, config: &Config) -> anyhow::Result<Analyzer> {
    Ok(CatalogSource::of(flag, config).load()?.0)
}

/// The environment variable that holds the secret of the pseudonymous keys.
const PRIVACY_KEY: &str = "EARSHOT_PRIVACY_KEY";

/// The privacy settings of a run. The daemon needs the secret when it pseudonymises: without it
/// the keys could not be the same from one run to the next. A file run without it pseudonymises
/// with a key of its own, random, and says so: keys hold within the run only.
fn privacy(config: &Config, daemon: bool) -> anyhow::Result<earshot::privacy::Privacy> {
    use earshot::privacy::Privacy;
    let p = &config.privacy;
    if !p.pseudonymise {
        return Ok(Privacy::redacting(p.redact_text));
    }
    match std::env::var(PRIVACY_KEY) {
        Ok(secret) => {
            Privacy::pseudonymising(secret.as_bytes(), p.redact_text).context(PRIVACY_KEY)
        }
        Err(_) if daemon => anyhow::bail!(
            "privacy.pseudonymise is on: set {PRIVACY_KEY} to a secret of at least {} bytes \
             (the same for every instance and every restart), or set privacy.pseudonymise = false",
            earshot::privacy::MIN_SECRET_BYTES
        ),
        Err(_) => {
            eprintln!(
                "earshot: no {PRIVACY_KEY}: party ids are pseudonymised with a random key of this \
                 run (set it to keep them stable across runs)"
            );
            let key = *uuid::Uuid::new_v4().as_bytes();
            let key2 = *uuid::Uuid::new_v4().as_bytes();
            let secret: Vec<u8> = key.iter().chain(&key2).copied().collect();
            Ok(Privacy::pseudonymising(&secret, p.redact_text)?)
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref()).context("invalid configuration")?;
    match cli.command {
        Command::Check => {
            let source = CatalogSource::of(None, &config);
            let (analyzer, _) = source.load()?;
            let catalog = analyzer.catalog();
            let products: usize = catalog.brands.iter().map(|b| b.products.len()).sum();
            println!(
                "config ok; catalog {} ok: {} brands, {} products, version {}",
                source.describe(),
                catalog.brands.len(),
                products,
                catalog.version
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::TrainEmotions {
            train,
            dev,
            out,
            epochs,
            learning_rate,
            l2,
        } => {
            let read = |p: &PathBuf| -> anyhow::Result<Vec<earshot::emotion::Example>> {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                earshot::emotion::parse_goemotions(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
            };
            let (tr, dv) = (read(&train)?, read(&dev)?);
            let start = std::time::Instant::now();
            let options = earshot::emotion::TrainOptions {
                epochs,
                learning_rate,
                l2,
            };
            let model = earshot::emotion::train(&tr, &dv, options);
            let bytes = model.to_bytes();
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            // Report on what was written: the quantised model, as it ships.
            let shipped = earshot::emotion::EmotionModel::from_bytes(&bytes)?;
            let (l, e) = earshot::emotion::evaluate(&shipped, &dv);
            println!(
                "trained on {} examples in {:.1} s; {} ({} bytes); dev macro-F1: 28 labels {:.3}, Ekman {:.3}",
                tr.len(),
                start.elapsed().as_secs_f64(),
                out.display(),
                bytes.len(),
                l,
                e
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalEmotions { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let rows = earshot::emotion::parse_goemotions(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let model = earshot::emotion::EmotionModel::bundled()?;
            let (l, e) = earshot::emotion::evaluate(&model, &rows);
            println!(
                "{}: {} examples; macro-F1: 28 labels {:.3}, Ekman {:.3}",
                file.display(),
                rows.len(),
                l,
                e
            );
            let (l, e) = earshot::emotion::evaluate_cross_tuned(&model, &rows);
            println!(
                "  thresholds tuned on one half, scored on the other (both ways, mean): 28 labels {l:.3}, Ekman {e:.3}"
            );
            let (label, group, neutral) = earshot::emotion::dominant_agreement(&model, &rows);
            println!(
                "  dominant emotion among the gold labels: {label:.3}; its Ekman group: {group:.3}; neutral-only texts read neutral: {neutral:.3}"
            );
            let (label, group, neutral) =
                earshot::emotion::dominant_agreement_cross_tuned(&model, &rows);
            println!(
                "  the same, thresholds tuned on one half, scored on the other (both ways, mean): {label:.3}; {group:.3}; {neutral:.3}"
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalLanguage { files, english } => {
            use earshot::language::{evaluate, LanguageDetector};
            let detector = LanguageDetector::new();
            let mut sets: Vec<(String, Vec<(String, String)>)> = Vec::new();
            for f in &files {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("reading {}", f.display()))?;
                let rows = text
                    .lines()
                    .skip(1)
                    .filter_map(|l| {
                        let mut p = l.splitn(3, '\t');
                        let (_, lang, text) = (p.next()?, p.next()?, p.next()?);
                        Some((lang.to_string(), text.to_string()))
                    })
                    .collect();
                sets.push((f.display().to_string(), rows));
            }
            for spec in &english {
                let (path, column) = spec
                    .rsplit_once(':')
                    .and_then(|(p, c)| Some((p, c.parse::<usize>().ok()?)))
                    .with_context(|| format!("{spec}: expected FILE:COLUMN"))?;
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
                let rows = text
                    .lines()
                    .filter_map(|l| l.split('\t').nth(column))
                    .map(|t| ("en".to_string(), t.to_string()))
                    .collect();
                sets.push((format!("{path} (English)"), rows));
            }
            for (name, rows) in &sets {
                let r = evaluate(
                    &detector,
                    rows.iter().map(|(l, t)| (l.as_str(), t.as_str())),
                );
                let (right, all) = r.decisions_right();
                println!(
                    "{name}: {all} rows, read/unread right {right} ({:.1}%)",
                    100.0 * right as f64 / all.max(1) as f64
                );
                println!(
                    "  {:<9} {:>5} {:>9} {:>9}",
                    "language", "rows", "detected", "unread"
                );
                for (lang, (n, detected, unread)) in &r.per_language {
                    let pct = |x: &usize| 100.0 * *x as f64 / (*n).max(1) as f64;
                    println!(
                        "  {lang:<9} {n:>5} {:>8.1}% {:>8.1}%",
                        pct(detected),
                        pct(unread)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalSentiment {
            files,
            split,
            model,
            paired,
        } => {
            use earshot::signals::corpus::Split;
            let keep = match split.as_str() {
                "all" => None,
                s => Some(Split::parse(s).ok_or_else(|| {
                    anyhow::anyhow!("--split: expected all, train, dev or test, got {s}")
                })?),
            };
            let scorer = earshot::sentiment::SentimentScorer::new();
            let model = match model {
                None => earshot::polarity::SentimentModel::bundled()?,
                Some(p) => read_sentiment_model(&p)?,
            };
            println!(
                "{:<40} {:>6} | {:>7} {:>8} {:>8} | {:>7} {:>8} {:>8}",
                "ground truth",
                "n",
                "model r",
                "macro-F1",
                "m.recall",
                "lex. r",
                "macro-F1",
                "m.recall"
            );
            for f in files {
                // A folder is one set: every .tsv and .jsonl file in it.
                let mut parts = files_in(std::slice::from_ref(&f), "tsv")?;
                if f.is_dir() {
                    parts.extend(files_in(std::slice::from_ref(&f), "jsonl")?);
                }
                // Each row's rating and text; beside it the text the model reads (a corpus
                // message's names masked, as the analyser masks them).
                let mut rows: Vec<(f64, String)> = Vec::new();
                let mut read_rows: Vec<(f64, String)> = Vec::new();
                for p in &parts {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?;
                    if p.extension().is_some_and(|x| x == "jsonl") {
                        // A corpus batch: its own split rule, each row's text as the analyser
                        // reads it (a ticket's subject, body and customer messages), English only.
                        let corpus = earshot::signals::corpus::parse(&text)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
                        // Each batch's names as its own catalog names them (as eval-aspects).
                        let analyzer = load_analyzer(catalog_beside(p), &config)?;
                        for r in corpus.iter().filter(|r| {
                            keep.is_none_or(|k| r.split() == k)
                                && r.language.as_deref().is_none_or(|l| l == "en")
                        }) {
                            let i = r.interaction().map_err(|e| {
                                anyhow::anyhow!("{}: row {}: {e}", p.display(), r.id)
                            })?;
                            // As the analyser reads it: names masked.
                            read_rows
                                .push((r.sentiment_label().sign(), analyzer.sentiment_text(&i)));
                            rows.push((r.sentiment_label().sign(), i.text));
                        }
                        continue;
                    }
                    for r in earshot::sentiment::eval::parse_labelled(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
                        .into_iter()
                        .filter(|r| {
                            keep.is_none_or(|k| earshot::polarity::data::split_of(&r.id) == k)
                        })
                    {
                        read_rows.push((r.rating, r.text.clone()));
                        rows.push((r.rating, r.text));
                    }
                }
                if read_rows.is_empty() {
                    anyhow::bail!(
                        "{}: no rows to read (in the split asked; a folder is its .tsv and .jsonl files)",
                        f.display()
                    );
                }
                use earshot::sentiment::eval::report;
                let human: Vec<f64> = rows.iter().map(|(h, _)| *h).collect();
                // What the insight carries: the model's reading.
                let read: Vec<f64> = read_rows
                    .iter()
                    .map(|(_, t)| {
                        f64::from(earshot::polarity::read_text(t, &scorer, &model).compound)
                    })
                    .collect();
                // The lexicon and its rules alone.
                let lexicon: Vec<f64> = rows
                    .iter()
                    .map(|(_, t)| f64::from(scorer.score(t).compound))
                    .collect();
                let (r, lex) = (report(&human, &read), report(&human, &lexicon));
                let name = f.file_name().map_or_else(
                    || f.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                println!(
                    "{:<40} {:>6} | {:>7.4} {:>8.4} {:>8.4} | {:>7.4} {:>8.4} {:>8.4}",
                    name,
                    r.n,
                    r.pearson,
                    r.macro_f1,
                    r.macro_recall,
                    lex.pearson,
                    lex.macro_f1,
                    lex.macro_recall
                );
                if paired {
                    let (dr, df1) = earshot::sentiment::eval::paired(&human, &read, &lexicon, 1000);
                    let show = |d: earshot::sentiment::eval::Difference| {
                        format!(
                            "{:+.4} [{:+.4}, {:+.4}]{}",
                            d.value,
                            d.low,
                            d.high,
                            if d.clear() { "" } else { " (within noise)" }
                        )
                    };
                    println!(
                        "  model − lexicon, 95% interval: r {}, macro-F1 {}",
                        show(dr),
                        show(df1)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalAspects {
            files,
            split,
            model,
        } => {
            use earshot::polarity::eval::{evaluate, AspectCase};
            use earshot::signals::corpus;
            let split = match split.as_deref() {
                None => None,
                Some(s) => Some(
                    corpus::Split::parse(s)
                        .with_context(|| format!("--split {s}: expected train, dev or test"))?,
                ),
            };
            let mut cases = Vec::new();
            let model = model.as_deref().map(read_sentiment_model).transpose()?;
            for f in &files {
                let mut analyzer = load_analyzer(catalog_beside(f), &config)?;
                if let Some(m) = &model {
                    analyzer = analyzer.with_sentiment_model(m.clone());
                }
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("reading {}", f.display()))?;
                let rows =
                    corpus::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                for r in rows
                    .iter()
                    .filter(|r| r.mentions.len() >= 2 && split.is_none_or(|s| r.split() == s))
                {
                    let i = r
                        .interaction()
                        .map_err(|e| anyhow::anyhow!("{}: row {}: {e}", f.display(), r.id))?;
                    let a = analyzer.analyze(&i);
                    let Some(message) = a.sentiment.as_ref().map(|s| s.label) else {
                        continue;
                    };
                    cases.push(AspectCase {
                        gold: r
                            .mentions
                            .iter()
                            .map(|m| (m.brand.clone(), m.product.clone(), m.sentiment_label()))
                            .collect(),
                        read: a
                            .mentions
                            .iter()
                            .filter_map(|m| {
                                Some((m.brand.clone(), m.product.clone(), m.sentiment?.label))
                            })
                            .collect(),
                        message,
                    });
                }
            }
            let r = evaluate(&cases);
            println!(
                "{} messages about two brands or more, {} brand mentions scored ({} not found by the matcher)",
                cases.len(),
                r.mentions,
                r.not_found
            );
            let line = |name: &str, n: usize, f: &earshot::polarity::Figures| {
                println!(
                    "  {name:<44} {n:>5}  accuracy {:.3}  macro-F1 {:.3}  macro-recall {:.3}",
                    f.accuracy, f.macro_f1, f.macro_recall
                );
            };
            line(
                "per mention (its clause or sentence)",
                r.mentions,
                &r.per_mention,
            );
            line(
                "the message's label for every mention",
                r.mentions,
                &r.message_label,
            );
            println!(
                "{} messages whose brands are read differently, {} mentions:",
                r.contrasting_messages, r.contrasting_mentions
            );
            line(
                "per mention",
                r.contrasting_mentions,
                &r.per_mention_contrasting,
            );
            line(
                "the message's label for every mention",
                r.contrasting_mentions,
                &r.message_label_contrasting,
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::TrainSentiment {
            goemotions,
            goemotions_dev,
            rated,
            corpus,
            out,
            epochs,
            learning_rate,
            goemotions_weight,
            corpus_weight,
            rated_weights,
            shuffles,
            skip_batches,
        } => {
            use earshot::polarity::{data, Example};
            use earshot::signals::corpus::{self as c, Split};
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
            };
            let example = |text: String, label: earshot::types::Label, weight| Example {
                text,
                label,
                rating: label.sign() as f32,
                weight,
            };
            let go = |p: &PathBuf, weight: f32| -> anyhow::Result<Vec<Example>> {
                let rows = earshot::emotion::parse_goemotions(&read(p)?)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(t, ids)| {
                        data::goemotions_label(&ids).map(|l| example(t, l, weight))
                    })
                    .collect())
            };
            let stem_of = |p: &PathBuf| {
                p.file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string()
            };
            if let Some((stem, _)) = rated_weights
                .iter()
                .find(|(s, _)| !rated.iter().any(|p| stem_of(p) == *s))
            {
                let known: Vec<String> = rated.iter().map(stem_of).collect();
                anyhow::bail!(
                    "--rated-weight {stem}: no rated source has that stem (they are: {})",
                    known.join(", ")
                );
            }
            let mut train = go(&goemotions, goemotions_weight)?;
            let mut dev: Vec<(String, Vec<Example>)> =
                vec![("goemotions dev".into(), go(&goemotions_dev, 1.0)?)];
            let mut files = Vec::new();
            for p in &rated {
                files.push((p.clone(), files_in(std::slice::from_ref(p), "tsv")?));
            }
            for (name, group) in files {
                let stem = stem_of(&name);
                let weight = rated_weights
                    .iter()
                    .map(|(s, w)| (s.as_str(), *w))
                    .chain(DEFAULT_RATED_WEIGHTS.iter().copied())
                    .find(|(s, _)| *s == stem)
                    .map_or(1.0, |(_, w)| w);
                let mut d = Vec::new();
                for f in group {
                    let rows = earshot::sentiment::eval::parse_labelled(&read(&f)?)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                    for r in rows {
                        let e = Example {
                            rating: r.rating as f32,
                            ..example(r.text, data::rating_label(r.rating), 1.0)
                        };
                        match data::split_of(&r.id) {
                            Split::Train => train.push(Example { weight, ..e }),
                            Split::Dev => d.push(e),
                            Split::Test => {}
                        }
                    }
                }
                dev.push((name.display().to_string(), d));
            }
            let mut corpus_dev = Vec::new();
            let (mut mentions_train, mut mentions_dev) = (Vec::new(), Vec::new());
            // The corpus's brands, for the per-brand readings.
            let analyzer = load_analyzer(Some(corpus.join("catalog.toml")), &config)?;
            let all_batches = expand_folders(&[corpus.join("batches")])?;
            // `--skip-batches ""` skips none.
            let skip_batches: Vec<String> =
                skip_batches.into_iter().filter(|s| !s.is_empty()).collect();
            if let Some(stem) = skip_batches.iter().find(|s| {
                !all_batches
                    .iter()
                    .any(|p| p.file_stem().and_then(|x| x.to_str()) == Some(s.as_str()))
            }) {
                anyhow::bail!(
                    "--skip-batches {stem}: no corpus batch has that stem (--skip-batches \"\" skips none)"
                );
            }
            let batches: Vec<PathBuf> = all_batches
                .into_iter()
                .filter(|p| {
                    let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                    !skip_batches.iter().any(|s| s == stem)
                })
                .collect();
            for f in &batches {
                let rows =
                    c::parse(&read(f)?).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                for r in rows {
                    let split = r.split();
                    if split == Split::Test {
                        continue;
                    }
                    // The text as the analyser reads it: the row decoded as a message.
                    let Ok(i) = r.interaction() else {
                        continue;
                    };
                    // Each brand's own reading, from the mention the analyser finds for it.
                    let found = analyzer.mention_inputs(&i);
                    for g in &r.mentions {
                        let m = earshot::polarity::eval::find_mention(
                            &found,
                            |(m, ..)| (&m.brand, &m.product),
                            &g.brand,
                            &g.product,
                        );
                        if let Some((_, features, lexicon)) = m {
                            let e = earshot::polarity::Encoded {
                                features: features.clone(),
                                lexicon: *lexicon,
                                label: g.sentiment_label(),
                                rating: g.sentiment_label().sign() as f32,
                                weight: corpus_weight,
                            };
                            if split == Split::Dev {
                                mentions_dev.push(e);
                            } else {
                                mentions_train.push(e);
                            }
                        }
                    }
                    // The message as the model reads it: its names masked.
                    let text = analyzer.sentiment_text(&i);
                    if split == Split::Dev {
                        corpus_dev.push(example(text, r.sentiment_label(), 1.0));
                    } else {
                        train.push(example(text, r.sentiment_label(), corpus_weight));
                    }
                }
            }
            dev.push(("corpus dev".into(), corpus_dev));
            let options = earshot::polarity::TrainOptions {
                epochs,
                learning_rate,
                shuffles,
                ..Default::default()
            };
            let mut encoded = earshot::polarity::encode(&train);
            let n_messages = encoded.len();
            encoded.extend(mentions_train);
            let mut sets: Vec<(String, Vec<earshot::polarity::Encoded>)> = dev
                .iter()
                .map(|(name, d)| (name.clone(), earshot::polarity::encode(d)))
                .collect();
            sets.push(("corpus dev, per brand".into(), mentions_dev));
            let train = encoded;
            let dev_sets: Vec<Vec<earshot::polarity::Encoded>> =
                sets.iter().map(|(_, d)| d.clone()).collect();
            let m = earshot::polarity::train(&train, &dev_sets, options);
            std::fs::write(&out, m.to_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            let r = m.rule();
            println!(
                "trained on {n_messages} messages and {} brand mentions; the lexicon's pull {:.2}, biases negative {:.1} / positive {:.1}, the lexicon's share of a polar score's depth {:.1} (the model's by its lead over {:.0}); wrote {}",
                train.len() - n_messages,
                r.pull,
                r.negative_bias,
                r.positive_bias,
                r.lexicon_share,
                r.lead_scale,
                out.display()
            );
            for (name, set) in &sets {
                let fig = earshot::polarity::Figures::of(
                    set.iter()
                        .map(|e| (m.read(&e.features, e.lexicon).label, e.label)),
                );
                println!(
                    "dev {name:<44} {:>5} rows: macro-F1 {:.3}, macro-recall {:.3}, accuracy {:.3}",
                    set.len(),
                    fig.macro_f1,
                    fig.macro_recall,
                    fig.accuracy
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalMentions {
            labels,
            catalog,
            misses,
        } => {
            let analyzer = load_analyzer(catalog, &config)?;
            let text = std::fs::read_to_string(&labels)
                .with_context(|| format!("reading {}", labels.display()))?;
            let mut items = Vec::new();
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                items.push(
                    serde_json::from_str::<earshot::mentions::eval::Labelled>(line)
                        .with_context(|| format!("{} line {}", labels.display(), n + 1))?,
                );
            }
            let report = earshot::mentions::eval::evaluate(analyzer.matcher(), &items);
            if misses {
                for m in &report.misses {
                    println!("missing {:?} extra {:?}: {}", m.missing, m.extra, m.text);
                }
                println!();
            }
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::TrainNames {
            corpus,
            general,
            general_names,
            vocabulary,
            budget,
            min_count,
            epochs,
            learning_rate,
            l2,
            out,
            misses,
            cross_batches,
        } => {
            use earshot::polarity::data::split_of;
            use earshot::signals::model::addresses_an_account;
            use earshot::signals::{corpus as c, names};
            // The model is read only where a post targets nothing else, so the threshold is
            // tuned on dev posts that tag no account (a tagged account is a target already).
            let mut general_texts = Vec::new();
            for f in &vocabulary {
                // Spelt as the daemon reads a text (normalised).
                general_texts.push(earshot::normalize::normalize_owned(
                    std::fs::read_to_string(f)
                        .with_context(|| format!("reading {}", f.display()))?,
                ));
            }
            // The corpus's words are known words too, but for its catalog's names.
            let source = std::fs::read_to_string(corpus.join("catalog.toml"))
                .with_context(|| format!("reading {}", corpus.join("catalog.toml").display()))?;
            let catalog = earshot::catalog::Catalog::parse(&source)?;
            let mut catalog_names: Vec<String> = Vec::new();
            for b in &catalog.brands {
                catalog_names.extend([b.name.clone(), b.query.clone()]);
                for p in &b.products {
                    catalog_names.extend([p.name.clone(), p.query.clone()]);
                }
            }
            // Every example with its batch and split; every domain text with its batch.
            let mut examples: Vec<(String, c::Split, names::Example)> = Vec::new();
            let mut domain: Vec<(String, String)> = Vec::new();
            let stem = |f: &std::path::Path| {
                f.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            for f in expand_folders(&[corpus.join("batches")])? {
                let text = std::fs::read_to_string(&f)?;
                let rows = c::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                let batch = stem(&f);
                // The texts as the daemon reads them (normalised).
                let read = |t: &str| earshot::normalize::normalize(t).into_owned();
                for r in rows.iter().filter(|r| r.split() != c::Split::Test) {
                    domain.push((batch.clone(), read(&r.text)));
                    domain.extend(r.messages.iter().map(|m| (batch.clone(), read(&m.text))));
                }
                for r in rows.into_iter().filter(|r| r.kind == "post") {
                    let split = c::Row::split_of_id(&r.id);
                    let e = names::Example {
                        names: !r.mentions.is_empty(),
                        general: false,
                        text: earshot::normalize::normalize_owned(r.text),
                    };
                    examples.push((batch.clone(), split, e));
                }
            }
            let labels = std::fs::read_to_string(&general_names)
                .with_context(|| format!("reading {}", general_names.display()))?;
            let labels = names::parse_labels(&labels)
                .map_err(|e| anyhow::anyhow!("{}: {e}", general_names.display()))?;
            for f in files_in(&general, "tsv")? {
                let text = std::fs::read_to_string(&f)
                    .with_context(|| format!("reading {}", f.display()))?;
                let rows = earshot::sentiment::eval::parse_rated(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                let batch = stem(&f);
                for r in rows {
                    let Some(&named) = labels.get(&r.id) else {
                        anyhow::bail!(
                            "{}: {} has no label in {}",
                            f.display(),
                            r.id,
                            general_names.display()
                        );
                    };
                    let e = names::Example {
                        text: r.text,
                        names: named,
                        general: !named,
                    };
                    examples.push((batch.clone(), split_of(&r.id), e));
                }
            }
            // Training reads the train split; the threshold, the dev split's posts that tag no
            // account; `left_out` is a batch none of them (nor the vocabulary) reads.
            let split = |left_out: Option<&str>| {
                let (mut train, mut dev) = (Vec::new(), Vec::new());
                for (batch, split, e) in &examples {
                    if Some(batch.as_str()) == left_out {
                        continue;
                    }
                    match split {
                        c::Split::Train => train.push(e.clone()),
                        c::Split::Dev if !addresses_an_account(&e.text) => dev.push(e.clone()),
                        c::Split::Dev | c::Split::Test => {}
                    }
                }
                (train, dev)
            };
            let settings = names::Settings {
                epochs,
                learning_rate,
                l2,
                budget,
            };
            fn as_str(v: &[String]) -> Vec<&str> {
                v.iter().map(String::as_str).collect()
            }
            let (general_texts, catalog_names) = (as_str(&general_texts), as_str(&catalog_names));
            // The model trained without `left_out` (nor its words in the vocabulary), what it
            // measured on dev, and the examples it read.
            let fit = |left_out: Option<&str>| {
                let (train, dev) = split(left_out);
                let domain: Vec<&str> = domain
                    .iter()
                    .filter(|(b, _)| Some(b.as_str()) != left_out)
                    .map(|(_, t)| t.as_str())
                    .collect();
                let vocabulary = names::Vocabulary {
                    general: &general_texts,
                    domain: &domain,
                    names: &catalog_names,
                    min_count,
                };
                let (model, tuned) = names::train(vocabulary, &train, &dev, settings);
                (model, tuned, train, dev)
            };
            if cross_batches {
                let mut batches: Vec<&str> = examples.iter().map(|(b, _, _)| b.as_str()).collect();
                batches.dedup();
                println!(
                    "{:<6} {:>6} {:>9} {:>8} {:>12} {:>9}",
                    "batch", "posts", "name one", "flagged", "naming none", "flagged"
                );
                let (mut recalls, mut rates) = (Vec::new(), Vec::new());
                for b in batches {
                    let (m, ..) = fit(Some(b));
                    let posts: Vec<&names::Example> = examples
                        .iter()
                        .filter(|(x, split, e)| {
                            x == b && *split != c::Split::Test && !addresses_an_account(&e.text)
                        })
                        .map(|(_, _, e)| e)
                        .collect();
                    if posts.is_empty() {
                        continue;
                    }
                    let count =
                        |f: &dyn Fn(&names::Example) -> bool| posts.iter().filter(|e| f(e)).count();
                    let named = count(&|e| e.names);
                    let found = count(&|e| e.names && m.names(&e.text));
                    let none = count(&|e| e.general);
                    let flagged = count(&|e| e.general && m.names(&e.text));
                    let share = |a: usize, n: usize| a as f64 / n.max(1) as f64;
                    println!(
                        "{b:<6} {:>6} {named:>9} {:>8.3} {none:>12} {:>9.3}",
                        posts.len(),
                        share(found, named),
                        share(flagged, none)
                    );
                    // A batch with a handful of posts of one kind says little of it.
                    if named >= 20 {
                        recalls.push(share(found, named));
                    }
                    if none >= 20 {
                        rates.push(share(flagged, none));
                    }
                }
                let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
                println!(
                    "mean over the batches with 20 posts or more of the kind: posts naming a brand \
                     flagged {:.3} ({} batches), general posts naming none flagged {:.3} ({} batches)",
                    mean(&recalls),
                    recalls.len(),
                    mean(&rates),
                    rates.len()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let (model, tuned, train, dev) = fit(None);
            let general_train = train.iter().filter(|e| e.general).count();
            println!(
                "trained on {} posts ({} naming a brand, {} general posts naming none); dev {} posts",
                train.len(),
                train.iter().filter(|e| e.names).count(),
                general_train,
                dev.len()
            );
            println!(
                "threshold {:.2}: dev posts naming a brand flagged {:.3} (precision on the corpus's \
                 {:.3}), general posts naming none flagged {:.3} (budget {budget})",
                tuned.threshold, tuned.recall, tuned.precision, tuned.general_rate
            );
            if misses {
                for e in &dev {
                    let p = model.probability(&e.text);
                    if e.names != (p >= model.threshold()) && (e.names || e.general) {
                        let what = if e.names { "missed" } else { "flagged" };
                        println!("{what} {p:.2}: {}", e.text.replace('\n', " "));
                    }
                }
            }
            std::fs::write(&out, model.to_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::TrainSignals {
            corpus,
            out,
            aspects_out,
            extra,
            sincere_vader,
            sincere_goemotions,
            sincere_every,
            irony,
            no_irony,
            complaints,
            no_complaints,
            no_complaint_tuning,
            epochs,
            learning_rate,
            positive_weight,
            l2,
            sarcasm_precision,
            untargeted_sarcasm_precision,
            one_sarcasm_threshold,
            seed,
            shuffles,
            no_stack,
            hidden,
            hidden_rate,
            cross_batches,
            across,
            groups,
            aspects,
            complaint_batches: leave_out_complaints,
            irony_batches: leave_out_irony,
        } => {
            use earshot::signals::{corpus as c, train, SignalDetector};
            use rayon::prelude::*;
            let source = std::fs::read_to_string(corpus.join("catalog.toml"))
                .with_context(|| format!("reading {}", corpus.join("catalog.toml").display()))?;
            let catalog = earshot::catalog::Catalog::parse(&source)?;
            let featurizer = train::Featurizer::new(&catalog, SignalDetector::untrained()?)?;
            let files = expand_folders(&[corpus.join("batches")])?;
            let mut rows = Vec::new();
            for f in &files {
                let text = std::fs::read_to_string(f)?;
                let parsed =
                    c::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                rows.extend(parsed.into_iter().filter(|r| r.split() != c::Split::Test));
            }
            let mut more = Vec::new();
            // Each file of one writer (a labelled set here, an irony batch below) is its own
            // writer, for the folds of the second reading.
            let mut writers = 0u32;
            for f in &extra {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("reading {}", f.display()))?;
                let examples = earshot::signals::eval::parse(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                writers += 1;
                more.extend(examples.iter().filter_map(|e| {
                    let x =
                        featurizer.encode_input(&earshot::signals::eval::input(e), &e.labels, None);
                    x.map(|x| train::Encoded {
                        writer: Some(writers),
                        ..x
                    })
                }));
            }
            let labelled = more.len();
            if sincere_every > 0 {
                let read = |p: &PathBuf| {
                    std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
                };
                let texts = train::sincere_texts(
                    &read(&sincere_vader)?,
                    c::Split::Train,
                    &read(&sincere_goemotions)?,
                    sincere_every,
                )
                .map_err(|e| anyhow::anyhow!(e))?;
                let encoded: Vec<train::Encoded> = texts
                    .par_iter()
                    .enumerate()
                    .filter_map(|(n, t)| featurizer.encode_one_label(n, t, "sarcasm", false))
                    .collect();
                more.extend(encoded);
            }
            let sincere = more.len() - labelled;
            // The flagged batches teach one output each: irony sarcasm, complaints the complaint
            // intent. Each batch's rows, in the order of their files.
            let flagged = |dir: &PathBuf, skip: bool, option: &str, label: &str| {
                let files = if skip {
                    Vec::new()
                } else {
                    flagged_training_rows(dir, option)?
                };
                // Each post numbered across the folder, as its timeline input's id.
                let mut n = 0;
                let mut batches: Vec<train::Batch> = Vec::new();
                for (name, rows) in files {
                    let first = n;
                    n += rows.len();
                    batches.push(train::Batch {
                        name,
                        train: rows
                            .par_iter()
                            .enumerate()
                            .filter_map(|(k, r)| {
                                featurizer.encode_one_label(first + k, &r.text, label, r.flag)
                            })
                            .collect(),
                        dev: Vec::new(),
                    });
                }
                anyhow::Ok(batches)
            };
            // Irony trains, and tunes only the threshold of messages with no target (read across
            // folds, among the other rows with none): its batches are 45% ironic, far above a
            // stream's rate, so sarcasm's threshold for messages with a target is tuned on the
            // corpus alone. Each batch is one writer.
            let mut irony_batches = flagged(&irony, no_irony, "irony", "sarcasm")?;
            let mut irony_writers = Vec::new();
            for b in &mut irony_batches {
                writers += 1;
                irony_writers.push(writers);
                for x in &mut b.train {
                    x.writer = Some(writers);
                }
                more.extend(b.train.iter().cloned());
            }
            let timeline = more.len() - labelled - sincere;
            // The complaint batches also tune the complaint threshold (with the batches across
            // which thresholds are tuned): 40% complaints, as tweets to customer service carry.
            let mut complaint_batches =
                flagged(&complaints, no_complaints, "complaints", "intent:complaint")?;
            // Each complaint batch is one writer: where it only trains (`--no-complaint-tuning`,
            // and beside the batches `--cross-batches` leaves out) it joins the extra rows, and
            // the second reading's folds deal it whole, as they do a batch that tunes.
            for b in &mut complaint_batches {
                writers += 1;
                for x in &mut b.train {
                    x.writer = Some(writers);
                }
            }
            let complaint_rows: usize = complaint_batches.iter().map(|b| b.train.len()).sum();
            let sarcasm = earshot::signals::model::SARCASM;
            let options = train::TrainOptions {
                epochs,
                learning_rate,
                positive_weight,
                l2,
                sarcasm_precision,
                untargeted_sarcasm_precision: (!one_sarcasm_threshold)
                    .then_some(untargeted_sarcasm_precision),
                seed,
                shuffles,
                stack: !no_stack,
                sarcasm_blind_to_targets: true,
                hidden,
                hidden_rate,
            };
            // The per-brand model reads its outputs once (its second reading gained nothing),
            // and its features are not the message model's.
            let aspect_options = train::TrainOptions {
                stack: false,
                sarcasm_blind_to_targets: false,
                hidden: 0,
                ..options
            };
            // Each batch's rows as the message model sees them, and its mentions as the
            // per-brand model does.
            let name = |r: &c::Row| r.id.split('-').next().unwrap_or_default().to_string();
            let mut names: Vec<String> = rows.iter().map(name).collect();
            names.dedup();
            let batches_of = |per_row: &(dyn Fn(&c::Row) -> Vec<train::Encoded> + Sync)| {
                names
                    .iter()
                    .map(|n| {
                        let of = |split: c::Split| -> Vec<train::Encoded> {
                            let sel: Vec<&c::Row> = rows
                                .iter()
                                .filter(|r| name(r) == *n && r.split() == split)
                                .collect();
                            let each: Vec<Vec<train::Encoded>> =
                                sel.par_iter().map(|r| per_row(r)).collect();
                            each.into_iter().flatten().collect()
                        };
                        train::Batch {
                            train: of(c::Split::Train),
                            dev: of(c::Split::Dev),
                            name: n.clone(),
                        }
                    })
                    .collect::<Vec<train::Batch>>()
            };
            let messages = batches_of(&|r| featurizer.encode(r).into_iter().collect());
            let mentions = batches_of(&|r| featurizer.encode_aspects(r));
            let across = (across > 0).then_some(across);
            // The model of `corpus` and `complaints` batches and the extra rows `more`: the
            // complaint batches tune the complaint threshold with the corpus's, or only train.
            let fit_extra =
                |corpus: &[train::Batch], complaints: &[&train::Batch], more: &[train::Encoded]| {
                    let mut refs: Vec<&train::Batch> = corpus.iter().collect();
                    let mut extra = more.to_vec();
                    if no_complaint_tuning {
                        extra.extend(complaints.iter().flat_map(|b| b.train.iter().cloned()));
                    } else {
                        refs.extend(complaints);
                    }
                    (
                        train::train_batches(&refs, &extra, options, across),
                        refs.len(),
                    )
                };
            // With the extra rows read above.
            let fit_with = |corpus: &[train::Batch], complaints: &[&train::Batch]| {
                fit_extra(corpus, complaints, &more)
            };
            if cross_batches && leave_out_irony {
                if irony_batches.is_empty() {
                    anyhow::bail!("--irony-batches: no irony batches (--no-irony)");
                }
                // Each irony batch left out in turn, the model trained on everything else and
                // tuned as the shipped one is: how sarcasm carries to a writer of timeline posts
                // it has not read, at the threshold of a message with no target (most of them)
                // and at the other.
                let complaints: Vec<&train::Batch> = complaint_batches.iter().collect();
                let mut all = [earshot::signals::eval::Binary::default(); 2];
                for (held, &w) in irony_batches.iter().zip(&irony_writers) {
                    let writer = Some(w);
                    let others: Vec<train::Encoded> = more
                        .iter()
                        .filter(|x| x.writer != writer)
                        .cloned()
                        .collect();
                    let (m, _) = fit_extra(&messages, &complaints, &others);
                    let mut b = [earshot::signals::eval::Binary::default(); 2];
                    for x in &held.train {
                        let at = usize::from(x.target.any());
                        b[at].add(m.read(&x.features, x.target)[sarcasm], x.truth[sarcasm]);
                    }
                    for (at, what) in ["no target", "a target"].iter().enumerate() {
                        print_binary(
                            &format!("left out {}, posts with {what}", held.name),
                            "sarcasm",
                            &b[at],
                        );
                        all[at].merge(b[at]);
                    }
                    let t = m.untargeted_sarcasm().unwrap_or(m.threshold(sarcasm));
                    println!(
                        "  thresholds: {t:.3} with no target, {:.3} with one",
                        m.threshold(sarcasm)
                    );
                }
                print_binary(
                    "all irony batches left out, posts with no target",
                    "sarcasm",
                    &all[0],
                );
                print_binary(
                    "all irony batches left out, posts with a target",
                    "sarcasm",
                    &all[1],
                );
                let mut both = all[0];
                both.merge(all[1]);
                print_binary("all irony batches left out", "sarcasm", &both);
                return Ok(ExitCode::SUCCESS);
            }
            if cross_batches && leave_out_complaints {
                if complaint_batches.is_empty() {
                    anyhow::bail!("--complaint-batches: no complaint batches (--no-complaints)");
                }
                // Each complaint batch left out in turn, the model trained on the corpus and the
                // other complaint batches (and tuned as the shipped one is): how the complaint
                // intent carries to a writer of tweets it has not read.
                let out = earshot::signals::model::LABELS
                    .iter()
                    .position(|l| *l == "intent:complaint")
                    .context("the signal model has no complaint intent")?;
                let mut all = earshot::signals::eval::Binary::default();
                for (k, held) in complaint_batches.iter().enumerate() {
                    let others: Vec<&train::Batch> = complaint_batches
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != k)
                        .map(|(_, b)| b)
                        .collect();
                    let (m, _) = fit_with(&messages, &others);
                    let mut b = earshot::signals::eval::Binary::default();
                    for x in &held.train {
                        b.add(m.read(&x.features, x.target)[out], x.truth[out]);
                    }
                    print_binary(&format!("left out {}", held.name), "complaint", &b);
                    all.merge(b);
                }
                print_binary("all complaint batches left out", "complaint", &all);
                return Ok(ExitCode::SUCCESS);
            }
            if cross_batches {
                // The batches left out are the corpus's; the complaint batches only train.
                let more: Vec<train::Encoded> = more
                    .iter()
                    .chain(complaint_batches.iter().flat_map(|b| &b.train))
                    .cloned()
                    .collect();
                let (batches, more, families) = if aspects {
                    (&mentions, &[][..], &["intent", "phase"][..])
                } else {
                    (&messages, &more[..], &earshot::signals::model::FAMILIES[..])
                };
                if let Some(g) = groups.filter(|g| *g as usize > batches.len()) {
                    anyhow::bail!(
                        "--groups {g}: there are only {} batches to leave out",
                        batches.len()
                    );
                }
                let results = train::cross_batches(
                    batches,
                    more,
                    if aspects { aspect_options } else { options },
                    across,
                    groups.map(|g| g as usize),
                );
                // Prints each batch's figures of `families` (`label` after its name) and returns
                // their means.
                let table = |rows: Vec<(&str, &Vec<(&str, f64)>)>, label: &str| -> Vec<String> {
                    let mut sums = vec![0.0f64; families.len()];
                    for (name, f1) in &rows {
                        let kept: Vec<f64> = f1
                            .iter()
                            .filter(|(f, _)| families.contains(f))
                            .map(|(_, f)| *f)
                            .collect();
                        let cells: Vec<String> = kept.iter().map(|f| format!("{f:.3}")).collect();
                        println!("left out {name}{label}: {}", cells.join(" "));
                        for (s, f) in sums.iter_mut().zip(kept) {
                            *s += f;
                        }
                    }
                    let n = rows.len().max(1) as f64;
                    sums.iter().map(|s| format!("{:.3}", s / n)).collect()
                };
                let means = table(
                    results.iter().map(|r| (r.name.as_str(), &r.f1)).collect(),
                    "",
                );
                let what = if groups.is_some() {
                    "groups"
                } else {
                    "batches"
                };
                println!(
                    "mean over {} {what} left out ({}{}): {}",
                    results.len(),
                    if aspects { "per brand: " } else { "" },
                    families.join(" "),
                    means.join(" ")
                );
                if aspects {
                    // The mentions the per-brand model reads at run time: those of messages about
                    // two brands or more.
                    let rows: Vec<(&str, &Vec<(&str, f64)>)> = results
                        .iter()
                        .filter_map(|r| Some((r.name.as_str(), r.f1_several_brands.as_ref()?)))
                        .collect();
                    let n = rows.len();
                    let means = table(rows, " (several brands)");
                    println!(
                        "mean over the {n} {what} with messages about several brands, their mentions only (what runs per brand: {}): {}",
                        families.join(" "),
                        means.join(" ")
                    );
                } else {
                    println!(
                        "(micro-F1 per family; moment: the mean of hard's and happy's F1 on the life events)"
                    );
                }
                // Precision and recall, pooled over the rows left out: each family's, then each
                // of its labels'.
                use earshot::signals::eval::Counts;
                let mut pooled = vec![Counts::default(); earshot::signals::model::OUTPUTS];
                for r in &results {
                    for (p, c) in pooled.iter_mut().zip(&r.outputs) {
                        *p = p.plus(*c);
                    }
                }
                let line = |name: &str, c: &Counts| {
                    println!(
                        "pooled over the {what} left out, {name}: P {:.3} R {:.3} F1 {:.3} ({} right, {} given wrongly, {} missed)",
                        c.precision(),
                        c.recall(),
                        c.f1(),
                        c.tp,
                        c.fp,
                        c.fn_
                    )
                };
                for (name, c) in train::family_counts(&pooled)
                    .into_iter()
                    .filter(|(name, _)| families.contains(name))
                {
                    line(name, &c);
                    let outs = earshot::signals::model::family(name);
                    if outs.len() > 1 {
                        for o in outs {
                            line(
                                &format!("  {}", earshot::signals::model::LABELS[o]),
                                &pooled[o],
                            );
                        }
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            // The message model learns from the extra sets too; the per-brand model has no
            // mentions there.
            let fit = |batches: &[train::Batch], more: &[train::Encoded]| {
                let refs: Vec<&train::Batch> = batches.iter().collect();
                train::train_batches(&refs, more, aspect_options, across)
            };
            let rows_in = |batches: &[train::Batch]| -> usize {
                batches.iter().map(|b| b.train.len() + b.dev.len()).sum()
            };
            let how = |batches: usize| match across {
                Some(folds) => format!(
                    "thresholds tuned on predictions across {batches} batches in {folds} folds"
                ),
                None => "thresholds tuned on the dev split".to_string(),
            };
            let (m, tuned_across) =
                fit_with(&messages, &complaint_batches.iter().collect::<Vec<_>>());
            std::fs::write(&out, m.to_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "trained on {} rows ({} of {} batches, {labelled} of the extra sets, {sincere} \
                 sincere texts and {timeline} irony posts for sarcasm alone, {complaint_rows} \
                 tweets for the complaint intent alone), {}; wrote {}",
                rows_in(&messages) + more.len() + complaint_rows,
                rows_in(&messages),
                names.len(),
                how(tuned_across),
                out.display()
            );
            println!(
                "sarcasm's threshold: {:.3} for a message with a target, {}",
                m.threshold(sarcasm),
                m.untargeted_sarcasm()
                    .map_or("the same for one with none".to_string(), |t| format!(
                        "{t:.3} for one with none"
                    ))
            );
            let a = fit(&mentions, &[]);
            std::fs::write(&aspects_out, a.to_bytes())
                .with_context(|| format!("writing {}", aspects_out.display()))?;
            println!(
                "per brand: trained on {} mentions, {}; wrote {}",
                rows_in(&mentions),
                how(mentions.len()),
                aspects_out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalSarcasm {
            vader,
            goemotions,
            marked,
            irony,
            misses,
        } => {
            use earshot::signals::{
                corpus::Split,
                train::{marked_sarcastic, parse_flagged, sincere_texts},
            };
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
            };
            let analyzer = load_analyzer(None, &config)?;
            let mut sarcastic = Vec::new();
            for m in &marked {
                sarcastic.extend(marked_sarcastic(&read(m)?).map_err(|e| anyhow::anyhow!(e))?);
            }
            let all = |texts: Vec<String>, ironic: bool| -> Vec<(String, bool)> {
                texts.into_iter().map(|t| (t, ironic)).collect()
            };
            let sincere = |texts: Result<Vec<String>, String>| {
                texts.map(|t| all(t, false)).map_err(|e| anyhow::anyhow!(e))
            };
            let mut sets = vec![
                (
                    "VADER tweets rated +1.5 or more, test split".to_string(),
                    sincere(sincere_texts(&read(&vader)?, Split::Test, "", 1))?,
                ),
                (
                    "GoEmotions dev, positive emotions only".to_string(),
                    sincere(sincere_texts("", Split::Test, &read(&goemotions)?, 1))?,
                ),
                (
                    "GoEmotions comments marked /s by their writers (every one sarcastic)"
                        .to_string(),
                    all(sarcastic, true),
                ),
            ];
            for f in files_in(&irony, "tsv")? {
                let rows = parse_flagged(&read(&f)?)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                sets.push((
                    format!("irony test batch {}", f.display()),
                    rows.into_iter().map(|r| (r.text, r.flag)).collect(),
                ));
            }
            for (name, texts) in sets {
                let (mut read, mut complaint) = (0usize, 0usize);
                // Flags on sarcastic texts, flags on sincere ones, sarcastic texts read.
                let (mut hits, mut false_flags, mut ironic_read) = (0usize, 0usize, 0usize);
                for (n, (text, ironic)) in texts.iter().enumerate() {
                    let ironic = *ironic;
                    let Some(signals) = timeline_signals(&analyzer, n, text) else {
                        continue;
                    };
                    read += 1;
                    complaint +=
                        usize::from(signals.intents.iter().any(|s| s.label == "complaint"));
                    let likely = signals.sarcasm.as_ref().is_some_and(|s| s.likely);
                    ironic_read += usize::from(ironic);
                    hits += usize::from(likely && ironic);
                    false_flags += usize::from(likely && !ironic);
                    // A miss: a false flag on sincere text, a sarcastic text not flagged.
                    if misses && likely != ironic {
                        println!("{}: {text}", if ironic { "missed" } else { "flagged" });
                    }
                }
                let flagged = hits + false_flags;
                let share = |k: usize, of: usize| k as f64 / of.max(1) as f64;
                let sincere_read = read - ironic_read;
                // Recall is over every sarcastic text: one the analyser does not read (another
                // language, say) is a miss, not left out.
                let ironic_all = texts.iter().filter(|(_, ironic)| *ironic).count();
                print!("{name}: {read} texts read of {}", texts.len());
                if ironic_all == 0 {
                    print!(
                        ", flagged sarcastic {flagged} ({:.1}%, all false)",
                        100.0 * share(flagged, read)
                    );
                } else if ironic_all == texts.len() {
                    print!(
                        ", flagged sarcastic {flagged} ({:.1}% of {ironic_all}, recall)",
                        100.0 * share(flagged, ironic_all)
                    );
                } else {
                    let (p, r) = (share(hits, flagged), share(hits, ironic_all));
                    print!(
                        " ({ironic_all} ironic), flagged sarcastic {flagged}: precision {p:.3}, recall {r:.3}, F1 {:.3}; sincere texts flagged {:.1}%",
                        if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 },
                        100.0 * share(false_flags, sincere_read)
                    );
                }
                println!(
                    ", read as a complaint {complaint} ({:.1}%)",
                    100.0 * share(complaint, read)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalComplaints {
            files,
            catalog,
            misses,
        } => {
            use earshot::signals::{eval::Binary, model::first_tag, train};
            let analyzer = load_analyzer(catalog, &config)?;
            let lexicon = earshot::sentiment::SentimentScorer::new();
            let files = files_in(&files, "tsv")?;
            if files.is_empty() {
                anyhow::bail!("no complaint files (*.tsv) given");
            }
            let mut total = (Binary::default(), Binary::default());
            let mut placed_total = [(0usize, 0usize); 3];
            // Complaints found, by where the tweet tags an account.
            let placement = |placed: &[(usize, usize); 3]| {
                let share = |(of, found): (usize, usize)| {
                    format!(
                        "{found} of {of} ({:.1}%)",
                        100.0 * found as f64 / of.max(1) as f64
                    )
                };
                println!(
                    "  complaints found: starting with the handle {}, tagging it elsewhere {}, tagging none {}",
                    share(placed[0]),
                    share(placed[1]),
                    share(placed[2])
                );
            };
            for f in &files {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("reading {}", f.display()))?;
                let rows = train::parse_flagged(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                let (mut model, mut negative) = (Binary::default(), Binary::default());
                // Complaints and those found, by where the tweet tags an account: it starts with
                // the handle, tags one elsewhere, or tags none.
                let mut placed = [(0usize, 0usize); 3];
                for (n, r) in rows.iter().enumerate() {
                    let said = timeline_signals(&analyzer, n, &r.text)
                        .as_ref()
                        .is_some_and(|s| s.intents.iter().any(|x| x.label == "complaint"));
                    model.add(said, r.flag);
                    let read = earshot::normalize::normalize(&r.text);
                    negative.add(lexicon.score(&read).compound <= -0.05, r.flag);
                    if r.flag {
                        // Where the first account the tweet tags is, by the target's own rule.
                        let place = match first_tag(&r.text) {
                            Some(at) if matches!(r.text[..at].trim(), "" | ".") => 0,
                            Some(_) => 1,
                            None => 2,
                        };
                        placed[place].0 += 1;
                        placed[place].1 += usize::from(said);
                    }
                    if misses && said != r.flag {
                        let what = if r.flag {
                            "missed"
                        } else {
                            "read as a complaint"
                        };
                        println!("{what}: {} {}", r.id, r.text);
                    }
                }
                let complaints = rows.iter().filter(|r| r.flag).count();
                println!(
                    "{}: {} tweets, {complaints} complaints",
                    f.display(),
                    rows.len()
                );
                print_binary("  earshot", "complaint", &model);
                print_binary("  lexicon negative = complaint", "complaint", &negative);
                placement(&placed);
                total.0.merge(model);
                total.1.merge(negative);
                for (t, p) in placed_total.iter_mut().zip(placed) {
                    t.0 += p.0;
                    t.1 += p.1;
                }
            }
            if files.len() > 1 {
                println!("all {} files:", files.len());
                print_binary("  earshot", "complaint", &total.0);
                print_binary("  lexicon negative = complaint", "complaint", &total.1);
                placement(&placed_total);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalSignals {
            files,
            split,
            mentions,
            catalog,
            misses,
            intervals,
        } => {
            use earshot::signals::corpus;
            use earshot::signals::eval as signals_eval;
            let is_corpus = |f: &PathBuf| f.extension().is_some_and(|e| e == "jsonl");
            let split = match split.as_deref() {
                None => None,
                Some(s) => Some(
                    corpus::Split::parse(s)
                        .with_context(|| format!("--split {s}: expected train, dev or test"))?,
                ),
            };
            // A corpus file is matched against the corpus's own catalog, beside its batches.
            let catalog = catalog.or_else(|| {
                let dir = files.iter().find(|f| is_corpus(f))?.parent()?.parent()?;
                Some(dir.join("catalog.toml")).filter(|c| c.exists())
            });
            let analyzer = load_analyzer(catalog, &config)?;
            let mut examples: Vec<signals_eval::Case> = Vec::new();
            for file in &files {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                if is_corpus(file) {
                    let rows = corpus::parse(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    examples.extend(
                        rows.iter()
                            .enumerate()
                            .filter(|(_, r)| split.is_none_or(|s| r.split() == s))
                            .map(|(n, r)| signals_eval::Case::of_row(r, n + 1)),
                    );
                } else {
                    let rows = signals_eval::parse(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    examples.extend(rows.iter().map(signals_eval::Case::from));
                }
            }
            let file = files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let now = chrono::Utc::now();
            let run = |bytes: &[u8], line: usize| {
                let at = SourceRef {
                    topic: "signals".into(),
                    partition: 0,
                    offset: line as i64,
                };
                let insight = process(
                    Some(bytes),
                    KindHint::Auto,
                    Limits::default(),
                    &analyzer,
                    at,
                    now,
                );
                serde_json::to_value(insight.ok()?).ok()
            };
            let report = if mentions {
                signals_eval::evaluate_mentions(&examples, run)
            } else {
                signals_eval::evaluate(&examples, run)
            };
            if misses {
                for (name, text, missing, extra) in &report.misses {
                    println!("{name}: missing {missing:?} extra {extra:?}: {text}");
                }
                println!();
            }
            println!(
                "{} messages from {}\n\n{:<26} {:>8} {:>9} {:>7} {:>6}",
                report.messages, file, "label", "support", "precision", "recall", "F1"
            );
            let row = |name: &str, c: &signals_eval::Counts| {
                println!(
                    "{:<26} {:>8} {:>9.3} {:>7.3} {:>6.3}",
                    name,
                    c.tp + c.fn_,
                    c.precision(),
                    c.recall(),
                    c.f1()
                );
            };
            for family in earshot::signals::model::FAMILIES {
                let total = signals_eval::family_total(&report, family);
                if total.tp + total.fp + total.fn_ == 0 {
                    continue;
                }
                for (label, c) in report
                    .per_label
                    .iter()
                    .filter(|(l, _)| l.split(':').next() == Some(family))
                {
                    row(label, c);
                }
                if family != "sarcasm" {
                    row(
                        &format!("{family} (micro)"),
                        &signals_eval::family_total(&report, family),
                    );
                }
                if let Some((low, high)) = intervals
                    .then(|| signals_eval::family_interval(&report, family, 1000))
                    .flatten()
                {
                    println!(
                        "{:<26} {:>32}",
                        "  F1, 95% interval",
                        format!("{low:.3}..{high:.3}")
                    );
                }
                println!();
            }
            print!("{}", signals_eval::confusion_table(&report));
            Ok(ExitCode::SUCCESS)
        }
        Command::Trends {
            files,
            output,
            alerts,
        } => {
            use std::io::Write;
            let heard = earshot::shell::market::read(&files, &config.market)?;
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p).with_context(|| format!("{}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            for t in &heard.trends {
                serde_json::to_writer(&mut out, t)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            if let Some(p) = &alerts {
                let mut a = std::io::BufWriter::new(
                    std::fs::File::create(p).with_context(|| format!("{}", p.display()))?,
                );
                for x in &heard.alerts {
                    serde_json::to_writer(&mut a, x)?;
                    a.write_all(b"\n")?;
                }
                a.flush()?;
            }
            eprintln!("{}", market_summary(&heard));
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            files,
            output,
            title,
        } => {
            let heard = earshot::shell::market::read(&files, &config.market)?;
            let page = earshot::report::html(
                &title,
                heard.insights,
                &heard.trends,
                &heard.alerts,
                &heard.customers,
            );
            std::fs::write(&output, page).with_context(|| format!("{}", output.display()))?;
            eprintln!("{}", market_summary(&heard));
            eprintln!("earshot report: wrote {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalAlerts { split } => {
            use earshot::market::eval;
            let seeds: Vec<u64> = match split.as_str() {
                "dev" => eval::DEV_SEEDS.to_vec(),
                "test" => eval::TEST_SEEDS.to_vec(),
                "all" => eval::DEV_SEEDS
                    .iter()
                    .chain(&eval::TEST_SEEDS)
                    .copied()
                    .collect(),
                other => anyhow::bail!("--split {other}: expected dev, test or all"),
            };
            let f = eval::evaluate(&config.market, &seeds);
            println!(
                "{} generated streams ({split} seeds), {} days, {} messages, alerts on windows of {} s",
                seeds.len(),
                f.days,
                f.messages,
                config.market.alert_size()
            );
            println!(
                "incidents detected within two windows: {} of {} ({:.1}%)  volume {} of {}, negative {} of {}",
                f.detected,
                f.incidents,
                100.0 * f.detected_share(),
                f.volume_detected,
                f.volume_incidents,
                f.negative_detected,
                f.negative_incidents
            );
            println!(
                "  of those with at least min_volume ({}) messages in a window: {} of {} ({:.1}%)",
                config.market.alerts.min_volume,
                f.detectable_detected,
                f.detectable,
                100.0 * f64::from(f.detectable_detected) / f64::from(f.detectable.max(1))
            );
            println!(
                "alerts {}, false {} ({:.2} per simulated day over 10 brands; volume {}, negative {})",
                f.alerts,
                f.false_alerts,
                f.false_per_day(),
                f.false_volume,
                f.false_alerts - f.false_volume
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalMemory {
            files,
            split,
            misses,
            show,
        } => {
            use earshot::memory::{self, eval as memory_eval};
            let keep: fn(&str) -> bool = match split.as_str() {
                "test" => memory_eval::is_test,
                "dev" => |id| !memory_eval::is_test(id),
                "all" => |_| true,
                other => anyhow::bail!("--split {other}: expected dev, test or all"),
            };
            let analyzer = load_analyzer(None, &config)?;
            let mut histories = Vec::new();
            for path in expand_folders(&files)? {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("{}", path.display()))?;
                let parsed =
                    memory_eval::parse(&text).with_context(|| format!("{}", path.display()))?;
                histories.extend(parsed.into_iter().filter(|h| keep(&h.id)));
            }
            let cx = || memory::Context {
                policy: config.memory.policy.clone(),
                offerings: memory::Offerings::of(analyzer.catalog()),
            };
            let limits = Limits {
                max_bytes: config.pipeline.max_message_bytes,
            };
            let analyse = |bytes: &[u8], hint, at| {
                let epoch = chrono::DateTime::UNIX_EPOCH;
                earshot::process::process(Some(bytes), hint, limits, &analyzer, at, epoch).ok()
            };
            if !show.is_empty() {
                for h in histories.iter().filter(|h| show.contains(&h.id)) {
                    println!("{}: expected {:?} ({})", h.id, h.expect, h.about);
                    for line in memory_eval::trace(h, &analyse, cx()) {
                        println!("  {line}");
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            let report = memory_eval::evaluate(&histories, &analyse, cx);
            println!(
                "{} histories ({} split), {} messages, {} not decoded\n\n{:<24} {:>8} {:>9} {:>7} {:>6}",
                report.histories,
                split,
                report.messages,
                report.dead_letters,
                "customer insight",
                "support",
                "precision",
                "recall",
                "F1"
            );
            let row = |name: &str, c: &earshot::signals::eval::Counts| {
                println!(
                    "{:<24} {:>8} {:>9.3} {:>7.3} {:>6.3}",
                    name,
                    c.tp + c.fn_,
                    c.precision(),
                    c.recall(),
                    c.f1()
                );
            };
            for (t, c) in &report.per_type {
                row(t, c);
            }
            row("all (micro)", &report.micro());
            println!(
                "\nhistories raising exactly the expected set: {} of {}",
                report.exact, report.histories
            );
            if misses {
                for (id, want, got) in &report.misses {
                    println!(
                        "{id}: expected [{}], raised [{}]",
                        want.join(", "),
                        got.join(", ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::File {
            inputs,
            catalog,
            output,
            dead_letters,
            links,
            customer_insights,
            trends,
            alerts,
        } => {
            init_logging(&config);
            let analyzer = load_analyzer(catalog, &config)?.with_privacy(privacy(&config, false)?);
            let links = links.or_else(|| sample_links(&inputs));
            let run = FileRun {
                inputs,
                output,
                dead_letters,
                links,
                customer_insights,
                limits: Limits {
                    max_bytes: config.pipeline.max_message_bytes,
                },
                memory: config.memory.policy.clone(),
                trends,
                alerts,
                market: config.market.clone(),
            };
            let summary = run.run(&analyzer)?;
            eprint!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Forget { customer } => {
            init_logging(&config);
            let privacy = privacy(&config, true)?;
            let unlinked = earshot::shell::memory_stage::forget(&config, &privacy, &customer)?;
            eprintln!(
                "earshot: erasure of {} sent to {}; {unlinked} identity link(s) removed",
                privacy.key_of(&customer),
                config.memory.repartition_topic
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { role: Role::Memory } => {
            init_logging(&config);
            let privacy = privacy(&config, true)?;
            let (analyzer, _) = CatalogSource::of(None, &config).load()?;
            let runtime = tokio::runtime::Runtime::new()?;
            let result = runtime.block_on(stage_daemon(config, "memory", move |c, m, h, stop| {
                earshot::shell::memory_stage::run(c, analyzer.catalog(), privacy, m, h, stop)
            }));
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            result?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { role: Role::Market } => {
            init_logging(&config);
            let runtime = tokio::runtime::Runtime::new()?;
            let result = runtime.block_on(stage_daemon(
                config,
                "market",
                earshot::shell::market_stage::run,
            ));
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            result?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            role: Role::Analysis,
        } => {
            init_logging(&config);
            let privacy = privacy(&config, true)?;
            let source = CatalogSource::of(None, &config);
            let (analyzer, text) = source.load()?;
            let analyzer = analyzer.with_privacy(privacy);
            let runtime = tokio::runtime::Runtime::new()?;
            // Only a catalog file can change while running; the built-in sample is never reloaded.
            let watched = match source {
                CatalogSource::File { path, .. } => Some((path, text)),
                CatalogSource::BuiltIn => None,
            };
            let result = runtime.block_on(daemon(config, analyzer, watched));
            // The pipeline kept its own deadline; nothing left on the runtime may extend it.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            result?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` until the returned token is cancelled.
fn serve_http(
    config: &Config,
    metrics: &Metrics,
    health: &Health,
) -> (
    tokio::task::JoinHandle<std::io::Result<()>>,
    CancellationToken,
) {
    let stop = CancellationToken::new();
    let (addr, m, h, s) = (
        config.http.address.clone(),
        metrics.clone(),
        health.clone(),
        stop.clone(),
    );
    (
        tokio::spawn(async move { http::serve(&addr, m, h, s).await }),
        stop,
    )
}

/// A stateful stage (`name`: "memory", "market") on a thread of its own, with the HTTP endpoints
/// (metrics, health) around it and SIGTERM/SIGINT as its stop.
async fn stage_daemon(
    config: Config,
    name: &'static str,
    run: impl FnOnce(
            &Config,
            Metrics,
            Health,
            CancellationToken,
        ) -> Result<(), earshot::shell::stage::StageError>
        + Send
        + 'static,
) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    let health = Health::default();
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let (server, http_stop) = serve_http(&config, &metrics, &health);
    let stage = tokio::task::spawn_blocking(move || run(&config, metrics, health, shutdown));
    let result = stage.await;
    http_stop.cancel();
    if let Ok(Err(e)) = server.await {
        tracing::warn!(error = %e, "http listener failed");
    }
    result
        .with_context(|| format!("{name} stage task"))?
        .with_context(|| format!("{name} stage stopped"))
}

/// The daemon: the pipeline, the HTTP endpoints, and the catalog watch when the catalog is a file
/// (`watched`: its path and the text loaded from it).
async fn daemon(
    config: Config,
    analyzer: Analyzer,
    watched: Option<(PathBuf, String)>,
) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    let health = Health::default();
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let analyzer = Arc::new(arc_swap::ArcSwap::from_pointee(analyzer));
    let watch_stop = CancellationToken::new();
    if let Some((path, text)) = watched {
        tokio::spawn(reload::watch(
            path,
            text,
            analyzer.clone(),
            metrics.clone(),
            std::time::Duration::from_secs(config.catalog.watch_interval_secs),
            watch_stop.clone(),
        ));
    }
    let (server, http_stop) = serve_http(&config, &metrics, &health);
    let result = kafka::run(&config, analyzer, metrics, health, shutdown).await;
    watch_stop.cancel();
    http_stop.cancel();
    match server.await {
        Ok(Err(e)) => tracing::warn!(error = %e, "http listener failed"),
        Err(e) => tracing::warn!(error = %e, "http task failed"),
        Ok(Ok(())) => {}
    }
    result.context("pipeline stopped")
}

/// The weights of rated sources that `train-sentiment --rated-weight` does not name: the review
/// and editorial snippets weigh 1.5, chosen on dev against 0.5, 1, 2 and 3 (docs/analysis.md,
/// "Review and editorial sentences").
const DEFAULT_RATED_WEIGHTS: &[(&str, f32)] = &[("snippets", 1.5)];

/// A `STEM=WEIGHT` argument: a source's file stem and the weight of its rows.
fn parse_stem_weight(s: &str) -> Result<(String, f32), String> {
    let (stem, w) = s
        .split_once('=')
        .ok_or_else(|| format!("expected STEM=WEIGHT, got {s:?}"))?;
    let w: f32 = w.parse().map_err(|e| format!("weight {w:?}: {e}"))?;
    if !(w.is_finite() && w >= 0.0) {
        return Err(format!("weight {w} must be a finite number, 0 or more"));
    }
    Ok((stem.to_string(), w))
}
