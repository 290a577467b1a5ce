//! One module per group of commands; each opens its storage, calls the
//! library and prints.

mod copy;
mod explain;
mod gc;
mod listing;
mod remove;
mod verify;

use clap::CommandFactory as _;

use crate::Outcome;
use crate::cli::{Cli, Command};

/// Runs the command the user gave.
pub(crate) fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let global = &cli.global;
    match cli.command {
        Command::Workflows => listing::workflows(global),
        Command::Ls { workflow, pattern } => listing::ls(global, &workflow, &pattern),
        Command::Explain { workflow, pattern } => explain::run(global, &workflow, &pattern),
        Command::Show {
            workflow,
            task,
            raw,
            all,
        } => listing::show(global, &workflow, &task, raw, all),
        Command::Rm {
            workflow,
            pattern,
            confirm,
        } => remove::tasks(global, &workflow, &pattern, &confirm),
        Command::RmWorkflow { workflow, confirm } => remove::workflow(global, &workflow, &confirm),
        Command::Verify { workflows } => verify::run(global, &workflows),
        Command::Gc {
            workflows,
            dry_run,
            grace,
            retention,
        } => gc::run(global, &workflows, dry_run, grace, retention),
        Command::Cp {
            source,
            destination,
            workflows,
            overwrite,
        } => copy::run(global, &source, &destination, &workflows, overwrite),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "ffuse", &mut std::io::stdout());
            Ok(Outcome::Clean)
        }
    }
}

/// Checks that `workflow` holds something, so that a typo is an error
/// rather than an empty listing.
fn existing_workflow(storage: &functionfuse::Storage, workflow: &str) -> anyhow::Result<()> {
    existing_workflows(storage, &[workflow.to_owned()])
}

/// [`existing_workflow`] for each of `workflows` (one listing).
fn existing_workflows(storage: &functionfuse::Storage, workflows: &[String]) -> anyhow::Result<()> {
    if workflows.is_empty() {
        return Ok(());
    }
    let stored = storage.workflows()?;
    for workflow in workflows {
        functionfuse::names::validate_workflow(workflow)?;
        if !stored.contains(workflow) {
            anyhow::bail!(
                "no workflow `{workflow}` in {}; `ffuse workflows` lists them",
                storage.backend().location()
            );
        }
    }
    Ok(())
}
