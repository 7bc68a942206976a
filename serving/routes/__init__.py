"""The API's routes, one module per resource; each route is a few lines around the snapshot it was given."""
