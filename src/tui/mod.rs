//! The interactive console. Input, collector messages and signals meet in
//! one loop; the screen is redrawn only when one of them changed something.
//! All adapter work happens in `collector`; the draw path only reads state.

pub mod app;
pub mod collector;
mod follow_up;
pub mod history;
pub mod keys;
pub mod popups;
pub mod screens;
pub mod snapshot;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod widgets;

use crate::ops::{Host, OpError, OpResult};
use app::{App, Options};
use crossterm::event::{Event, EventStream, MouseEventKind};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::unbounded_channel;

pub struct ConsoleOptions {
    pub interval: Duration,
    pub readonly: bool,
    pub allow_system: bool,
}

/// Runs the console until the user quits or a signal arrives.
pub async fn run(host: Host, options: ConsoleOptions) -> OpResult<()> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(OpError::usage(
            "the console needs a terminal; use the subcommands instead (kuke-tui get realms, kuke-tui top, kuke-tui --help)",
        ));
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut app = App::new(
        Options {
            readonly: options.readonly,
            allow_system: options.allow_system,
            no_color,
            namespace_template: host.store.default_namespace("{name}"),
            name_rule: host.store.new_name_rule(),
        },
        options.interval,
    );
    let (to_ui, mut from_collector) = unbounded_channel();
    let requests = collector::spawn(Arc::new(host), options.interval, to_ui);

    let mut guard = terminal::TerminalGuard::enter()
        .map_err(|e| OpError::failed(format!("cannot set up the terminal: {e}")))?;
    let mut events = EventStream::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| OpError::failed(format!("cannot watch SIGTERM: {e}")))?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| OpError::failed(format!("cannot watch SIGHUP: {e}")))?;
    let mut dirty = true;
    loop {
        if dirty {
            guard
                .draw(&app)
                .map_err(|e| OpError::failed(format!("cannot draw: {e}")))?;
            dirty = false;
        }
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => {
                    // Pointer motion changes nothing on screen.
                    let moved = matches!(&event, Event::Mouse(m) if m.kind == MouseEventKind::Moved);
                    for request in app.on_event(event) {
                        let _ = requests.send(request);
                    }
                    dirty |= !moved;
                }
                Some(Err(e)) => return Err(OpError::failed(format!("cannot read the terminal: {e}"))),
                None => break,
            },
            Some(message) = from_collector.recv() => {
                for request in app.on_message(message) {
                    let _ = requests.send(request);
                }
                // Drain what else is queued so a burst costs one draw.
                while let Ok(message) = from_collector.try_recv() {
                    for request in app.on_message(message) {
                        let _ = requests.send(request);
                    }
                }
                dirty = true;
            }
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
        }
        if app.should_quit {
            break;
        }
    }
    drop(guard);
    Ok(())
}
