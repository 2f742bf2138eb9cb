//! The embedded dataset carries a weak but real signal that ridge regression finds.

use taskpool_experiment::data::synthetic::{SyntheticSpec, generate};
use taskpool_experiment::data::{Dataset, FEATURE_NAMES};
use taskpool_experiment::metrics::evaluate;
use taskpool_experiment::model::Ridge;

#[test]
fn ridge_on_synthetic_data_has_positive_out_of_sample_ic() {
    let bars = generate(&SyntheticSpec {
        instruments: 100,
        days: 400,
        ..SyntheticSpec::default()
    });
    let ds = Dataset::from_bars(&bars);
    let dates = ds.dates();
    let train = ds.rows(Some(dates[0]), Some(dates[249]));
    let test = ds.rows(Some(dates[252]), Some(dates[370]));
    let model = Ridge { alpha: 1.0 }
        .fit(train.features, FEATURE_NAMES.len(), &train.norm_labels)
        .unwrap();
    let pred = model.predict(test.features);
    let (daily, m) = evaluate(test.dates, &pred, &test.labels, &test.norm_labels);
    eprintln!(
        "out-of-sample IC {:.4}, rank IC {:.4}, days {}",
        m.ic, m.rank_ic, m.days
    );
    assert_eq!(daily.len(), 119);
    assert!(m.ic > 0.01, "IC {} should show the planted signal", m.ic);
    assert!(
        m.ic < 0.3,
        "IC {} is implausibly strong for a weak signal",
        m.ic
    );
}
