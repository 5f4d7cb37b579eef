//! Termination signals: the first SIGTERM/SIGINT starts a graceful shutdown, a second one
//! exits at once.

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C).
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received: shutting down gracefully"),
                    _ = int.recv() => tracing::info!("SIGINT received: shutting down gracefully"),
                }
            }
            _ => {
                tracing::warn!("cannot install signal handlers; only Ctrl-C is handled");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// After the first signal: a second one ends the process immediately (exit code 130).
pub(crate) fn exit_on_second_signal() {
    tokio::spawn(async {
        signal().await;
        tracing::warn!("second termination signal: exiting without waiting for in-flight messages");
        std::process::exit(130);
    });
}
