//! A short fuzz run of the input parsers, driven by proptest: mutated fixtures (network and storage) and
//! arbitrary text must give diagnostics, never a panic. Longer runs: `PROPTEST_CASES=100000 cargo test --test it fuzz`.

use maas_esxi::{Options, check};
use proptest::prelude::*;

use crate::fixture_files;

fn corpus() -> Vec<String> {
    ["network", "storage", "invalid"]
        .iter()
        .flat_map(|d| fixture_files(d))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    Replace(usize, String),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        Just(":".to_string()),
        Just("- ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("{".to_string()),
        Just("[".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("!!binary ".to_string()),
        Just("~".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("type: bond".to_string()),
        Just("vlan_id: -1".to_string()),
        Just("mtu: 1e309".to_string()),
        Just("version: 2".to_string()),
        Just("type: vmfs6".to_string()),
        Just("devices: [sda-part3, sda-part3]".to_string()),
        Just("size: 1.5G".to_string()),
        Just("number: 129".to_string()),
        Just("grub_device: true".to_string()),
        Just("\t".to_string()),
        Just("é".to_string()),
        "[ -~]{1,8}",
    ];
    prop_oneof![
        (any::<usize>(), token.clone()).prop_map(|(i, t)| Edit::Insert(i, t)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), token).prop_map(|(i, t)| Edit::Replace(i, t)),
        (any::<usize>(), 1usize..200).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

fn at(s: &str, i: usize) -> usize {
    let mut i = i % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(mut s: String, edits: &[Edit]) -> String {
    for e in edits {
        match e {
            Edit::Insert(i, t) => {
                let i = at(&s, *i);
                s.insert_str(i, t);
            }
            Edit::Delete(i, n) => {
                let i = at(&s, *i);
                let j = at(&s, i + n);
                s.replace_range(i..j.max(i), "");
            }
            Edit::Replace(i, t) => {
                let i = at(&s, *i);
                let j = at(&s, i + t.len());
                s.replace_range(i..j.max(i), t);
            }
            Edit::Duplicate(i, n) => {
                let i = at(&s, *i);
                let j = at(&s, i + n);
                let piece = s[i..j.max(i)].to_string();
                s.insert_str(j.max(i), &piece);
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_fixtures_never_panic(seed in any::<prop::sample::Index>(), edits in proptest::collection::vec(edit(), 1..6)) {
        let corpus = corpus();
        let text = apply(corpus[seed.index(corpus.len())].clone(), &edits);
        let strict = Options { strict: true, ..Options::default() };
        for options in [Options::default(), strict] {
            let outcome = check(&text, &options);
            // Every diagnostic has a real position: no `0:0`, none without a place.
            for d in &outcome.diagnostics.0 {
                prop_assert!(d.span.is_some_and(|s| s.line >= 1 && s.col >= 1), "{d:?}");
            }
            // Rejected input always says why.
            if outcome.plan.is_none() {
                prop_assert!(outcome.diagnostics.has_errors());
            } else {
                let plan = outcome.plan.expect("checked");
                let _ = maas_esxi::render::script(&plan);
                let _ = maas_esxi::render::json(&plan);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let outcome = check(&text, &Options::default());
        prop_assert!(outcome.plan.is_some() || outcome.diagnostics.has_errors());
        for d in &outcome.diagnostics.0 {
            prop_assert!(d.span.is_some_and(|s| s.line >= 1 && s.col >= 1), "{d:?}");
        }
    }
}
