//! `crawler man`: the manual page in roff, made from the clap definitions (the same
//! help texts as `--help`, the exit codes included).

use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::args::{Cli, ManArgs};
use crate::terminal::notice;
use crate::Failure;

pub fn run(args: ManArgs) -> Result<ExitCode, Failure> {
    let mut command = Cli::command();
    match args.out {
        None => {
            let page = match &args.command {
                None => command,
                Some(name) => {
                    command.build();
                    let found = command.find_subcommand(name).cloned();
                    found.ok_or_else(|| {
                        let names: Vec<&str> =
                            command.get_subcommands().map(|c| c.get_name()).collect();
                        Failure::Usage(format!(
                            "man {name}: no such command (commands: {})",
                            names.join(", ")
                        ))
                    })?
                }
            };
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(page).render(&mut out)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            notice(&format!(
                "wrote crawler.1 and a page per command into {} (read one with: man {}/crawler.1)",
                dir.display(),
                dir.display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
