//! The headless face: `kuke`'s grammar (`get`, `create`, `delete`) plus
//! `top` and `completions`. Every command calls `ops` and only formats.

pub mod credentials;
pub mod network;
pub mod output;
pub mod realms;
pub mod top;
pub mod workloads;

use crate::ops::{Host, OpResult};
use crate::settings::HostSettings;
use clap::{Args, CommandFactory, Parser, Subcommand};
use output::Format;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "kuke-tui",
    version,
    about = "Administration console for Kukeon hosts: realms, usage, images, tasks, credentials",
    long_about = "Administration console for Kukeon hosts. Without a subcommand it opens the \
interactive console (needs a terminal); the subcommands print the same data for scripts."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Console: time between samples (+ and - change it live)
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Console: offer and accept no change to the host
    #[arg(long)]
    pub readonly: bool,
    /// Console: allow deleting the system realm
    #[arg(long)]
    pub allow_system: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Kukeon run path holding the realm records
    #[arg(
        long,
        global = true,
        env = "KUKEON_RUN_PATH",
        default_value = "/opt/kukeon"
    )]
    pub run_path: PathBuf,
    /// containerd socket
    #[arg(
        long,
        global = true,
        env = "KUKEON_CONTAINERD_SOCKET",
        default_value = "/run/containerd/containerd.sock"
    )]
    pub containerd_socket: PathBuf,
    /// Group path of the realm cgroups under each cgroup mount [default: the
    /// Kukeon instance file's cgroupRoot, else /kukeon]
    #[arg(long, global = true, env = "KUKEON_CGROUP_ROOT")]
    pub cgroup_root: Option<String>,
    /// On-disk layout of the run path [default: detected]
    #[arg(long, global = true, env = "KUKEON_LAYOUT", value_enum)]
    pub layout: Option<crate::store::realms::Layout>,
    /// Bound on each containerd and kukeond call (e.g. 5s, 500ms)
    #[arg(long, global = true, env = "KUKEON_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// kukeond endpoint; changes go through it on Kukeon's layout while it answers
    #[arg(long, global = true, env = "KUKEON_HOST", default_value = crate::daemon::DEFAULT_HOST)]
    pub host: String,
    /// Change the host directly, not through kukeond (refused while it answers, unless --force)
    #[arg(
        long,
        global = true,
        visible_alias = "no-daemon",
        env = "KUKEON_NO_DAEMON"
    )]
    pub direct: bool,
    #[command(flatten)]
    pub cni: network::CniArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show realms, registry credentials, images, containers or tasks
    #[command(subcommand)]
    Get(GetCommand),
    /// Create a realm or a registry credential
    #[command(subcommand)]
    Create(CreateCommand),
    /// Delete a realm (with --cascade for its contents) or a registry credential
    #[command(subcommand)]
    Delete(DeleteCommand),
    /// Live CPU, memory, pids and IO of each realm's cgroup
    Top(top::TopArgs),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// List realms, or describe one when NAME is given
    #[command(visible_alias = "realm")]
    Realms {
        name: Option<String>,
        /// table, wide, json or yaml (yaml or json when NAME is given)
        #[arg(short, long, value_enum)]
        output: Option<Format>,
        /// Show registry passwords instead of the mask
        #[arg(long)]
        show_secrets: bool,
    },
    /// List the registry credentials of a realm (passwords masked)
    #[command(visible_alias = "registry-credential")]
    RegistryCredentials {
        realm: String,
        #[arg(short, long, value_enum, default_value = "table")]
        output: Format,
        #[arg(long)]
        show_secrets: bool,
    },
    /// Images in a realm's namespace
    #[command(visible_alias = "image")]
    Images(workloads::WorkloadArgs),
    /// Containers in a realm's namespace, with their tasks
    #[command(visible_alias = "container")]
    Containers(workloads::WorkloadArgs),
    /// Tasks in a realm's namespace, with cgroup usage
    #[command(visible_alias = "task")]
    Tasks(workloads::WorkloadArgs),
}

#[derive(Debug, Subcommand)]
pub enum CreateCommand {
    /// Create a realm: record, containerd namespace, cgroup subtree (repairs an existing one)
    Realm(realms::CreateArgs),
    /// Add or update a registry credential of a realm
    RegistryCredential(credentials::CreateArgs),
}

#[derive(Debug, Subcommand)]
pub enum DeleteCommand {
    /// Delete a realm; --cascade also removes its tasks, containers, images and spaces
    Realm(realms::DeleteArgs),
    /// Remove a registry credential from a realm
    RegistryCredential(credentials::DeleteArgs),
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{e}; write a duration such as 5s or 500ms"))?;
    if d.is_zero() {
        return Err("must be greater than zero; write a duration such as 5s or 500ms".into());
    }
    Ok(d)
}

impl GlobalArgs {
    /// The host's adapters with these settings, kukeond's address included.
    pub fn host(&self) -> OpResult<Host> {
        let mut host = Host::new(self.settings())?;
        host.daemon = crate::ops::daemon::DaemonSettings {
            host: self.host.clone(),
            direct: self.direct,
        };
        Ok(host)
    }

    pub fn settings(&self) -> HostSettings {
        HostSettings {
            run_path: self.run_path.clone(),
            containerd_socket: self.containerd_socket.clone(),
            cgroup_root: self.cgroup_root.clone(),
            layout: self.layout,
            timeout: self.timeout,
            network: self.cni.settings(),
        }
    }
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> OpResult<()> {
    let Some(command) = cli.command else {
        let host = cli.global.host()?;
        let options = crate::tui::ConsoleOptions {
            interval: cli.interval,
            readonly: cli.readonly,
            allow_system: cli.allow_system,
        };
        return crate::tui::run(host, options).await;
    };
    if let Command::Completions { shell } = command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "kuke-tui",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let host = cli.global.host()?;
    match command {
        Command::Get(GetCommand::Realms {
            name: None, output, ..
        }) => realms::get_realms(&host, output.unwrap_or(Format::Table)).await,
        Command::Get(GetCommand::Realms {
            name: Some(name),
            output,
            show_secrets,
        }) => realms::get_realm(&host, &name, output.unwrap_or(Format::Yaml), show_secrets).await,
        Command::Get(GetCommand::RegistryCredentials {
            realm,
            output,
            show_secrets,
        }) => credentials::get(&host, &realm, output, show_secrets),
        Command::Get(GetCommand::Images(args)) => workloads::get_images(&host, &args).await,
        Command::Get(GetCommand::Containers(args)) => {
            workloads::get_containers(&host, &args, false).await
        }
        Command::Get(GetCommand::Tasks(args)) => {
            workloads::get_containers(&host, &args, true).await
        }
        Command::Create(CreateCommand::Realm(args)) => realms::create(&host, &args).await,
        Command::Create(CreateCommand::RegistryCredential(args)) => {
            credentials::create(&host, &args).await
        }
        Command::Delete(DeleteCommand::Realm(args)) => realms::delete(&host, &args).await,
        Command::Delete(DeleteCommand::RegistryCredential(args)) => {
            credentials::delete(&host, &args).await
        }
        Command::Top(args) => top::run(&host, &args).await,
        Command::Completions { .. } => unreachable!("handled above"),
    }
}
