use clap::Parser;
use kuke_tui::cli::{self, Cli};

fn main() {
    install_hooks();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
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
