use clap::Parser;
use kuke_tui::cli::{self, Cli};

fn main() {
    install_hooks();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => exit_on_clap_error(err),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(cli::run(cli)) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {}", cli::output::inert(&err.message));
            err.exit_code()
        }
    };
    // Do not wait for background connection tasks to wind down.
    runtime.shutdown_background();
    std::process::exit(code);
}

/// Help and version print as clap renders them; every other parse error is
/// one line (clap's first) plus where to look, and exit code 2.
fn exit_on_clap_error(err: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    let rendered = err.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut line = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .to_string();
    // "the following required arguments were not provided:" names them on the next line.
    if line.ends_with(':') {
        if let Some(next) = lines.next() {
            line = format!("{line} {next}");
        }
    }
    // clap echoes the offending argument raw: show it inert like every other
    // error, and cut a very long word so the line stays readable.
    let line: Vec<String> = line
        .split(' ')
        .map(|word| {
            let n = word.chars().count();
            if n > 80 {
                let head: String = word.chars().take(64).collect();
                format!("{head}… ({n} characters)")
            } else {
                word.to_string()
            }
        })
        .collect();
    eprintln!("{}; see --help", cli::output::inert(&line.join(" ")));
    std::process::exit(2);
}

/// color-eyre for reports; a panic prints one line (the full report only
/// with KUKE_TUI_BACKTRACE=1) and exits 1.
fn install_hooks() {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().into_hooks();
    let _ = eyre_hook.install();
    std::panic::set_hook(Box::new(move |info| {
        if std::env::var_os("KUKE_TUI_BACKTRACE").is_some() {
            eprintln!("{}", panic_hook.panic_report(info));
        } else {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            eprintln!("error: internal error: {msg} (set KUKE_TUI_BACKTRACE=1 for details, and please report it)");
        }
        std::process::exit(1);
    }));
}
