//! The Debian package that `scripts/deb` builds, read back with Debian's tools: its metadata and file list
//! (`dpkg-deb --field`, `--contents`), the binary it holds, the man pages and completions that binary
//! generates, and lintian with nothing to say.
//!
//! The package is built from a stripped copy of the test build (`--binary`), so the test does not build
//! the `image` profile; the rest of the script runs as it does for a release. Needs dpkg-deb, strip
//! (binutils) and lintian.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::{root, run_tool as run};

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(path: &Path) -> &str {
    path.to_str().expect("scratch paths are UTF-8")
}

#[test]
fn the_debian_package_holds_the_static_binary_its_man_pages_and_completions() {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let binary = scratch.path().join("maas-esxi");
    run(
        "strip",
        &["-o", s(&binary), env!("CARGO_BIN_EXE_maas-esxi")],
    );
    let out_dir = scratch.path().join("out");
    let deb = text(&run(
        s(&root().join("scripts/deb")),
        &["--binary", s(&binary), "--out", s(&out_dir)],
    ));
    let deb = Path::new(deb.trim());
    assert_eq!(
        deb,
        out_dir.join(format!("maas-esxi_{}_amd64.deb", env!("CARGO_PKG_VERSION")))
    );

    let field = |name: &str| {
        text(&run("dpkg-deb", &["--field", s(deb), name]))
            .trim()
            .to_string()
    };
    assert_eq!(field("Package"), "maas-esxi");
    assert_eq!(field("Version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(field("Architecture"), "amd64");
    assert_eq!(field("Depends"), "", "a static binary depends on nothing");
    let info = text(&run("dpkg-deb", &["--info", s(deb)]));
    assert!(
        info.contains(" Description: MAAS deployment of VMware ESXi"),
        "{info}"
    );

    // The man pages are one per command, as `maas-esxi man --dir` writes them.
    let pages = scratch.path().join("pages");
    run(s(&binary), &["man", "--dir", s(&pages)]);
    let mut want: Vec<String> = [
        "usr/bin/maas-esxi",
        "usr/share/bash-completion/completions/maas-esxi",
        "usr/share/doc/maas-esxi/changelog.gz",
        "usr/share/doc/maas-esxi/copyright",
        "usr/share/fish/vendor_completions.d/maas-esxi.fish",
        "usr/share/lintian/overrides/maas-esxi",
        "usr/share/zsh/vendor-completions/_maas-esxi",
    ]
    .map(str::to_string)
    .to_vec();
    for page in std::fs::read_dir(&pages).expect("the pages") {
        let name = page
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        want.push(format!("usr/share/man/man1/{name}.gz"));
    }
    want.sort();
    let contents = text(&run("dpkg-deb", &["--contents", s(deb)]));
    let mut files: Vec<String> = contents
        .lines()
        .filter(|line| line.starts_with('-'))
        .map(|line| {
            assert!(line.contains(" root/root "), "owned by root: {line}");
            let path = line.split_whitespace().last().expect("a path");
            path.trim_start_matches("./").to_string()
        })
        .collect();
    files.sort();
    assert_eq!(files, want, "{contents}");
    assert!(
        contents.contains("-rwxr-xr-x root/root") && contents.contains("./usr/bin/maas-esxi"),
        "{contents}"
    );
    assert!(
        want.iter()
            .any(|f| f.ends_with("maas-esxi-image-build.1.gz"))
    );

    let tree = scratch.path().join("tree");
    run("dpkg-deb", &["-x", s(deb), s(&tree)]);
    assert!(
        std::fs::read(tree.join("usr/bin/maas-esxi")).expect("the binary")
            == std::fs::read(&binary).expect("the input"),
        "the package holds the binary it was given"
    );
    assert_eq!(
        maas_esxi::image::binary::inspect(&tree.join("usr/bin/maas-esxi")).map(|b| b.warnings),
        Ok(vec![]),
        "a static x86-64 executable"
    );
    let page = text(&run(
        "zcat",
        &[s(
            &tree.join("usr/share/man/man1/maas-esxi-image-build.1.gz")
        )],
    ));
    assert!(page.contains(".TH maas-esxi-image-build 1"), "{page}");
    let bash =
        std::fs::read_to_string(tree.join("usr/share/bash-completion/completions/maas-esxi"))
            .expect("bash completion");
    assert!(bash.contains("complete -F _maas__esxi"), "{bash}");

    let lintian = Command::new("lintian")
        .args(["--fail-on", "error,warning", s(deb)])
        .stdin(Stdio::null())
        .output()
        .expect("lintian runs (Debian package lintian)");
    let report = text(&lintian);
    assert!(
        lintian.status.success()
            && !report
                .lines()
                .any(|l| l.starts_with("E:") || l.starts_with("W:")),
        "lintian: {}\n{report}{}",
        lintian.status,
        String::from_utf8_lossy(&lintian.stderr)
    );
}
