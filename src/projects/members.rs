//! Project membership: owners (and admins) add and remove members; a project always keeps
//! at least one owner.

use chrono::{DateTime, Utc};
use entity::{project, project_member, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::{
    auth::principal::Principal,
    error::{Error, Result},
    projects::{Role, permissions},
    state::AppState,
};

pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    project_id: i64,
    user_id: i64,
    role: Role,
    now: DateTime<Utc>,
) -> Result<()> {
    project_member::ActiveModel {
        project_id: Set(project_id),
        user_id: Set(user_id),
        role: Set(role.as_stored().to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn require_manage(
    state: &AppState,
    actor: &Principal,
    project: &project::Model,
) -> Result<()> {
    let can = permissions(&state.db, project, Some(&actor.user)).await?;
    if !can.read {
        return Err(Error::NotFound("Project"));
    }
    if !can.manage {
        return Err(Error::Forbidden(
            "Only the project's owners can manage its members.".into(),
        ));
    }
    Ok(())
}

/// Adds `user` to `project` with `role`, or changes their role.
pub async fn add(
    state: &AppState,
    actor: &Principal,
    project: &project::Model,
    user: &user::Model,
    role: Role,
) -> Result<()> {
    require_manage(state, actor, project).await?;
    let existing = project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(project.id))
        .filter(project_member::Column::UserId.eq(user.id))
        .one(&state.db)
        .await?;
    match existing {
        Some(member) => {
            if member.role == Role::Owner.as_stored() && role != Role::Owner {
                ensure_another_owner(state, project.id, user.id).await?;
            }
            let mut active: project_member::ActiveModel = member.into();
            active.role = Set(role.as_stored().to_owned());
            active.update(&state.db).await?;
        }
        None => insert(&state.db, project.id, user.id, role, state.clock.now()).await?,
    }
    Ok(())
}

/// Removes `user` from `project`.
pub async fn remove(
    state: &AppState,
    actor: &Principal,
    project: &project::Model,
    user: &user::Model,
) -> Result<()> {
    require_manage(state, actor, project).await?;
    ensure_another_owner(state, project.id, user.id).await?;
    project_member::Entity::delete_many()
        .filter(project_member::Column::ProjectId.eq(project.id))
        .filter(project_member::Column::UserId.eq(user.id))
        .exec(&state.db)
        .await?;
    Ok(())
}

async fn ensure_another_owner(state: &AppState, project_id: i64, leaving: i64) -> Result<()> {
    let owners = project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(project_id))
        .filter(project_member::Column::Role.eq(Role::Owner.as_stored()))
        .filter(project_member::Column::UserId.ne(leaving))
        .one(&state.db)
        .await?;
    if owners.is_none() {
        return Err(Error::bad_input(
            "userId",
            "a project must keep at least one owner",
        ));
    }
    Ok(())
}

/// The members of a project with their roles.
pub async fn list(state: &AppState, project_id: i64) -> Result<Vec<(user::Model, Role)>> {
    let rows = project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(project_id))
        .all(&state.db)
        .await?;
    let mut members = Vec::with_capacity(rows.len());
    for row in rows {
        if let (Some(user), Some(role)) = (
            user::Entity::find_by_id(row.user_id).one(&state.db).await?,
            Role::from_stored(&row.role),
        ) {
            members.push((user, role));
        }
    }
    Ok(members)
}
