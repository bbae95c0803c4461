//! `pipit remote`: add, list, modify and remove the remotes a project shares
//! its cache through (`.pipit/config.toml`, and `.pipit/config.local.toml`
//! for one machine).

use clap::{Args, Subcommand};
use pipit::remote::config::{CONFIG_FILE, LOCAL_CONFIG_FILE, describe};
use pipit::remote::{Config, RemoteConfig};

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit remote`
#[derive(Debug, Args)]
pub struct RemoteArgs {
    #[command(subcommand)]
    command: RemoteCommand,
}

#[derive(Debug, Subcommand)]
enum RemoteCommand {
    /// Add a remote: `s3://bucket/prefix`, `gs://…`, `az://…`, `https://…`, `file://…` or a folder
    Add {
        /// Its name
        name: String,
        /// Where it is
        url: String,
        /// Make it the default remote
        #[arg(short, long)]
        default: bool,
        /// Write it to `.pipit/config.local.toml` (this machine only, git-ignored)
        #[arg(long)]
        local: bool,
    },
    /// List the remotes
    List,
    /// Remove a remote
    Remove {
        /// Its name
        name: String,
    },
    /// Set a remote's key: `url`, `endpoint`, `region`, `allow_http`, `path_style`, `read_only`
    Modify {
        /// The remote's name
        name: String,
        /// The key
        key: String,
        /// Its value
        value: String,
        /// Write it to `.pipit/config.local.toml` (this machine only, git-ignored)
        #[arg(long)]
        local: bool,
    },
    /// Make a remote the default one
    Default {
        /// Its name
        name: String,
        /// Write it to `.pipit/config.local.toml` (this machine only, git-ignored)
        #[arg(long)]
        local: bool,
    },
}

/// Runs `pipit remote …`.
pub fn run(args: RemoteArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let (_, root) = workspace::current_root()?;
    let mut config = Config::load(&root)?;
    let file = |local: bool| if local { LOCAL_CONFIG_FILE } else { CONFIG_FILE };
    match args.command {
        RemoteCommand::Add { name, url, default, local } => {
            config.add(&name, &url, local)?;
            if default {
                config.set_default(&name, local)?;
            }
            let role = if default { " (the default)" } else { "" };
            printer.line(&format!("added remote `{name}`{role} to `{}`", file(local)));
        }
        RemoteCommand::List => {
            let default = config.default_name();
            for remote in config.remotes()? {
                printer.line(&list_line(&remote, default.as_deref() == Some(&remote.name)));
            }
        }
        RemoteCommand::Remove { name } => {
            config.remove(&name)?;
            printer.line(&format!("removed remote `{name}`"));
        }
        RemoteCommand::Modify { name, key, value, local } => {
            config.set(&name, &key, &value, local)?;
            printer.line(&format!("set `{key}` of remote `{name}` in `{}`", file(local)));
        }
        RemoteCommand::Default { name, local } => {
            config.set_default(&name, local)?;
            printer.line(&format!("`{name}` is the default remote (in `{}`)", file(local)));
        }
    }
    Ok(Outcome::Success)
}

/// Returns one line of `remote list`: name, URL, options.
fn list_line(remote: &RemoteConfig, default: bool) -> String {
    let mut line =
        format!("{}{}\t{}", remote.name, if default { " (default)" } else { "" }, remote.url);
    for (key, value) in describe(remote) {
        line.push_str(&format!("\t{key}={value}"));
    }
    line
}
