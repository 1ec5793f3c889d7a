//! `create|get|delete registry-credential(s)`.

use super::output::{print_structured, write_stdout, Format, Table};
use crate::ops::credentials::{list_credentials, CredentialChange};
use crate::ops::daemon::{route, Route};
use crate::ops::via_daemon::{delete_credential_routed, upsert_credential_routed};
use crate::ops::{Host, OpError, OpResult};
use clap::Args;
use std::io::Read;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(
    group = clap::ArgGroup::new("secret").args(["password_stdin", "from_file"]),
    after_help = "The password is read from standard input (--password-stdin) or a file \
(--from-file), never from the command line, where every user sees it in ps."
)]
pub struct CreateArgs {
    pub realm: String,
    /// Registry server, e.g. registry.example.com:5000
    #[arg(long)]
    pub server: String,
    #[arg(long)]
    pub username: String,
    /// Read the password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the password from a file
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Refused with the reason (not clap's "unexpected argument"): a password
    /// on the command line is visible to every user in `ps` and shell history.
    #[arg(long, hide = true, num_args = 0..=1, allow_hyphen_values = true)]
    pub password: Option<Option<String>>,
    /// With --direct: change the record directly even though kukeond answers
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    pub realm: String,
    #[arg(long)]
    pub server: String,
    /// Only the entry with this username (default: every entry for the server)
    #[arg(long)]
    pub username: Option<String>,
    /// With --direct: change the record directly even though kukeond answers
    #[arg(long)]
    pub force: bool,
}

pub async fn create(host: &Host, args: &CreateArgs) -> OpResult<()> {
    if args.password.is_some() {
        return Err(OpError::usage(
            "--password is not accepted: a password on the command line is visible to every user in ps; pipe it with --password-stdin or give --from-file FILE",
        ));
    }
    // Checked here rather than by a required clap group, so that the group's
    // usage line does not have to name the hidden --password.
    if !args.password_stdin && args.from_file.is_none() {
        return Err(OpError::usage(
            "no password given: pipe it with --password-stdin or give --from-file FILE",
        ));
    }
    let raw = match &args.from_file {
        Some(path) => std::fs::read(path)
            .map_err(|e| OpError::io("cannot read the password file", path, &e))?,
        None => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| {
                OpError::failed(format!("cannot read the password from standard input: {e}"))
            })?;
            buf
        }
    };
    let password = String::from_utf8(raw)
        .map_err(|_| OpError::usage("the password is not valid UTF-8; give it as text"))?;
    // One trailing newline is what `echo` and editors add; it is not part of the password.
    let password = password
        .strip_suffix('\n')
        .map(|p| p.strip_suffix('\r').unwrap_or(p))
        .unwrap_or(&password);
    let route = route(host, args.force).await?;
    if let Route::Daemon(d) = &route {
        println!("{}", super::realms::through(d));
    }
    let change = upsert_credential_routed(
        host,
        &route,
        &args.realm,
        &args.server,
        &args.username,
        password,
    )
    .await?;
    let verb = match change {
        CredentialChange::Added => "added",
        CredentialChange::Updated => "updated",
        // Kukeon's layout keys by server alone: say what went.
        CredentialChange::Replaced => "replaced the server's entry (another username)",
    };
    println!(
        "registry credential for {} ({}) {verb} in realm {:?}",
        super::output::inert(&args.server),
        super::output::inert(&args.username),
        args.realm
    );
    Ok(())
}

pub fn get(host: &Host, realm: &str, format: Format, show_secrets: bool) -> OpResult<()> {
    let creds = list_credentials(host, realm, show_secrets)?;
    match format {
        Format::Json | Format::Yaml => print_structured(&creds, format),
        _ => {
            if creds.is_empty() {
                return write_stdout(&format!("No registry credentials in realm {realm:?}.\n"));
            }
            let mut table = Table::new(vec!["SERVER", "USERNAME", "PASSWORD"]);
            for c in creds {
                table.row(vec![c.server, c.username, c.password]);
            }
            table.print()
        }
    }
}

pub async fn delete(host: &Host, args: &DeleteArgs) -> OpResult<()> {
    let route = route(host, args.force).await?;
    if let Route::Daemon(d) = &route {
        println!("{}", super::realms::through(d));
    }
    let removed = delete_credential_routed(
        host,
        &route,
        &args.realm,
        &args.server,
        args.username.as_deref(),
    )
    .await?;
    println!(
        "removed {removed} registry credential(s) for {} from realm {:?}",
        super::output::inert(&args.server),
        args.realm
    );
    Ok(())
}
