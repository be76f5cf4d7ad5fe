//! Starting the service: prepare the data dir, load the key, open and migrate the database,
//! then serve until SIGTERM or Ctrl-C, flushing the last-used recorder on the way out.

use std::{future::Future, sync::Arc};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    clock::Clock,
    config::Config,
    db, jobs,
    mail::{
        outbox::{self, Mailer},
        transport::{Transport, sender},
    },
    metrics::Metrics,
    state::AppState,
};

/// Opens everything the service needs, migrating the database.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    config.prepare_data_dir()?;
    let secret_key = config.load_secret_key()?;
    let previous_keys = config.load_previous_keys()?;
    let metrics = Arc::new(Metrics::default());
    let connection = db::connect(&config.database_url, metrics.clone()).await?;
    db::migrate(&connection).await?;
    let mailer = Mailer::new(Transport::from_config(&config)?, sender(&config)?);
    Ok(AppState::new(
        connection,
        config,
        clock,
        secret_key,
        previous_keys,
        metrics,
        mailer,
    ))
}

/// Serves HTTP on `listener` until `shutdown` completes (running the scheduler and the mail
/// worker unless `WVS_JOBS=off`), then lets in-flight requests finish and writes the pending
/// last-used times. Queued email stays in the outbox for the next start.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if state.config.jobs_enabled {
        jobs::scheduler::start(state.clone());
        outbox::start_worker(state.clone());
    }
    let service = crate::http::service(state.clone());
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            std::net::SocketAddr,
        >(service),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving HTTP failed")?;
    state.last_used.flush().await;
    state.refusals.flush().await;
    state.rekeyer.flush().await;
    Ok(())
}

/// Binds the configured address.
pub async fn bind(config: &Config) -> anyhow::Result<TcpListener> {
    TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("WVS_LISTEN: cannot listen on {}", config.listen))
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
