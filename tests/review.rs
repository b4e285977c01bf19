//! What `daft trust` shows is exactly what will run: characters a terminal would act on or hide
//! are shown visibly, the diff is daft's own whatever the repository or the user configured,
//! and messages that quote a repository escape it.

use crate::common::TestRepo;

/// A config whose `run:` line holds `hidden`, raw, in front of what the terminal would show.
fn disguised(hidden: &str) -> String {
    format!(
        "hooks:\n  worktree-post-create:\n    jobs:\n      - name: greet\n        run: \"touch pwned; {hidden}echo hello\"\n"
    )
}

fn characters_that_would_hide_what_runs_are_shown_visibly() {
    // (raw characters in the file, how daft shows them)
    for (hidden, shown) in [
        ("\r", "\\r"),
        ("\u{202e}", "<U+202E>"),
        ("\u{2066}", "<U+2066>"),
        ("\u{200b}", "<U+200B>"),
        ("\u{feff}", "<U+FEFF>"),
        ("\u{2028}", "<U+2028>"),
        ("\u{e0041}", "<U+E0041>"),
    ] {
        let repo = TestRepo::new().daft_yml(&disguised(hidden));
        let out = repo.daft(&["trust", "--yes"]).ok();
        let stdout = out.stdout();
        assert!(
            stdout.contains(&format!("touch pwned; {shown}echo hello")),
            "{hidden:?}: {stdout}"
        );
        assert!(
            stdout.contains("daft.yml holds 1 character"),
            "{hidden:?}: {stdout}"
        );
        assert!(
            !stdout.contains(hidden),
            "{hidden:?} reached the terminal: {stdout:?}"
        );
    }
}

fn control_characters_yaml_refuses_are_not_echoed_either() {
    for hidden in ["\x1b[2K", "\x07", "\u{9b}31m"] {
        let repo = TestRepo::new().daft_yml(&disguised(hidden));
        let out = repo.daft(&["trust", "--yes"]).fails_with(2);
        let all = format!("{}{}", out.stdout(), out.stderr());
        assert!(
            !all.contains(['\x1b', '\x07', '\u{9b}']),
            "{hidden:?}: {all:?}"
        );
    }
}

fn the_diff_is_daft_s_own_whatever_the_repository_and_user_configure() {
    let repo = TestRepo::installed(&disguised(""));
    // Everything that changes or hides `git diff` output, from the repository and the user.
    repo.write(".gitattributes", "daft.yml -diff\n*.yml diff=hide\n");
    repo.git(&[
        "config",
        "diff.hide.textconv",
        "sh -c 'echo nothing to see'",
    ])
    .ok();
    repo.git(&["config", "diff.external", "true"]).ok();
    repo.git(&["config", "core.pager", "true"]).ok();
    repo.git(&["config", "color.diff", "always"]).ok();
    let repo = repo.daft_yml(&disguised("\r")).commit();
    let out = repo
        .command(crate::common::DAFT, &repo.root)
        .args(["trust", "--yes"])
        .env("GIT_EXTERNAL_DIFF", "true")
        .env("GIT_PAGER", "true")
        .env("PAGER", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("changed since it was last trusted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-        run: \"touch pwned; echo hello\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("+        run: \"touch pwned; \\recho hello\""),
        "{stdout}"
    );
    assert!(!stdout.contains("Binary files"), "{stdout}");
    assert!(!stdout.contains("nothing to see"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour: {stdout:?}");
}

fn trust_writes_no_temporary_file_where_another_user_could_plant_one() {
    let repo = TestRepo::installed(&disguised(""));
    let repo = repo.daft_yml(&disguised("x; ")).commit();
    let tmp = repo.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let victim = repo.path("victim");
    std::fs::write(&victim, "mine\n").unwrap();
    // Whatever name a planted link has, nothing is written through it, and nothing is
    // written to TMPDIR at all.
    for pid in 0..64 {
        std::os::unix::fs::symlink(&victim, tmp.join(format!("daft-trusted-{pid}.yml"))).unwrap();
    }
    repo.command(crate::common::DAFT, &repo.root)
        .args(["trust", "--yes"])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine\n");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 64);
}

fn notices_escape_repository_text_and_quote_paths_to_paste() {
    let repo = TestRepo::new().daft_yml(&disguised("")).commit().install();
    // A worktree whose directory name holds an escape sequence and a space.
    let out = repo
        .git(&["worktree", "add", "../evil \x1b[8mname", "-b", "evil"])
        .ok();
    let stderr = out.stderr();
    let notice = stderr
        .lines()
        .find(|line| line.contains("not trusted"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(!notice.contains('\x1b'), "{notice:?}");
    assert!(notice.contains(r"cd $'"), "quoted for pasting: {notice}");
    assert!(
        notice.contains(r"evil \x1b[8mname' && daft trust"),
        "{notice}"
    );
    // An unknown event name from the file is shown, not interpreted.
    let repo = TestRepo::new().daft_yml("hooks:\n  \"bad\\e]0;title\\a\":\n    jobs: []\n");
    let err = repo.daft(&["validate"]).fails_with(2).stderr();
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(err.contains(r"bad\x1b]0;title\x07"), "{err}");
}

crate::cases![
    characters_that_would_hide_what_runs_are_shown_visibly,
    control_characters_yaml_refuses_are_not_echoed_either,
    the_diff_is_daft_s_own_whatever_the_repository_and_user_configure,
    trust_writes_no_temporary_file_where_another_user_could_plant_one,
    notices_escape_repository_text_and_quote_paths_to_paste,
];
