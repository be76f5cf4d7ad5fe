//! Relay connection pieces shared by every list.

use async_graphql::SimpleObject;

/// Where a page sits in the list.
#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// Page info for a page of `(cursor, item)` pairs.
    pub fn of<T>(items: &[(String, T)], has_next_page: bool, is_first_page: bool) -> PageInfo {
        PageInfo {
            has_next_page,
            has_previous_page: !is_first_page,
            start_cursor: items.first().map(|(cursor, _)| cursor.clone()),
            end_cursor: items.last().map(|(cursor, _)| cursor.clone()),
        }
    }
}

use crate::graphql::{
    projects::Project,
    types::{token::PersonalAccessToken, user::User},
};
use crate::pagination::Page;

/// Defines a Relay connection and edge type for `$node`.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty) => {
        /// A page of a list, Relay style.
        #[derive(SimpleObject)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub nodes: Vec<$node>,
            pub page_info: PageInfo,
        }

        /// One item of a page with its cursor.
        #[derive(SimpleObject, Clone)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        impl $connection {
            /// Wraps a page of rows, each turned into its GraphQL view.
            pub fn from_page<R>(
                page: Page<R>,
                is_first_page: bool,
                view: impl Fn(R) -> $node,
            ) -> Self {
                let page_info = PageInfo::of(&page.items, page.has_next_page, is_first_page);
                let edges: Vec<$edge> = page
                    .items
                    .into_iter()
                    .map(|(cursor, row)| $edge {
                        cursor,
                        node: view(row),
                    })
                    .collect();
                let nodes = edges.iter().map(|edge| edge.node.clone()).collect();
                $connection {
                    edges,
                    nodes,
                    page_info,
                }
            }
        }
    };
}

connection!(UserConnection, UserEdge, User);
connection!(
    PersonalAccessTokenConnection,
    PersonalAccessTokenEdge,
    PersonalAccessToken
);
connection!(ProjectConnection, ProjectEdge, Project);
