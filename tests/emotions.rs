//! The bundled emotion model: it loads, scores sensibly, and keeps its measured quality on dev.

use earshot::emotion::{
    dominant_agreement, dominant_agreement_cross_tuned, evaluate, evaluate_cross_tuned,
    parse_goemotions, EmotionModel, NEUTRAL_KEPT,
};

#[test]
fn bundled_model_scores_and_keeps_its_dev_figures() {
    let model = EmotionModel::bundled().expect("bundled model loads");
    let sentiment = earshot::sentiment::SentimentScorer::new();
    let score = |t: &str| model.score(t, &sentiment.score(t));
    let e = score("Thank you so much, you saved my day!");
    assert_eq!(e.dominant, "gratitude");
    assert_eq!(e.dominant_ekman, "joy");
    let e = score("This is infuriating, third outage this week and nobody answers");
    assert_eq!(e.dominant_ekman, "anger", "{e:?}");
    assert!((1..=5).contains(&e.intensity));
    assert_eq!(score("The meeting is at 3pm.").dominant, "neutral");
    let dev = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/goemotions/dev.tsv"
    ))
    .unwrap();
    let dev = parse_goemotions(&dev).unwrap();
    let (labels, ekman) = evaluate(&model, &dev);
    eprintln!("dev macro-F1: 28 labels {labels:.3}, Ekman {ekman:.3}");
    // The figures `earshot train-emotions` printed when the shipped model was made (0.413, 0.563;
    // 0.431 before its thresholds were raised to keep neutral texts neutral,
    // `earshot::emotion::NEUTRAL_KEPT`, and its features stopped reading handles).
    assert!(labels >= 0.41 && ekman >= 0.56, "{labels} {ekman}");
    // Thresholds tuned on one half of dev and scored on the other: lower, as unseen data will be
    // (0.401, 0.553 when the model was first made; 0.397, 0.552 since the thresholds keep neutral
    // texts neutral).
    let (labels, ekman) = evaluate_cross_tuned(&model, &dev);
    eprintln!("cross-tuned: 28 labels {labels:.3}, Ekman {ekman:.3}");
    assert!(labels >= 0.39 && ekman >= 0.545, "{labels} {ekman}");
    assert!(
        ekman < evaluate(&model, &dev).1,
        "tuning on the scored half is optimistic"
    );
    // The dominant emotion. Its thresholds were tuned on dev to read the texts labelled only
    // neutral as neutral at least NEUTRAL_KEPT of the time, and they do.
    let (label, group, neutral) = dominant_agreement(&model, &dev);
    eprintln!("dominant: {label:.3} / {group:.3} / {neutral:.3}");
    assert!(neutral >= NEUTRAL_KEPT, "{neutral}");
    assert!(label >= 0.56 && group >= 0.625, "{label} {group}");
    // Out of sample (tuned on one half, scored on the other): 0.553 / 0.619 / 0.788 when made
    // (the label 0.562 and neutral 0.774 before the thresholds kept neutral texts neutral and
    // the features stopped reading handles).
    let (label, group, neutral) = dominant_agreement_cross_tuned(&model, &dev);
    eprintln!("dominant, cross-tuned: {label:.3} / {group:.3} / {neutral:.3}");
    assert!(
        label >= 0.55 && group >= 0.615 && neutral >= 0.78,
        "{label} {group} {neutral}"
    );
}
