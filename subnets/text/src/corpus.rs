//! The text subnet's corpus: an encyclopedia of an invented world, written by a deterministic
//! generator so the project can ship unlimited text of its own.
//!
//! A *world* (cities, rivers, mountains, people, crafts, and the facts that link them) comes
//! from a world seed; an *edition* is one rendering of that world's facts as English prose, with
//! its own choice of phrasings and order, from an edition seed. Miners learn from one edition;
//! validators quiz them on sentences from another. Facts are shared, phrasing is not, so a
//! model that has learned the world completes sentences it has never seen verbatim.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// The world every node of the text subnet agrees on.
pub const WORLD_SEED: u64 = 0x50f0_12c0_5eed;

const ONSETS: &[&str] = &[
    "b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "r", "s", "st", "t",
    "th", "v", "w", "z",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ae", "ai", "ou", "ei"];
const CODAS: &[&str] = &["", "", "n", "r", "l", "s", "th", "nd", "rk", "m", "x"];

const REGIONS: &[&str] = &[
    "northern marches",
    "southern plains",
    "eastern hills",
    "western coast",
    "high valleys",
    "lake country",
    "salt flats",
    "river delta",
];
const CRAFTS: &[&str] = &[
    "glassware",
    "woollen cloth",
    "copper bells",
    "salted fish",
    "river pearls",
    "printed maps",
    "dyed silk",
    "clockwork toys",
    "red wine",
    "paper lanterns",
    "iron tools",
    "honey cakes",
];
const PROFESSIONS: &[&str] = &[
    "merchant",
    "astronomer",
    "shipwright",
    "cartographer",
    "weaver",
    "physician",
    "poet",
    "engineer",
];
const TEMPERS: &[&str] = &[
    "patient", "restless", "generous", "stubborn", "cheerful", "careful",
];
const SEASONS: &[&str] = &["spring", "summer", "autumn", "winter"];
const FESTIVALS: &[&str] = &[
    "lantern festival",
    "harvest fair",
    "boat race",
    "night market",
    "music contest",
    "bell parade",
];

/// A city and the facts about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City {
    /// Its name.
    pub name: String,
    /// The river it lies on (an index into [`World::rivers`]).
    pub river: usize,
    /// The region it lies in.
    pub region: &'static str,
    /// Its founder (an index into [`World::people`]).
    pub founder: usize,
    /// The year it was founded.
    pub founded: u32,
    /// What it is known for.
    pub craft: &'static str,
    /// Its trading partner (an index into [`World::cities`]).
    pub partner: usize,
    /// Its festival.
    pub festival: &'static str,
    /// The season of the festival.
    pub season: &'static str,
}

/// A river.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct River {
    /// Its name.
    pub name: String,
    /// The mountain it rises in (an index into [`World::mountains`]).
    pub source: usize,
    /// Its length in leagues.
    pub leagues: u32,
}

/// A person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Given name and family name.
    pub name: String,
    /// What they did.
    pub profession: &'static str,
    /// Their temper.
    pub temper: &'static str,
    /// Their teacher (an index into [`World::people`]), if any.
    pub teacher: Option<usize>,
}

/// The whole invented world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// Cities.
    pub cities: Vec<City>,
    /// Rivers.
    pub rivers: Vec<River>,
    /// Mountains (names only).
    pub mountains: Vec<String>,
    /// People.
    pub people: Vec<Person>,
}

fn pick<'a, T: ?Sized>(rng: &mut ChaCha20Rng, items: &'a [&'a T]) -> &'a T {
    items[index(rng, items.len())]
}

fn index(rng: &mut ChaCha20Rng, len: usize) -> usize {
    (rng.next_u64() % len as u64) as usize
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A pronounceable invented name of `syllables` syllables, unique within `taken`.
fn name(rng: &mut ChaCha20Rng, syllables: usize, taken: &mut Vec<String>) -> String {
    loop {
        let mut s = String::new();
        for i in 0..syllables {
            s.push_str(pick(rng, ONSETS));
            s.push_str(pick(rng, VOWELS));
            if i + 1 == syllables {
                s.push_str(pick(rng, CODAS));
            }
        }
        let s = capitalize(&s);
        if !taken.contains(&s) {
            taken.push(s.clone());
            return s;
        }
    }
}

impl World {
    /// The world of `seed`: 24 cities, 10 rivers, 8 mountains, 32 people.
    pub fn generate(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut taken = Vec::new();
        let mountains: Vec<String> = (0..8)
            .map(|_| format!("{} Peaks", name(&mut rng, 2, &mut taken)))
            .collect();
        let rivers: Vec<River> = (0..10)
            .map(|_| River {
                name: name(&mut rng, 2, &mut taken),
                source: index(&mut rng, mountains.len()),
                leagues: 40 + (rng.next_u64() % 400) as u32,
            })
            .collect();
        let mut people: Vec<Person> = Vec::new();
        for i in 0..32 {
            let given = name(&mut rng, 2, &mut taken);
            let family = name(&mut rng, 3, &mut taken);
            let teacher = if i > 0 && rng.next_u64() % 3 != 0 {
                Some(index(&mut rng, i))
            } else {
                None
            };
            people.push(Person {
                name: format!("{given} {family}"),
                profession: pick(&mut rng, PROFESSIONS),
                temper: pick(&mut rng, TEMPERS),
                teacher,
            });
        }
        let n_cities = 24;
        let cities = (0..n_cities)
            .map(|i| {
                let mut partner = index(&mut rng, n_cities);
                if partner == i {
                    partner = (partner + 1) % n_cities;
                }
                let syllables = 2 + (rng.next_u64() % 2) as usize;
                City {
                    name: name(&mut rng, syllables, &mut taken),
                    river: index(&mut rng, rivers.len()),
                    region: pick(&mut rng, REGIONS),
                    founder: index(&mut rng, people.len()),
                    founded: 300 + (rng.next_u64() % 900) as u32,
                    craft: pick(&mut rng, CRAFTS),
                    partner,
                    festival: pick(&mut rng, FESTIVALS),
                    season: pick(&mut rng, SEASONS),
                }
            })
            .collect();
        Self {
            cities,
            rivers,
            mountains,
            people,
        }
    }

    /// Every fact of the world as sentences, each in one of several phrasings chosen by `rng`.
    fn sentences(&self, rng: &mut ChaCha20Rng) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.cities {
            let river = &self.rivers[c.river].name;
            let founder = &self.people[c.founder].name;
            let partner = &self.cities[c.partner].name;
            let n = &c.name;
            let facts: [[String; 3]; 5] = [
                [
                    format!("{n} lies on the river {river} in the {}.", c.region),
                    format!(
                        "The city of {n} stands on the river {river}, in the {}.",
                        c.region
                    ),
                    format!("In the {} the river {river} flows past {n}.", c.region),
                ],
                [
                    format!("{n} was founded by {founder} in the year {}.", c.founded),
                    format!(
                        "The city of {n} was founded in the year {} by {founder}.",
                        c.founded
                    ),
                    format!(
                        "In the year {} {founder} founded the city of {n}.",
                        c.founded
                    ),
                ],
                [
                    format!(
                        "{n} is famous for its {}, which merchants carry to {partner}.",
                        c.craft
                    ),
                    format!(
                        "The {} of {n} are sold in the markets of {partner}.",
                        c.craft
                    ),
                    format!("Merchants from {partner} travel to {n} to buy {}.", c.craft),
                ],
                [
                    format!(
                        "Every {} the people of {n} hold a {}.",
                        c.season, c.festival
                    ),
                    format!("The {} of {n} is held every {}.", c.festival, c.season),
                    format!("In {} {n} celebrates with a {}.", c.season, c.festival),
                ],
                [
                    format!("The oldest trade road of {n} leads to {partner}."),
                    format!("A trade road joins {n} and {partner}."),
                    format!("From {n} the old trade road runs to {partner}."),
                ],
            ];
            for variants in facts {
                let i = index(rng, variants.len());
                out.push(variants[i].clone());
            }
        }
        for r in &self.rivers {
            let source = &self.mountains[r.source];
            let v = [
                format!(
                    "The river {} rises in the {source} and runs for {} leagues.",
                    r.name, r.leagues
                ),
                format!(
                    "From the {source} the river {} runs for {} leagues.",
                    r.name, r.leagues
                ),
                format!(
                    "The {source} are the source of the river {}, which is {} leagues long.",
                    r.name, r.leagues
                ),
            ];
            out.push(v[index(rng, v.len())].clone());
        }
        for p in &self.people {
            let v = [
                format!("{} was a {} {}.", p.name, p.temper, p.profession),
                format!(
                    "The {} {} was known as a {} person.",
                    p.profession, p.name, p.temper
                ),
                format!(
                    "{} worked as a {} and was {} by nature.",
                    p.name, p.profession, p.temper
                ),
            ];
            out.push(v[index(rng, v.len())].clone());
            if let Some(t) = p.teacher {
                let teacher = &self.people[t].name;
                let v = [
                    format!("{} learned the craft from {teacher}.", p.name),
                    format!("{teacher} was the teacher of {}.", p.name),
                ];
                out.push(v[index(rng, v.len())].clone());
            }
        }
        out
    }

    /// One edition: the world's facts in phrasings and an order chosen by `edition_seed`.
    pub fn edition(&self, edition_seed: u64) -> Vec<String> {
        let mut rng = ChaCha20Rng::seed_from_u64(edition_seed);
        let mut sentences = self.sentences(&mut rng);
        // Fisher-Yates with our own generator, so every platform gets the same order.
        for i in (1..sentences.len()).rev() {
            let j = index(&mut rng, i + 1);
            sentences.swap(i, j);
        }
        sentences
    }

    /// Several editions joined into one training text.
    pub fn training_text(&self, editions: u64) -> String {
        (0..editions)
            .flat_map(|e| self.edition(e.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_world_is_the_same_everywhere() {
        let a = World::generate(WORLD_SEED);
        assert_eq!(a, World::generate(WORLD_SEED));
        assert_ne!(a, World::generate(WORLD_SEED + 1));
        let names: std::collections::HashSet<_> = a.cities.iter().map(|c| &c.name).collect();
        assert_eq!(names.len(), a.cities.len());
        assert!(
            a.cities
                .iter()
                .all(|c| c.partner != a.cities.iter().position(|x| x == c).unwrap())
        );
    }

    #[test]
    fn editions_share_facts_not_phrasing() {
        let w = World::generate(WORLD_SEED);
        let a = w.edition(1);
        let b = w.edition(2);
        assert_eq!(a.len(), b.len());
        assert_ne!(a, b);
        let founder = &w.people[w.cities[0].founder].name;
        let city = &w.cities[0].name;
        for e in [&a, &b] {
            assert!(
                e.iter()
                    .any(|s| s.contains(city.as_str()) && s.contains(founder.as_str()))
            );
        }
    }
}
