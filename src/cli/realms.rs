//! `get realms`, `get realm NAME`, `create realm`, `delete realm`.

use super::output::{dash, format_cpu_time, print_structured, write_stdout, Format, Table};
use crate::cgroup::Limit;
use crate::model::names::parse_label;
use crate::model::units::{format_age, format_bytes};
use crate::ops::create::CreateRequest;
use crate::ops::daemon::{route, Kukeond, Route};
use crate::ops::delete::{plan_delete, DeleteOptions, DeletePlan};
use crate::ops::realms::{describe_realm, list_realms, RealmList, RealmSummary, LIST_API_VERSION};
use crate::ops::via_daemon::{check_delete_routed, create_realm_routed, delete_realm_routed};
use crate::ops::{Host, OpError, OpResult};
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

pub async fn get_realms(host: &Host, format: Format) -> OpResult<()> {
    // kukeond is asked alongside (not after) containerd, and only for the
    // outputs that show it: a hung daemon never slows a plain table.
    let ask = format != Format::Table;
    let (listed, daemon) = tokio::join!(
        async {
            let rt = host.runtime().await?;
            list_realms(host, &rt).await
        },
        async {
            match ask {
                true => Some(crate::ops::daemon::probe(host).await.0),
                false => None,
            }
        }
    );
    let items = listed?;
    match format {
        Format::Json | Format::Yaml => print_structured(
            &RealmList {
                api_version: LIST_API_VERSION,
                kind: "RealmList",
                items,
                daemon,
            },
            format,
        ),
        Format::Table | Format::Wide => {
            // On stderr, like the warnings: stdout stays the table scripts parse.
            if let Some(daemon) = &daemon {
                eprint!("{}", daemon_line(daemon));
            }
            if items.is_empty() {
                return write_stdout("No realms found.\n");
            }
            let wide = format == Format::Wide;
            let mut headers = vec![
                "NAME",
                "STATE",
                "NAMESPACE",
                "CPU",
                "MEMORY",
                "PIDS",
                "TASKS",
                "IMAGES",
                "AGE",
            ];
            if wide {
                headers.extend(["CGROUP", "CREDENTIALS", "SPACES"]);
            }
            let mut table = Table::new(headers);
            for r in &items {
                table.row(realm_row(r, wide));
            }
            table.print()?;
            for r in items.iter().filter(|r| !r.valid) {
                // The error quotes the record's path and content: show it inert.
                eprintln!(
                    "warning: realm {:?} is invalid: {}",
                    r.name,
                    super::output::inert(&dash(r.error.as_deref()))
                );
            }
            Ok(())
        }
    }
}

/// `-o wide`'s daemon line: kukeond's state and where changes go.
fn daemon_line(d: &crate::ops::daemon::DaemonStatus) -> String {
    use crate::ops::daemon::Mutations;
    let goes = match d.mutations {
        Mutations::Daemon => "changes go through it",
        Mutations::Direct => "changes are made directly",
        Mutations::Refused => "changes are refused until it answers",
    };
    let detail = d
        .detail
        .as_deref()
        .map(|t| format!(": {t}"))
        .unwrap_or_default();
    format!(
        "daemon: {} at {}{detail} ({goes})\n",
        d.label(),
        super::output::inert(d.socket.as_deref().unwrap_or(&d.host))
    )
}

fn realm_row(r: &RealmSummary, wide: bool) -> Vec<String> {
    let u = &r.usage;
    let mut row = vec![
        r.name.clone(),
        r.state.clone(),
        r.namespace.clone(),
        dash(u.cpu_usage_usec.map(format_cpu_time)),
        memory_cell(u.working_set(), u.memory_limit),
        pids_cell(u.pids_current, u.pids_max),
        format!("{}/{}", r.counts.running_tasks, r.counts.tasks),
        r.counts.images.to_string(),
        dash(r.age_seconds.map(|s| format_age(Duration::from_secs(s)))),
    ];
    if wide {
        row.push(r.cgroup_path.clone());
        row.push(r.counts.registry_credentials.to_string());
        row.push(r.counts.spaces.to_string());
    }
    row
}

/// `64Mi` when unlimited, `64Mi/512Mi` when limited, `-` when unknown.
pub fn memory_cell(used: Option<u64>, limit: Option<Limit>) -> String {
    match (used, limit) {
        (None, _) => "-".into(),
        (Some(u), Some(Limit::Value(l))) => format!("{}/{}", format_bytes(u), format_bytes(l)),
        (Some(u), _) => format_bytes(u),
    }
}

pub fn pids_cell(current: Option<u64>, max: Option<Limit>) -> String {
    match (current, max) {
        (None, _) => "-".into(),
        (Some(c), Some(Limit::Value(m))) => format!("{c}/{m}"),
        (Some(c), _) => c.to_string(),
    }
}

pub async fn get_realm(
    host: &Host,
    name: &str,
    format: Format,
    show_secrets: bool,
) -> OpResult<()> {
    if matches!(format, Format::Table | Format::Wide) {
        return Err(OpError::usage(
            "`get realm NAME` prints a document: use -o yaml or -o json",
        ));
    }
    let rt = host.runtime().await?;
    let detail = describe_realm(host, &rt, name, show_secrets).await?;
    print_structured(&detail, format)
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(allow_hyphen_values = true)]
    pub name: String,
    /// containerd namespace (default kukeon-NAME)
    #[arg(long)]
    pub namespace: Option<String>,
    /// Label as key=value; repeatable
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// With --direct: create directly even though kukeond answers
    #[arg(long)]
    pub force: bool,
}

pub async fn create(host: &Host, args: &CreateArgs) -> OpResult<()> {
    let mut labels = std::collections::BTreeMap::new();
    for text in &args.labels {
        let (k, v) = parse_label(text).map_err(OpError::usage)?;
        labels.insert(k, v);
    }
    let req = CreateRequest {
        name: args.name.clone(),
        namespace: args.namespace.clone(),
        labels,
    };
    // Validate before connecting, so bad input never waits on containerd.
    crate::ops::create::check_request(host, &req)?;
    let route = route(host, args.force).await?;
    let rt = match &route {
        Route::Direct => Some(host.runtime().await?),
        Route::Daemon(d) => {
            println!("{}", through(d));
            None
        }
    };
    let report = create_realm_routed(host, &route, rt.as_ref(), &req, &mut |step| {
        println!(
            "{:<10} {:<16} {}",
            step.step,
            step.outcome.as_str(),
            super::output::inert(&step.detail)
        );
    })
    .await?;
    // Concurrent or repeated creates: exactly one says created; the others
    // say the realm already exists (exit 0, create is idempotent).
    let existed = report
        .steps
        .first()
        .is_some_and(|s| s.outcome == crate::ops::create::Outcome::Existed);
    println!(
        "realm {:?} {}is Ready (namespace {}, cgroup {})",
        report.realm,
        if existed { "already exists and " } else { "" },
        report.namespace,
        report.cgroup_path
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[arg(allow_hyphen_values = true)]
    pub name: String,
    /// Also stop and remove the realm's tasks, containers, snapshots, images and spaces
    #[arg(long)]
    pub cascade: bool,
    /// Print everything that would be removed and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
    /// Allow deleting the system realm; sent to kukeond as Force; with --direct, act
    /// directly even though kukeond answers; in direct mode, delete a realm whose space
    /// networks cannot be fully torn down here (missing CNI plugins, iptables or ip)
    #[arg(long)]
    pub force: bool,
    /// Time a task has to exit after SIGTERM before SIGKILL
    #[arg(long, default_value = "10s", value_parser = super::parse_duration)]
    pub grace: Duration,
    /// Format of the --dry-run plan: table, json or yaml
    #[arg(short, long, value_enum, default_value = "table")]
    pub output: Format,
}

pub async fn delete(host: &Host, args: &DeleteArgs) -> OpResult<()> {
    crate::model::names::validate_existing_realm_name(&args.name).map_err(OpError::usage)?;
    let opts = DeleteOptions {
        cascade: args.cascade,
        force: args.force,
        grace: args.grace,
    };
    if crate::ops::SYSTEM_REALMS.contains(&args.name.as_str()) && !args.force && !args.dry_run {
        // Refuse before touching containerd at all.
        return Err(OpError::usage(format!(
            "realm {:?} is the system realm that runs the Kukeon daemon; refusing to delete it without --force",
            args.name
        )));
    }
    let rt = host.runtime().await?;
    let plan = plan_delete(host, &rt, &args.name).await?;
    // Where the delete goes is decided (and refused) before the plan is
    // shown; a dry run only shows it.
    let route = match args.dry_run {
        true => Route::Direct,
        false => route(host, args.force).await?,
    };
    if args.dry_run {
        return match args.output {
            Format::Json | Format::Yaml => print_structured(&plan, args.output),
            _ => write_stdout(&render_plan(&plan)),
        };
    }
    if plan.is_gone() {
        println!("realm {:?} does not exist; nothing to delete", args.name);
        return Ok(());
    }
    check_delete_routed(&route, &plan, &opts)?;
    if !args.yes {
        confirm(&plan)?;
    }
    if let Route::Daemon(d) = &route {
        println!("{}", through(d));
    }
    delete_realm_routed(host, &route, &rt, &plan, &opts, &mut |step| {
        println!(
            "{:<11} removed {:<5} {}",
            step.step,
            step.removed,
            super::output::inert(&step.detail)
        );
    })
    .await?;
    println!("realm {:?} deleted", args.name);
    Ok(())
}

/// The first line of a change made through kukeond.
pub fn through(d: &Kukeond) -> String {
    format!(
        "through kukeond {} at {}",
        super::output::inert(&d.version),
        super::output::inert(&d.socket.display().to_string())
    )
}

/// Asks for the realm name on a terminal; refuses without one.
fn confirm(plan: &DeletePlan) -> OpResult<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(OpError::usage(format!(
            "refusing to delete realm {:?} without confirmation: no terminal to ask on; pass --yes",
            plan.realm
        )));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "{}Type the realm name ({}) to delete it: ",
        render_plan(plan),
        super::output::inert(&plan.realm)
    );
    let _ = err.flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| OpError::failed(format!("cannot read the confirmation: {e}")))?;
    if answer.trim_end_matches(['\n', '\r']) != plan.realm {
        return Err(OpError::failed(
            "the name typed does not match; nothing was deleted",
        ));
    }
    Ok(())
}

/// The plan as an operator reads it: every object, grouped by kind, in the
/// order the cascade removes them.
pub fn render_plan(plan: &DeletePlan) -> String {
    use super::output::inert;
    let mut out = format!(
        "Plan to delete realm {} (namespace {}, cgroup {}):\n",
        inert(&format!("{:?}", plan.realm)),
        inert(&plan.namespace),
        inert(&plan.cgroup_path)
    );
    let mut section = |title: &str, items: Vec<String>| {
        out.push_str(&format!("  {title} ({}):\n", items.len()));
        for item in items {
            out.push_str(&format!("    {}\n", inert(&item)));
        }
    };
    section("spaces", plan.spaces.clone());
    for n in &plan.networks {
        section(
            &format!("space network {} (space {})", n.network, n.space),
            n.objects(),
        );
        if !n.would_remain.is_empty() {
            section("  would remain (needs --force)", n.would_remain.clone());
        }
    }
    section(
        "tasks",
        plan.tasks
            .iter()
            .map(|t| format!("{}  pid {}  {}", t.id, t.pid, t.status))
            .collect(),
    );
    section("containers", plan.containers.clone());
    section(
        "snapshots",
        plan.snapshots
            .iter()
            .map(|s| format!("{}/{}", s.snapshotter, s.key))
            .collect(),
    );
    section("images", plan.images.clone());
    section("leases", plan.leases.clone());
    section("content blobs", plan.content.clone());
    if let Some(companion) = &plan.companion {
        section(
            &format!("companion namespace {}", companion.namespace),
            companion.objects.clone(),
        );
    }
    let ns = if plan.namespace_exists {
        vec![plan.namespace.clone()]
    } else {
        vec![]
    };
    section("namespace", ns);
    section(
        "cgroup directories",
        plan.cgroup_dirs
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    );
    section(
        "files",
        plan.files.iter().map(|p| p.display().to_string()).collect(),
    );
    if plan.system_realm {
        out.push_str("  note: this is the system realm; deleting it needs --force\n");
    }
    out
}
