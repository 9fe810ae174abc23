//! The built-in miners' quality, as the data subnet's documentation quotes it:
//! `cargo run -p subforge-subnet-data --example evaluate --release [rounds]`.
//!
//! Prints each model's R² on all held-out rows and its mean score over `rounds` (default 500)
//! challenges of 32 rows, then the same models trained on the Boston house-price data, the
//! other regression set `smartcore` ships, to show why the subnet uses the diabetes data.

use subforge_core::Seed;
use subforge_subnet_data::data::{Split, diabetes};
use subforge_subnet_data::generate::{DEFAULT_ROWS, RowGenerator};
use subforge_subnet_data::model::{Model, ModelKind};
use subforge_subnet_data::scoring::{r_squared, regression_score};

fn report(split: &'static Split, rounds: u64) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "{}: {} training rows, {} held out, {} features",
        split.name,
        split.train.rows(),
        split.test.rows(),
        split.train.columns()
    );
    let targets: Vec<f64> = split.test.targets().iter().map(|&t| f64::from(t)).collect();
    let generator = RowGenerator::new(split, DEFAULT_ROWS);
    let models = ModelKind::ALL
        .map(|kind| Model::train(kind, &split.train, 7))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let mut scores = vec![Vec::new(); models.len()];
    for s in 0..rounds {
        let c = generator.challenge(Seed(s));
        let features = c.task.decode_features()?;
        let truth = c.reference.decode().ok_or("undecodable reference")?;
        for (model, scores) in models.iter().zip(&mut scores) {
            let p: Vec<f32> = model.predict(&features).iter().map(|&p| p as f32).collect();
            scores.push(regression_score(&p, &truth));
        }
    }
    for (i, model) in models.iter().enumerate() {
        let r2 = r_squared(&model.predict(split.test.features()), &targets).unwrap_or(f64::NAN);
        let mean = scores[i].iter().sum::<f64>() / rounds as f64;
        print!(
            "  {:<7} held-out R² {r2:>7.3}   mean score over {rounds} challenges {mean:.3}",
            model.kind()
        );
        if let Some(next) = scores.get(i + 1) {
            let wins = scores[i].iter().zip(next).filter(|(a, b)| a > b).count();
            print!("   beats the next in {wins}/{rounds}");
        }
        println!();
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 500,
    };
    report(diabetes(), rounds)?;
    let boston = smartcore::dataset::boston::load_dataset();
    let boston: &'static Split = Box::leak(Box::new(Split::new(
        "boston",
        boston.feature_names,
        "price".into(),
        &boston.data,
        &boston.target,
    )));
    report(boston, rounds)
}
