//! Re-keying after a secret-key rotation. A token found through one of the previous keys
//! has its stored digest rewritten under the current key by this background task (the
//! request path never writes), so that once every token in use has been seen the previous
//! keys can be retired. The UPDATE is conditional on the old digest, so repeated or
//! concurrent re-keys (several processes) are harmless.

use std::sync::Arc;

use entity::personal_access_token as pat;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

/// Re-keys waiting to be written; beyond this they are dropped (the next miss asks again).
const QUEUE_CAPACITY: usize = 1024;

enum Command {
    Rekey {
        token_id: i64,
        old_digest: Vec<u8>,
        new_digest: [u8; 32],
    },
    Flush(oneshot::Sender<()>),
}

/// Handle to the background re-keyer; cheap to clone.
#[derive(Clone)]
pub struct Rekeyer {
    commands: mpsc::Sender<Command>,
}

impl Rekeyer {
    /// Spawns the task on the current Tokio runtime.
    pub fn start(db: DatabaseConnection, metrics: Arc<Metrics>) -> Self {
        let (commands, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(receiver, db, metrics));
        Rekeyer { commands }
    }

    /// Asks for `token_id`'s digest to become `new_digest`; never waits.
    pub fn request(&self, token_id: i64, old_digest: Vec<u8>, new_digest: [u8; 32]) {
        let _ = self.commands.try_send(Command::Rekey {
            token_id,
            old_digest,
            new_digest,
        });
    }

    /// Writes everything asked so far, and returns when it is written (shutdown, tests).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.commands.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn run(mut receiver: mpsc::Receiver<Command>, db: DatabaseConnection, metrics: Arc<Metrics>) {
    while let Some(command) = receiver.recv().await {
        match command {
            Command::Rekey {
                token_id,
                old_digest,
                new_digest,
            } => {
                let result = pat::Entity::update_many()
                    .col_expr(pat::Column::Digest, Expr::value(new_digest.to_vec()))
                    .filter(pat::Column::Id.eq(token_id))
                    .filter(pat::Column::Digest.eq(old_digest))
                    .exec(&db)
                    .await;
                match result {
                    Ok(done) if done.rows_affected == 1 => {
                        metrics.record_rekey();
                        tracing::info!(token_id, "token digest moved to the current secret key");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(token_id, error = %error, "re-keying failed"),
                }
            }
            Command::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}
