//! Projects and their members: thin adapters over `crate::projects`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::project;

use crate::{
    error::Error,
    graphql::{
        context::{app, optional_principal, principal},
        ids::{Kind, decode, encode},
        scalars::Time,
        types::{connection::ProjectConnection, user::User},
    },
    pagination::PageRequest,
    projects::{self, Role, Visibility, members, permissions},
    users,
};

/// Who may see a project.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectVisibility {
    /// Members (and administrators) only.
    Private,
    /// Any signed-in user.
    Internal,
    /// Anyone.
    Public,
}

impl From<ProjectVisibility> for Visibility {
    fn from(visibility: ProjectVisibility) -> Self {
        match visibility {
            ProjectVisibility::Private => Visibility::Private,
            ProjectVisibility::Internal => Visibility::Internal,
            ProjectVisibility::Public => Visibility::Public,
        }
    }
}

/// A member's role.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectRole {
    /// Can pull.
    Reporter,
    /// Can pull and push.
    Developer,
    Maintainer,
    /// Can also manage members.
    Owner,
}

impl From<ProjectRole> for Role {
    fn from(role: ProjectRole) -> Self {
        match role {
            ProjectRole::Reporter => Role::Reporter,
            ProjectRole::Developer => Role::Developer,
            ProjectRole::Maintainer => Role::Maintainer,
            ProjectRole::Owner => Role::Owner,
        }
    }
}

impl From<Role> for ProjectRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Reporter => ProjectRole::Reporter,
            Role::Developer => ProjectRole::Developer,
            Role::Maintainer => ProjectRole::Maintainer,
            Role::Owner => ProjectRole::Owner,
        }
    }
}

/// A Git repository with members.
#[derive(Clone)]
pub struct Project(pub project::Model);

/// A member of a project.
#[derive(SimpleObject)]
pub struct ProjectMember {
    pub user: User,
    pub role: ProjectRole,
}

#[Object]
impl Project {
    async fn id(&self) -> ID {
        encode(Kind::Project, self.0.id)
    }

    async fn namespace(&self) -> &str {
        &self.0.namespace
    }

    async fn path(&self) -> &str {
        &self.0.path
    }

    /// `namespace/path`.
    async fn full_path(&self) -> String {
        projects::full_path(&self.0)
    }

    async fn visibility(&self) -> ProjectVisibility {
        match Visibility::of(&self.0) {
            Visibility::Private => ProjectVisibility::Private,
            Visibility::Internal => ProjectVisibility::Internal,
            Visibility::Public => ProjectVisibility::Public,
        }
    }

    /// The URL to clone over HTTP (a token as the password).
    async fn http_url_to_repo(&self, ctx: &Context<'_>) -> String {
        format!(
            "{}/{}.git",
            app(ctx).config.external_url,
            projects::full_path(&self.0)
        )
    }

    async fn created_at(&self) -> Time {
        Time(self.0.created_at)
    }

    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProjectMember>> {
        let found = members::list(app(ctx), self.0.id).await?;
        Ok(found
            .into_iter()
            .map(|(user, role)| ProjectMember {
                user: user.into(),
                role: role.into(),
            })
            .collect())
    }
}

/// A new project.
#[derive(InputObject)]
pub struct ProjectCreateInput {
    /// Your username (administrators may use any namespace).
    pub namespace: String,
    pub path: String,
    /// Private unless given.
    pub visibility: Option<ProjectVisibility>,
}

/// The affected project.
#[derive(SimpleObject)]
pub struct ProjectPayload {
    pub project: Project,
}

#[derive(Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    /// A project the caller can see, by `namespace/path`.
    async fn project(
        &self,
        ctx: &Context<'_>,
        full_path: String,
    ) -> async_graphql::Result<Option<Project>> {
        let state = app(ctx);
        let Some(project) = projects::find_by_full_path(&state.db, &full_path).await? else {
            return Ok(None);
        };
        let user = optional_principal(ctx).map(|principal| &*principal.user);
        let can = permissions(&state.db, &project, user).await?;
        Ok(can.read.then_some(Project(project)))
    }

    /// The projects the caller can see, newest first.
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ProjectConnection> {
        let page = PageRequest::parse(first, after.as_deref())?;
        let found = projects::list_visible(app(ctx), optional_principal(ctx), page).await?;
        Ok(ProjectConnection::from_page(
            found,
            page.after.is_none(),
            Project,
        ))
    }
}

#[derive(Default)]
pub struct ProjectMutation;

async fn load(ctx: &Context<'_>, project_id: &ID) -> async_graphql::Result<project::Model> {
    let id = decode(Kind::Project, project_id, "projectId")?;
    let state = app(ctx);
    let project = project::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(Error::from)?;
    Ok(project.ok_or(Error::NotFound("Project"))?)
}

async fn load_user(ctx: &Context<'_>, user_id: &ID) -> async_graphql::Result<entity::user::Model> {
    let id = decode(Kind::User, user_id, "userId")?;
    Ok(users::find_by_id(&app(ctx).db, id)
        .await?
        .ok_or(Error::NotFound("User"))?)
}

use sea_orm::EntityTrait;

#[Object]
impl ProjectMutation {
    /// Creates a project and its repository; you become its owner.
    async fn project_create(
        &self,
        ctx: &Context<'_>,
        input: ProjectCreateInput,
    ) -> async_graphql::Result<ProjectPayload> {
        let actor = principal(ctx)?;
        let project = projects::create(
            app(ctx),
            actor,
            &input.namespace,
            &input.path,
            input
                .visibility
                .unwrap_or(ProjectVisibility::Private)
                .into(),
        )
        .await?;
        Ok(ProjectPayload {
            project: Project(project),
        })
    }

    /// Owners: adds a member or changes their role.
    async fn project_member_add(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        user_id: ID,
        role: ProjectRole,
    ) -> async_graphql::Result<ProjectPayload> {
        let actor = principal(ctx)?;
        let project = load(ctx, &project_id).await?;
        let user = load_user(ctx, &user_id).await?;
        members::add(app(ctx), actor, &project, &user, role.into()).await?;
        Ok(ProjectPayload {
            project: Project(project),
        })
    }

    /// Owners: removes a member (a project keeps at least one owner).
    async fn project_member_remove(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<ProjectPayload> {
        let actor = principal(ctx)?;
        let project = load(ctx, &project_id).await?;
        let user = load_user(ctx, &user_id).await?;
        members::remove(app(ctx), actor, &project, &user).await?;
        Ok(ProjectPayload {
            project: Project(project),
        })
    }
}
