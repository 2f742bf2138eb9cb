//! `taskpool ui`: the dashboard (pages, `/api/`, `/metrics`) of the store,
//! served until SIGINT/SIGTERM. See `docs/dashboard.md`.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Args;
use taskpool_ui::{DEFAULT_LISTEN, TOKEN_ENV, UiOptions};

use crate::cli::GlobalArgs;
use crate::context::Context;
use crate::signals::StopSignals;

/// Arguments of `ui`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool --store sqlite://taskpool.db ui
  taskpool --store mongodb://db-host/taskpool ui --listen 0.0.0.0:8765 --token \"$SECRET\"
  taskpool ui --read-only
Pages: / (pools), /pools/POOL, /pools/POOL/tasks/ID, /lost, /experiments; JSON under /api/;
Prometheus metrics at /metrics. Actions (requeue, reset, prioritize, remove) are POST forms
that need the token when one is set; a non-loopback --listen address needs a token.")]
pub struct UiArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Token every action must present (required on a non-loopback address).
    #[arg(long, env = TOKEN_ENV, hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Show everything, change nothing: actions are hidden and refused.
    #[arg(long)]
    pub read_only: bool,
}

/// Serve the dashboard until a stop signal.
///
/// # Errors
/// A non-loopback address without a token (exit code 2), an unusable store,
/// an address that cannot be bound.
pub fn run(global: &GlobalArgs, args: &UiArgs) -> anyhow::Result<()> {
    let options = UiOptions {
        listen: args.listen,
        token: args.token.clone(),
        read_only: args.read_only,
        ..UiOptions::default()
    };
    options.validate()?;
    let ctx = Context::new(global)?;
    ctx.block_on(async {
        let mut signals = StopSignals::listen()?;
        let store = taskpool::open(&global.store).await?;
        ctx.close_at_exit(&store);
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("cannot listen on {}", options.listen))?;
        let addr = listener.local_addr()?;
        let router = taskpool_ui::router(store.clone(), &global.store, &options);
        tracing::info!(store = %store, %addr, read_only = options.read_only, "dashboard ready");
        ctx.out
            .line(format_args!("dashboard: http://{addr}/ (store {store})"))?;
        taskpool_ui::serve(listener, router, async move {
            let signal = signals.next().await;
            tracing::info!(signal, "stopping the dashboard");
        })
        .await?;
        Ok(())
    })
}
