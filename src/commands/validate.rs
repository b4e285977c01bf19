//! `daft validate`: the config's errors, or a summary of what it would run.

use anyhow::Result;

pub(crate) fn run() -> Result<u8> {
    let (wt, sources) = super::here()?;
    let Some(sources) = sources else {
        crate::error::usage!(
            "no daft.yml in {}; `daft init` writes one from what the repository holds",
            crate::escape::text(wt.root.as_str())
        );
    };
    let problems = sources.problems();
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("daft: {problem}");
        }
        eprintln!(
            "daft: {} mistake{} in the config; nothing runs until it is fixed",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        return Ok(2);
    }
    let config = sources.parse()?;
    println!("{} is valid", sources.main.shown());
    if let Some(local) = &sources.local {
        println!("  with overrides from {}", local.shown());
    }
    for (name, event) in &config.events {
        let jobs: Vec<String> = event
            .jobs
            .iter()
            .map(|job| {
                if job.background {
                    format!("{} (background)", job.name)
                } else {
                    job.name.clone()
                }
            })
            .collect();
        println!(
            "  {name}: {}",
            if jobs.is_empty() {
                "no jobs".to_owned()
            } else {
                jobs.join(", ")
            }
        );
    }
    Ok(0)
}
