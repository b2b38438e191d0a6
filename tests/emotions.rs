//! The bundled emotion model: it loads, scores sensibly, and keeps its measured quality on dev.

use earshot::emotion::{evaluate, parse_goemotions, EmotionModel};

#[test]
fn bundled_model_scores_and_keeps_its_dev_figures() {
    let model = EmotionModel::bundled().expect("bundled model loads");
    let e = model.score("Thank you so much, you saved my day!");
    assert_eq!(e.dominant, "gratitude");
    assert_eq!(e.dominant_ekman, "joy");
    let e = model.score("This is infuriating, third outage this week and nobody answers");
    assert_eq!(e.dominant_ekman, "anger", "{e:?}");
    assert!((1..=5).contains(&e.intensity));
    assert_eq!(model.score("The meeting is at 3pm.").dominant, "neutral");
    let dev = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/goemotions/dev.tsv"
    ))
    .unwrap();
    let (labels, ekman) = evaluate(&model, &parse_goemotions(&dev).unwrap());
    eprintln!("dev macro-F1: 28 labels {labels:.3}, Ekman {ekman:.3}");
    // The figures `earshot train-emotions` printed when the shipped model was made.
    assert!(labels >= 0.34 && ekman >= 0.48, "{labels} {ekman}");
}
