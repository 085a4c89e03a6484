//! The engine's README opens with a quick start that must work when pasted:
//! its `main.rs` is this package's `quickstart` program, byte for byte (the
//! smoke test runs that program), and its `[dependencies]` name versions
//! that the workspace actually builds with.

const README: &str = include_str!("../../crates/axum-suspense/README.md");
const QUICKSTART: &str = include_str!("../src/bin/quickstart.rs");
const LOCK: &str = include_str!("../../Cargo.lock");

/// The body of the first fenced block opened with exactly "```LANG".
fn fenced<'a>(text: &'a str, lang: &str) -> &'a str {
    let open = format!("```{lang}\n");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no {open:?} block in the README"))
        + open.len();
    let end = start + text[start..].find("```").expect("the block is closed");
    &text[start..end]
}

#[test]
fn the_readme_main_rs_is_the_quickstart_example() {
    let readme = fenced(README, "rust");
    if readme != QUICKSTART {
        let line = readme
            .lines()
            .zip(QUICKSTART.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_owned(), |n| format!("line {}", n + 1));
        panic!(
            "crates/axum-suspense/README.md's main.rs differs from examples/src/bin/quickstart.rs at {line}; copy the example into the README"
        );
    }
}

#[test]
fn the_readme_dependencies_are_the_ones_the_workspace_builds_with() {
    let block = fenced(README, "toml");
    let mut named = 0;
    for line in block
        .lines()
        .skip_while(|l| *l != "[dependencies]")
        .skip(1)
        .filter(|l| !l.starts_with('#'))
    {
        let (name, spec) = line.split_once(" = ").expect("name = spec");
        let wanted = spec
            .split('"')
            .nth(1)
            .unwrap_or_else(|| panic!("no version for {name}"));
        // Cargo.lock lists each package as `name = "…"` then `version = "…"`.
        let locked: Vec<&str> = LOCK
            .split("[[package]]")
            .filter(|package| package.contains(&format!("\nname = \"{name}\"\n")))
            .filter_map(|package| package.split("version = \"").nth(1)?.split('"').next())
            .collect();
        assert!(
            locked
                .iter()
                .any(|version| version == &wanted || version.starts_with(&format!("{wanted}."))),
            "the README asks for {name} {wanted:?}, the workspace builds with {locked:?}"
        );
        named += 1;
    }
    assert_eq!(
        named, 5,
        "axum-suspense, askama, axum, tokio, tracing-subscriber: {block}"
    );
}
