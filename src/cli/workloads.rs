//! `get images|containers|tasks --realm R`.

use super::output::{dash, format_cpu_time, print_structured, write_stdout, Format, Table};
use super::realms::memory_cell;
use crate::model::units::format_size_ctr;
use crate::ops::workloads::{list_containers, list_images};
use crate::ops::{Host, OpResult};
use clap::Args;

#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// The realm whose namespace to read
    #[arg(long)]
    pub realm: String,
    #[arg(short, long, value_enum, default_value = "table")]
    pub output: Format,
}

pub async fn get_images(host: &Host, args: &WorkloadArgs) -> OpResult<()> {
    host.require_realm(&args.realm)?;
    let rt = host.runtime().await?;
    let images = list_images(host, &rt, &args.realm).await?;
    match args.output {
        Format::Json | Format::Yaml => print_structured(&images, args.output),
        format => {
            if images.is_empty() {
                return write_stdout(&format!("No images in realm {:?}.\n", args.realm));
            }
            let mut table = Table::new(vec!["REFERENCE", "DIGEST", "SIZE", "CREATED"]);
            for i in images {
                let digest = if format == Format::Wide {
                    i.digest
                } else {
                    short_digest(&i.digest)
                };
                table.row(vec![
                    i.reference,
                    digest,
                    dash(i.size_bytes.map(format_size_ctr)),
                    dash(i.created_at),
                ]);
            }
            table.print()
        }
    }
}

pub async fn get_containers(host: &Host, args: &WorkloadArgs, tasks_only: bool) -> OpResult<()> {
    host.require_realm(&args.realm)?;
    let rt = host.runtime().await?;
    let items = list_containers(host, &rt, &args.realm, tasks_only).await?;
    match args.output {
        Format::Json | Format::Yaml => print_structured(&items, args.output),
        format => {
            if items.is_empty() {
                let what = if tasks_only { "tasks" } else { "containers" };
                return write_stdout(&format!("No {what} in realm {:?}.\n", args.realm));
            }
            let mut headers = vec![
                "ID", "IMAGE", "STATUS", "PID", "EXIT", "SPACE", "STACK", "CELL", "CPU", "MEMORY",
            ];
            if format == Format::Wide {
                headers.push("CGROUP");
            }
            let mut table = Table::new(headers);
            for c in items {
                let mut row = vec![
                    c.id,
                    c.image,
                    c.status,
                    dash(c.pid),
                    dash(c.exit_code),
                    dash(c.space),
                    dash(c.stack),
                    dash(c.cell),
                    dash(c.usage.cpu_usage_usec.map(format_cpu_time)),
                    memory_cell(c.usage.working_set(), c.usage.memory_limit),
                ];
                if format == Format::Wide {
                    row.push(dash(c.cgroup_path));
                }
                table.row(row);
            }
            table.print()
        }
    }
}

fn short_digest(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", &hex[..hex.len().min(12)])
}
