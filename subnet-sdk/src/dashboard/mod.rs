//! A live dashboard of a subnet: a page with plots of every uid's incentive, dividends,
//! emission and validator trust over epochs, the emission curve with its halvings and where the
//! chain stands on it, and integrity findings as they appear.
//!
//! [`serve`] follows any [`Chain`] (the localnet's, a node's, finney's): after each epoch it
//! reads the metagraph once and keeps a bounded history. `GET /` is the page (self-contained,
//! drawn on canvases by its own script, no outside resources), `GET /api/state` the data as
//! JSON, which the page polls every second.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde::Serialize;
use subforge_core::consensus::{TOTAL_SUPPLY_RAO, block_emission};
use subforge_core::integrity::{
    AnswerParams, AnswerStep, CopyingParams, EpochWeights, IntegrityReport, WeightsHistory,
    detect_alike_answers, detect_weight_copying,
};
use subforge_core::{Block, Metagraph, NetUid};
use tokio::net::TcpListener;

use crate::chain::{Chain, ChainError};

/// How a dashboard runs.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// Where it listens. Default 127.0.0.1:8300.
    pub bind: SocketAddr,
    /// Epochs kept in the plots (the oldest go first). Default 256.
    pub history: usize,
    /// Validator transcript folders to look for miners answering alike.
    pub transcripts: Vec<PathBuf>,
    /// Transcript steps read per folder, the newest. Default 200.
    pub transcript_steps: usize,
    /// Past epochs plotted at the start, where the chain keeps past state (a subtensor
    /// archive node, or a full node for its recent blocks), so the page does not start
    /// empty; at most `history`. Chains without past state start from now. Default 32.
    pub backfill: usize,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8300)),
            history: 256,
            transcripts: Vec::new(),
            transcript_steps: 200,
            backfill: 32,
        }
    }
}

/// One epoch's numbers, by uid.
#[derive(Debug, Clone, Serialize)]
struct Point {
    block: u64,
    incentive: Vec<f64>,
    dividends: Vec<f64>,
    /// TAO.
    emission: Vec<f64>,
    trust: Vec<f64>,
}

/// A neuron as the page labels it.
#[derive(Debug, Clone, Serialize)]
struct Neuron {
    uid: u16,
    hotkey: String,
    validator: bool,
}

/// The block emission against the TAO issued: the halvings show as steps.
#[derive(Debug, Clone, Serialize)]
struct EmissionCurve {
    /// `(TAO issued, TAO per block)`.
    points: Vec<(f64, f64)>,
    /// TAO issued now.
    issued: f64,
    /// TAO per block now.
    per_block: f64,
}

/// What `GET /api/state` answers.
#[derive(Debug, Clone, Serialize)]
struct Snapshot {
    netuid: NetUid,
    block: u64,
    tempo: u16,
    neurons: Vec<Neuron>,
    points: VecDeque<Point>,
    emission_curve: EmissionCurve,
    findings: Vec<String>,
    error: Option<String>,
}

#[derive(Debug)]
struct Shared {
    snapshot: Mutex<Snapshot>,
}

/// Serves the dashboard of `netuid` on `config.bind` until `shutdown` completes; returns the
/// bound address and the server's task (which also stops the sampler).
pub async fn serve(
    chain: Arc<dyn Chain>,
    netuid: NetUid,
    config: DashboardConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(config.bind).await?;
    let local = listener.local_addr()?;
    let shared = Arc::new(Shared {
        snapshot: Mutex::new(Snapshot {
            netuid,
            block: 0,
            tempo: 0,
            neurons: Vec::new(),
            points: VecDeque::new(),
            emission_curve: curve(0),
            findings: Vec::new(),
            error: None,
        }),
    });
    let sampler = tokio::spawn(sample(chain, netuid, config, shared.clone()));
    let app = axum::Router::new()
        .route("/", get(page))
        .route("/api/state", get(state))
        .with_state(shared);
    let limits = crate::net::server::ServerLimits::small("dashboard");
    let server = crate::net::server::serve_until(listener, app, limits, shutdown);
    let task = tokio::spawn(async move {
        let _ = server.await;
        sampler.abort();
    });
    Ok((local, task))
}

/// The page: markup, style and the plotting script in one file.
const PAGE: &str = include_str!("page.html");

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let body = match shared.snapshot.lock() {
        Ok(snapshot) => serde_json::to_vec(&*snapshot).unwrap_or_default(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Follows the chain: a point per epoch (and one at the start), the findings after each.
async fn sample(
    chain: Arc<dyn Chain>,
    netuid: NetUid,
    config: DashboardConfig,
    shared: Arc<Shared>,
) {
    let mut history = WeightsHistory::default();
    let mut last_epoch = backfill(chain.as_ref(), netuid, &config, &shared, &mut history).await;
    let mut backoff = Duration::from_millis(250);
    loop {
        let mut headers = match chain.block_headers().await {
            Ok(h) => h,
            Err(e) => {
                set_error(&shared, e.to_string());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        // One reading now, then one when the next epoch is due (every block until the first
        // epoch is seen, or while a due epoch has not appeared); other blocks only move the
        // block number.
        let mut due = 0u64;
        let mut first = true;
        loop {
            if !first {
                let Some(header) = headers.next().await else {
                    break;
                };
                if header.number.0 < due {
                    if let Ok(mut s) = shared.snapshot.lock() {
                        s.block = header.number.0;
                    }
                    continue;
                }
            }
            first = false;
            let m = match chain.metagraph_with_weights(netuid, None).await {
                Ok(m) => m,
                Err(e) => {
                    set_error(&shared, e.to_string());
                    continue;
                }
            };
            backoff = Duration::from_millis(250);
            let issued = chain
                .info()
                .await
                .map(|i| i.total_issuance.rao())
                .unwrap_or(0);
            let new_epoch = last_epoch != Some(m.last_step);
            // Epochs come every `tempo + 1` blocks; until one is seen, look every block.
            due = if new_epoch && m.last_step.0 > 0 {
                m.last_step.0 + u64::from(m.tempo) + 1
            } else {
                m.block.0 + 1
            };
            if new_epoch {
                last_epoch = Some(m.last_step);
                history.epochs.push(EpochWeights::from_metagraph(&m));
                if history.epochs.len() > config.history {
                    history.epochs.remove(0);
                }
            }
            let findings = new_epoch.then(|| findings(&history, &config));
            record(&shared, &m, issued, new_epoch, config.history, findings);
        }
    }
}

/// Plots up to `config.backfill` past epochs, oldest first, where the chain can read them;
/// returns the last epoch plotted. Any failure ends the backfill quietly (the live sampler
/// reports errors): it is a head start, not a requirement.
async fn backfill(
    chain: &dyn Chain,
    netuid: NetUid,
    config: &DashboardConfig,
    shared: &Shared,
    history: &mut WeightsHistory,
) -> Option<Block> {
    let count = config.backfill.min(config.history);
    if count == 0 {
        return None;
    }
    let head = chain.metagraph(netuid).await.ok()?;
    // Epochs are told apart by the block they ran at; a chain that does not say has none to
    // plot from the past.
    if head.last_step.0 == 0 {
        return None;
    }
    // A netuid is reused after a subnet is dissolved: older blocks are another subnet's.
    let founded = chain
        .subnet(netuid)
        .await
        .map_or(0, |info| info.registered_at.0);
    let every = u64::from(head.tempo) + 1;
    let latest = head.last_step.0;
    let issued = chain
        .info()
        .await
        .map(|i| i.total_issuance.rao())
        .unwrap_or(0);
    let mut last = None;
    for k in (1..=count as u64).rev() {
        // The block before the k-th last epoch's successor is due: it shows that epoch even
        // when epochs drifted off a fixed grid. Duplicates are skipped.
        let Some(block) = latest
            .checked_sub((k - 1) * every)
            .and_then(|b| b.checked_sub(1))
            .filter(|&b| b >= founded)
        else {
            continue;
        };
        let m = match chain
            .metagraph_with_weights(netuid, Some(Block(block)))
            .await
        {
            Ok(m) => m,
            Err(ChainError::SubnetNotExists { .. }) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "the dashboard starts without past epochs");
                break;
            }
        };
        if m.last_step.0 == 0 || last == Some(m.last_step) || m.last_step < Block(founded) {
            continue;
        }
        last = Some(m.last_step);
        history.epochs.push(EpochWeights::from_metagraph(&m));
        record(shared, &m, issued, true, config.history, None);
    }
    if last.is_some() {
        record_findings(shared, findings(history, config));
    }
    last
}

fn record_findings(shared: &Shared, findings: Vec<String>) {
    if let Ok(mut s) = shared.snapshot.lock() {
        s.findings = findings;
    }
}

fn set_error(shared: &Shared, error: String) {
    if let Ok(mut s) = shared.snapshot.lock() {
        s.error = Some(error);
    }
}

fn record(
    shared: &Shared,
    m: &Metagraph,
    issued: u64,
    new_epoch: bool,
    keep: usize,
    findings: Option<Vec<String>>,
) {
    let Ok(mut s) = shared.snapshot.lock() else {
        return;
    };
    s.error = None;
    s.block = m.block.0;
    s.tempo = m.tempo;
    s.neurons = m
        .uids
        .iter()
        .zip(&m.hotkeys)
        .zip(&m.validator_permit)
        .map(|((uid, hotkey), &validator)| Neuron {
            uid: uid.0,
            hotkey: hotkey.to_ss58(),
            validator,
        })
        .collect();
    s.emission_curve = curve(issued);
    if new_epoch {
        let fraction = |v: &[subforge_core::U16Proportion]| v.iter().map(|p| p.as_f64()).collect();
        s.points.push_back(Point {
            block: if m.last_step.0 > 0 {
                m.last_step.0
            } else {
                m.block.0
            },
            incentive: fraction(&m.incentive),
            dividends: fraction(&m.dividends),
            emission: m.emission.iter().map(|b| b.tao_f64()).collect(),
            trust: fraction(&m.validator_trust),
        });
        while s.points.len() > keep.max(1) {
            s.points.pop_front();
        }
    }
    if let Some(findings) = findings {
        s.findings = findings;
    }
}

/// The emission schedule sampled over the whole supply, and where `issued` (rao) sits on it.
fn curve(issued: u64) -> EmissionCurve {
    const POINTS: u64 = 400;
    let tao = |rao: u64| rao as f64 / 1e9;
    let points = (0..=POINTS)
        .map(|i| {
            let at = TOTAL_SUPPLY_RAO / POINTS * i;
            (tao(at), tao(block_emission(at)))
        })
        .collect();
    EmissionCurve {
        points,
        issued: tao(issued),
        per_block: tao(block_emission(issued)),
    }
}

/// Integrity findings over the epochs kept and the newest transcript steps.
fn findings(history: &WeightsHistory, config: &DashboardConfig) -> Vec<String> {
    let mut report = IntegrityReport::default();
    report.extend(detect_weight_copying(history, &CopyingParams::default()).into_findings());
    let steps = transcript_steps(config);
    if !steps.is_empty() {
        report.extend(detect_alike_answers(&steps, &AnswerParams::default()).into_findings());
    }
    report.sort();
    report.findings.iter().map(ToString::to_string).collect()
}

/// The miners' answers in the newest transcripts of each folder.
fn transcript_steps(config: &DashboardConfig) -> Vec<AnswerStep> {
    let mut steps = Vec::new();
    for dir in &config.transcripts {
        let files = crate::audit::list(dir);
        let skip = files.len().saturating_sub(config.transcript_steps);
        for (_, path, _) in files.into_iter().skip(skip) {
            let Ok(t) = crate::audit::Transcript::read(&path) else {
                continue;
            };
            let answers = t.answers();
            steps.push(AnswerStep {
                step: steps.len() as u64,
                answers,
            });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_halves_at_each_halving() {
        let c = curve(0);
        assert_eq!(c.points.len(), 401);
        assert_eq!(c.points[0], (0.0, 1.0), "one TAO a block at first");
        // Past half the supply, a half TAO; past three quarters, a quarter.
        let at = |tao: f64| c.points.iter().find(|p| p.0 >= tao).map(|p| p.1).unwrap();
        assert_eq!(at(10_600_000.0), 0.5);
        assert_eq!(at(15_800_000.0), 0.25);
        assert_eq!(
            c.points.last().unwrap().1,
            0.0,
            "nothing once the supply is issued"
        );
        assert_eq!(curve(11_000_000_000_000_000).per_block, 0.5);
    }
}
