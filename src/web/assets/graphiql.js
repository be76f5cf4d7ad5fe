// Starts GraphiQL (loaded from unpkg by the page) against this server's endpoint.
const fetcher = GraphiQL.createFetcher({ url: "/api/graphql" });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true, shouldPersistHeaders: false })
);
