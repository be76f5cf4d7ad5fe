//! DataLoaders: batch the owner lookups of a token list into one query (no N+1).

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::user;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// The per-request user loader; its cache lives as long as the request.
pub type UserDataLoader = DataLoader<UserLoader, HashMapCache>;

/// Loads users by id, many at a time.
pub struct UserLoader {
    pub db: DatabaseConnection,
}

impl Loader<i64> for UserLoader {
    type Value = user::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, user::Model>, Self::Error> {
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(keys.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(users.into_iter().map(|user| (user.id, user)).collect())
    }
}
