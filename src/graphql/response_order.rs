//! Puts the fields of each response object in the order the query selected them, as the
//! GraphQL specification asks. async-graphql assembles a query's fields as they complete,
//! so a field that waited on the database came after one selected later that did not.

use async_graphql::{
    Value,
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

/// Reorders `data`, the result of `operation_name` (or the document's one operation), by
/// the selections of `document`.
pub fn restore(document: &ExecutableDocument, operation_name: Option<&str>, data: &mut Value) {
    // Most responses have no object with two fields (the common small queries): nothing
    // can be out of order, and the walk below, which collects selections, is skipped.
    if !has_object_with_several_fields(data) {
        return;
    }
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => match operations.get(name) {
            Some(operation) => operation,
            None => return,
        },
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            match operations.values().next() {
                Some(operation) => operation,
                None => return,
            }
        }
        (DocumentOperations::Multiple(_), None) => return,
    };
    reorder(document, &[&operation.node.selection_set.node], data);
}

fn has_object_with_several_fields(value: &Value) -> bool {
    match value {
        Value::Object(fields) => {
            fields.len() > 1 || fields.values().any(has_object_with_several_fields)
        }
        Value::List(items) => items.iter().any(has_object_with_several_fields),
        _ => false,
    }
}

/// The response keys selected by `sets` in order, each with the selection sets below it
/// (a key selected more than once merges theirs, as execution does).
type Selected<'a> = Vec<(&'a str, Vec<&'a SelectionSet>)>;

fn reorder(document: &ExecutableDocument, sets: &[&SelectionSet], value: &mut Value) {
    match value {
        Value::List(items) => {
            for item in items {
                reorder(document, sets, item);
            }
        }
        Value::Object(fields) => {
            let mut selected = Selected::new();
            for set in sets {
                collect(document, set, &mut selected);
            }
            if fields.len() > 1 {
                let mut unordered = std::mem::take(fields);
                for (key, _) in &selected {
                    if let Some((name, field)) = unordered.swap_remove_entry(*key) {
                        fields.insert(name, field);
                    }
                }
                // Nothing should be left; anything that is keeps its place at the end.
                fields.extend(unordered);
            }
            for (key, below) in &selected {
                if let Some(field) = fields.get_mut(*key).filter(|_| !below.is_empty()) {
                    reorder(document, below, field);
                }
            }
        }
        _ => {}
    }
}

/// Adds the response keys of `set` to `selected`, fragments expanded in place. Execution
/// has already walked the same fragments (the document passed validation, so they hold no
/// cycle, and the executor's limits bound their expansion).
fn collect<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    selected: &mut Selected<'a>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.as_str();
                let below = &field.node.selection_set.node;
                let at = match selected.iter().position(|(seen, _)| *seen == key) {
                    Some(at) => at,
                    None => {
                        selected.push((key, Vec::new()));
                        selected.len() - 1
                    }
                };
                if !below.items.is_empty() {
                    selected[at].1.push(below);
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect(document, &fragment.node.selection_set.node, selected);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(document, &inline.node.selection_set.node, selected);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(query: &str, operation: Option<&str>, data: serde_json::Value) -> String {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let mut value = Value::from_json(data).expect("value");
        restore(&document, operation, &mut value);
        serde_json::to_string(&value).expect("json")
    }

    #[test]
    fn fields_follow_the_selection_through_aliases_fragments_and_lists() {
        let query = "query A { b: user { ...F name } a: list { y x } } \
                     fragment F on User { id ... on User { email } } \
                     query B { z y }";
        let data = serde_json::json!({
            "a": [{ "x": 1, "y": 2 }, { "x": 3, "y": 4 }],
            "b": { "name": "n", "email": "e", "id": 1 },
        });
        assert_eq!(
            ordered(query, Some("A"), data),
            r#"{"b":{"id":1,"email":"e","name":"n"},"a":[{"y":2,"x":1},{"y":4,"x":3}]}"#
        );
        assert_eq!(
            ordered(query, Some("B"), serde_json::json!({ "y": 1, "z": 2 })),
            r#"{"z":2,"y":1}"#
        );
    }

    #[test]
    fn a_key_selected_twice_merges_its_selections() {
        let query = "{ u { b } u { a b } }";
        let data = serde_json::json!({ "u": { "a": 1, "b": 2 } });
        assert_eq!(ordered(query, None, data), r#"{"u":{"b":2,"a":1}}"#);
    }
}
