//! Projects: a Git repository at `namespace/path` with a visibility, and members with roles.
//! What a user may do with a repository is decided here, for Git and the API alike.

pub mod members;

use std::path::PathBuf;

use entity::{project, project_member, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};

use crate::{
    auth::principal::Principal,
    error::{Error, Result},
    pagination::{Page, PageRequest},
    state::AppState,
    users::create::Username,
};

/// Who may see a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Members (and admins) only.
    Private,
    /// Any signed-in user.
    Internal,
    /// Anyone, even anonymous.
    Public,
}

impl Visibility {
    pub fn as_stored(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }

    /// Unknown values count as private (fail closed).
    pub fn of(project: &project::Model) -> Visibility {
        match project.visibility.as_str() {
            "public" => Visibility::Public,
            "internal" => Visibility::Internal,
            _ => Visibility::Private,
        }
    }
}

/// A member's role, in increasing power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Can pull.
    Reporter,
    /// Can pull and push.
    Developer,
    Maintainer,
    /// Can also manage members.
    Owner,
}

impl Role {
    pub fn as_stored(self) -> &'static str {
        match self {
            Role::Reporter => "reporter",
            Role::Developer => "developer",
            Role::Maintainer => "maintainer",
            Role::Owner => "owner",
        }
    }

    pub fn from_stored(stored: &str) -> Option<Role> {
        [
            Role::Reporter,
            Role::Developer,
            Role::Maintainer,
            Role::Owner,
        ]
        .into_iter()
        .find(|role| role.as_stored() == stored)
    }
}

/// What a user may do with one project's repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    pub read: bool,
    pub write: bool,
    pub manage: bool,
}

/// Works out what `user` (or an anonymous visitor) may do with `project`.
pub async fn permissions(
    db: &impl ConnectionTrait,
    project: &project::Model,
    user: Option<&user::Model>,
) -> Result<Permissions> {
    let visibility = Visibility::of(project);
    let Some(user) = user else {
        return Ok(Permissions {
            read: visibility == Visibility::Public,
            write: false,
            manage: false,
        });
    };
    let role = if user.admin {
        Some(Role::Owner)
    } else {
        role_of(db, project.id, user.id).await?
    };
    Ok(Permissions {
        read: role.is_some() || visibility != Visibility::Private,
        write: role.is_some_and(|role| role >= Role::Developer),
        manage: role == Some(Role::Owner),
    })
}

/// A user's role in a project, if they are a member.
pub async fn role_of(
    db: &impl ConnectionTrait,
    project_id: i64,
    user_id: i64,
) -> Result<Option<Role>> {
    let member = project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(project_id))
        .filter(project_member::Column::UserId.eq(user_id))
        .one(db)
        .await?;
    Ok(member.and_then(|member| Role::from_stored(&member.role)))
}

/// Finds a project by `namespace/path` (case-insensitive).
pub async fn find_by_full_path(
    db: &impl ConnectionTrait,
    full_path: &str,
) -> Result<Option<project::Model>> {
    Ok(project::Entity::find()
        .filter(project::Column::FullPathKey.eq(full_path.trim().trim_matches('/').to_lowercase()))
        .one(db)
        .await?)
}

/// The project's `namespace/path`.
pub fn full_path(project: &project::Model) -> String {
    format!("{}/{}", project.namespace, project.path)
}

/// Where the bare repository lives.
pub fn repository_dir(state: &AppState, project: &project::Model) -> PathBuf {
    repositories_root(state)
        .join(&project.namespace)
        .join(format!("{}.git", project.path))
}

/// The folder holding every repository (`GIT_PROJECT_ROOT`).
pub fn repositories_root(state: &AppState) -> PathBuf {
    state.config.data_dir.join("repositories")
}

/// Creates a project and its bare repository; the creator becomes its owner. Users create
/// projects in their own namespace; admins in any.
pub async fn create(
    state: &AppState,
    actor: &Principal,
    namespace: &str,
    path: &str,
    visibility: Visibility,
) -> Result<project::Model> {
    let namespace = Username::parse(namespace).map_err(|_| {
        Error::bad_input(
            "namespace",
            "must be 1–255 letters, digits, '_', '-' or '.'",
        )
    })?;
    let path = Username::parse(path)
        .ok()
        .filter(|path| {
            !path.as_str().to_lowercase().ends_with(".git") && !path.as_str().contains("..")
        })
        .ok_or_else(|| {
            Error::bad_input(
                "path",
                "must be 1–255 letters, digits, '_', '-' or '.', not ending in .git",
            )
        })?;
    if !actor.is_admin()
        && !namespace
            .as_str()
            .eq_ignore_ascii_case(&actor.user.username)
    {
        return Err(Error::Forbidden(
            "You can only create projects in your own namespace.".into(),
        ));
    }
    let key = format!("{}/{}", namespace.as_str(), path.as_str()).to_lowercase();
    if find_by_full_path(&state.db, &key).await?.is_some() {
        return Err(Error::bad_input("path", "has already been taken"));
    }
    let now = state.clock.now();
    let row = project::ActiveModel {
        namespace: Set(namespace.as_str().to_owned()),
        path: Set(path.as_str().to_owned()),
        full_path_key: Set(key),
        visibility: Set(visibility.as_stored().to_owned()),
        creator_id: Set(Some(actor.user.id)),
        created_at: Set(now),
        ..Default::default()
    };
    let owner_id = actor.user.id;
    let created = crate::db::write(&state.db, move |tx| {
        Box::pin(async move {
            let created = row.insert(tx).await?;
            members::insert(tx, created.id, owner_id, Role::Owner, now).await?;
            Ok(created)
        })
    })
    .await?;
    if let Err(error) = init_bare_repository(&repository_dir(state, &created)).await {
        // Without its repository the project is useless: undo it.
        let _ = project::Entity::delete_by_id(created.id)
            .exec(&state.db)
            .await;
        return Err(Error::Internal(error));
    }
    Ok(created)
}

async fn init_bare_repository(dir: &std::path::Path) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let status = tokio::process::Command::new("git")
        .args(["init", "--quiet", "--bare", "--initial-branch=main"])
        .arg(dir)
        .status()
        .await?;
    anyhow::ensure!(status.success(), "git init --bare failed with {status}");
    // Pushes over HTTP are allowed by http-backend only when this is set.
    let status = tokio::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["config", "http.receivepack", "true"])
        .status()
        .await?;
    anyhow::ensure!(status.success(), "git config failed with {status}");
    Ok(())
}

/// Projects the principal can see, newest first.
pub async fn list_visible(
    state: &AppState,
    actor: Option<&Principal>,
    page: PageRequest,
) -> Result<Page<project::Model>> {
    let mut query = project::Entity::find();
    match actor {
        Some(actor) if actor.is_admin() => {}
        Some(actor) => {
            let member_of = project_member::Entity::find()
                .select_only()
                .column(project_member::Column::ProjectId)
                .filter(project_member::Column::UserId.eq(actor.user.id))
                .as_query()
                .to_owned();
            query = query.filter(
                Condition::any()
                    .add(project::Column::Visibility.ne(Visibility::Private.as_stored()))
                    .add(project::Column::Id.in_subquery(member_of)),
            );
        }
        None => {
            query = query.filter(project::Column::Visibility.eq(Visibility::Public.as_stored()))
        }
    }
    if let Some(after) = page.after {
        query = query.filter(project::Column::Id.lt(after));
    }
    let rows = query
        .order_by_desc(project::Column::Id)
        .limit(page.first + 1)
        .all(&state.db)
        .await?;
    Ok(Page::from_rows(rows, page.first, |project| project.id))
}
