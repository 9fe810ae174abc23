//! The report: order, serialization and one line per finding.

use super::*;
use crate::chain::{Block, U16Proportion, Uid};
use crate::identity::{AccountId, Hotkey};

fn copying(copier: u16, source: u16, lag: usize) -> Finding {
    Finding::WeightCopying(WeightCopying {
        copier: Uid(copier),
        source: Uid(source),
        lag,
        similarity: 1.0,
        same_epoch_similarity: 0.9,
        epochs: vec![CopiedEpoch {
            block: Block(720),
            source_block: Block(360),
            similarity: 1.0,
            same_epoch_similarity: 0.9,
        }],
        other_sources: Vec::new(),
    })
}

fn identical(a: u16, b: u16) -> Finding {
    Finding::IdenticalWeights(IdenticalWeights {
        validators: [Uid(a), Uid(b)],
        blocks: vec![Block(360), Block(720), Block(1080)],
        shared_epochs: 4,
        support: 12,
    })
}

fn cabal(uids: &[u16]) -> Finding {
    Finding::Cabal(CabalReport {
        block: Block(1000),
        cabal: uids.iter().copied().map(Uid).collect(),
        favoured: vec![Uid(9)],
        stake_share: 0.4,
        kappa: U16Proportion(32767),
        below_kappa: true,
        incentive_honest: 0.1,
        incentive_pushed: 0.0,
        dividends_honest: 0.4,
        dividends_pushed: 0.0,
        miners: vec![FavouredMiner {
            uid: Uid(9),
            honest_support: 0.0,
            incentive_honest: U16Proportion(6553),
            incentive_pushed: U16Proportion::ZERO,
            consensus_honest: U16Proportion(6553),
            consensus_pushed: U16Proportion::ZERO,
        }],
    })
}

fn alike(a: u8, b: u8) -> Finding {
    Finding::AlikeAnswers(AlikeAnswers {
        hotkeys: [Hotkey(AccountId([a; 32])), Hotkey(AccountId([b; 32]))],
        uids: [Uid(u16::from(a)), Uid(u16::from(b))],
        rule: AnswerRule::Near,
        steps_both_answered: 4,
        exact_steps: vec![1],
        near_steps: vec![NearMatch {
            step: 3,
            similarity: 0.95,
        }],
        fraction: 0.5,
    })
}

/// Findings come out by kind, then by uids or hotkeys, whatever order they went in.
#[test]
fn findings_are_sorted_deterministically() {
    let all = vec![
        alike(7, 9),
        cabal(&[2, 3]),
        identical(1, 4),
        copying(5, 2, 2),
        alike(1, 9),
        copying(5, 2, 1),
        cabal(&[2]),
        copying(3, 8, 1),
    ];
    let report = IntegrityReport::new(all.clone());
    let kinds: Vec<&str> = report.findings.iter().map(Finding::kind).collect();
    assert_eq!(
        kinds,
        [
            "weight_copying",
            "weight_copying",
            "weight_copying",
            "identical_weights",
            "cabal",
            "cabal",
            "alike_answers",
            "alike_answers"
        ]
    );
    assert_eq!(report.findings[0], copying(3, 8, 1));
    assert_eq!(report.findings[1], copying(5, 2, 1));
    assert_eq!(report.findings[4], cabal(&[2]));
    assert_eq!(report.findings[6], alike(1, 9));
    let mut reversed: IntegrityReport = all.into_iter().rev().collect();
    assert_eq!(reversed, report);
    reversed.push(identical(0, 1));
    assert_eq!(reversed.findings[3], identical(0, 1));
    assert_eq!(reversed.len(), 9);
}

/// The report goes through JSON and back unchanged, with each finding tagged by its kind.
#[test]
fn report_round_trips_through_json() {
    let report =
        IntegrityReport::new([copying(5, 2, 1), identical(1, 4), cabal(&[2]), alike(1, 9)]);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains(r#""kind":"weight_copying""#), "{json}");
    assert!(json.contains(r#""rule":"near""#), "{json}");
    let back: IntegrityReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

/// One line per finding, naming its evidence.
#[test]
fn display_is_one_line_per_finding() {
    assert_eq!(IntegrityReport::default().to_string(), "no findings");
    let report = IntegrityReport::new([
        copying(5, 2, 1),
        identical(1, 4),
        cabal(&[2, 3]),
        alike(1, 9),
    ]);
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[0],
        "weight copying: uid 5 follows uid 2 1 epoch late: mean similarity 1.0000 to its earlier \
         rows vs 0.9000 to its current ones, over 1 epochs (blocks 720)"
    );
    assert_eq!(
        lines[1],
        "identical weights: uids 1 and 4 set the same row (at least 12 miners) in 3 of 4 shared \
         epochs (blocks 360, 720, 1080)"
    );
    assert!(
        lines[2].starts_with("cabal: uids [2, 3] hold 40.00% of voting stake"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("near-identical answers: hotkeys 5"),
        "{}",
        lines[3]
    );
    assert!(
        lines[3].ends_with("in 2 of 4 steps both answered (50%): steps 1, 3"),
        "{}",
        lines[3]
    );
    assert_eq!(super::list(&[1, 2, 3], 2), "1, 2, … (1 more)");
}
